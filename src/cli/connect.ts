/**
 * `sockwave connect URL`: an interactive client in the spirit of wscat and
 * websocat. Lines from stdin become messages (TTY or pipe), incoming messages
 * go to stdout, everything else (status, errors, close) goes to stderr so
 * scripts can capture just the messages. The exit code says how it ended.
 */
import * as readline from 'node:readline';
import { connect } from '../node/socket/connect.js';
import type { NodeWebSocket } from '../node/socket/websocket.js';
import { ReconnectingWebSocket, type DisconnectEventInfo } from '../node/reconnect/reconnecting-websocket.js';
import { CONNECT_USAGE } from './usage.js';
import { ExitCode, exitCodeForClose, type CliIo } from './args.js';
import { connectErrorLine, describeClose, errorLine, formatMessage } from './format.js';
import { parseConnectArgs, redactedProxy, type ConnectSettings } from './connect-args.js';

export async function runConnect(argv: string[], io: CliIo): Promise<number> {
  const settings = parseConnectArgs(argv);
  if (settings === null) {
    io.stdout.write(`${CONNECT_USAGE}\n`);
    return ExitCode.OK;
  }
  return new ConnectSession(settings, io).run();
}

/** One client session: owns the socket, the stdin reader and the timers, and resolves with the exit code. */
class ConnectSession {
  /** One connection, or with --reconnect the client that replaces it when it drops. */
  private socket!: NodeWebSocket | ReconnectingWebSocket;
  private lines: readline.Interface | undefined;
  private isOpen = false;
  /** From the 'upgrade' event: '2.0' when the socket is an HTTP/2 stream. */
  private httpVersion: string | undefined;
  private connectError: unknown;
  private closeTimer: NodeJS.Timeout | undefined;
  private finish!: (code: number) => void;
  private readonly isInteractive: boolean;
  private readonly onSigint = (): void => this.interrupt();
  private interrupts = 0;
  /** We sent the close frame first (user command, end of input, Ctrl+C): the code was our choice. */
  private isCloseOurs = false;

  constructor(
    private readonly s: ConnectSettings,
    private readonly io: CliIo,
  ) {
    this.isInteractive = s.execute.length === 0 && Boolean(io.stdin.isTTY) && Boolean(io.stdout.isTTY);
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finish = resolve));
    try {
      const options = {
        protocols: this.s.protocols,
        headers: this.s.headers,
        origin: this.s.origin,
        tls: this.s.isTlsChecked ? undefined : { rejectUnauthorized: false },
        perMessageDeflate: this.s.isDeflateOffered ? undefined : (false as const),
        handshakeTimeoutMs: this.s.handshakeTimeoutMs,
        proxy: this.s.proxy,
        maxMessageBytes: this.s.maxMessageBytes,
        http2: this.s.http2,
      };
      this.socket =
        this.s.reconnect === undefined
          ? connect(this.s.url, options)
          : new ReconnectingWebSocket(this.s.url, { ...options, ...this.s.reconnect });
    } catch (error) {
      // Invalid options are reported synchronously (e.g. a bad header value).
      this.status(`error: ${errorLine(error)}`, true);
      return Promise.resolve(ExitCode.CONNECTION_ERROR);
    }
    // From the 'upgrade' event: '2.0' when the socket is an HTTP/2 stream (a
    // reconnecting client does not forward it, so its status line omits it).
    if (!(this.socket instanceof ReconnectingWebSocket)) {
      this.socket.once('upgrade', (response: { httpVersion?: string }) => (this.httpVersion = response.httpVersion ?? '1.1'));
    }
    this.socket.on('open', (socket?: NodeWebSocket) => this.opened(socket));
    this.socket.on('disconnect', (info: DisconnectEventInfo) => this.disconnected(info));
    this.socket.on('dropped', () => this.status('message dropped: not connected and the queue is full', true));
    this.socket.on('message', (data: Buffer, isBinary: boolean) => this.received(data, isBinary));
    this.socket.on('error', (error: unknown) => {
      if (!this.isOpen) this.connectError = error;
      else this.status(`error: ${errorLine(error)}`, true);
    });
    this.socket.on('close', (code: number, reason: Buffer | string) => this.closed(code, Buffer.from(reason)));
    if (this.s.hasCommands) {
      this.socket.on('ping', (data: Buffer) => this.status(`< ping ${data.toString('utf8')}`.trimEnd(), true));
      this.socket.on('pong', (data: Buffer) => this.status(`< pong ${data.toString('utf8')}`.trimEnd(), true));
    }
    process.on('SIGINT', this.onSigint);
    return done;
  }

  /** The open connection: the socket itself, or the reconnecting client's current one. */
  private get live(): NodeWebSocket | undefined {
    return this.socket instanceof ReconnectingWebSocket ? this.socket.socket : this.socket;
  }

  /** True while lines can be sent (or, with --reconnect, queued for the next connection). */
  private get isAccepting(): boolean {
    const state = this.socket.readyState;
    return state === 1 || (this.socket instanceof ReconnectingWebSocket && state === 0 && this.isOpen);
  }

  private opened(socket = this.live as NodeWebSocket): void {
    const isReconnect = this.isOpen;
    this.isOpen = true;
    const { protocol, extensions } = socket;
    const details = [
      protocol && `protocol: ${protocol}`,
      extensions && `extensions: ${extensions}`,
      this.httpVersion !== undefined && `over: HTTP/${this.httpVersion === '2.0' ? '2' : '1.1'}`,
    ].filter(Boolean);
    this.status(`${isReconnect ? 'reconnected' : 'connected'} to ${this.s.url.href}${details.length ? ` (${details.join(', ')})` : ''}`);
    // Input is read once; a reconnect only resumes sending.
    if (isReconnect) return;
    if (this.s.execute.length > 0) {
      for (const message of this.s.execute) this.sendLine(message);
      this.scheduleClose();
      return;
    }
    if (this.isInteractive) this.status('type a message and press Enter; Ctrl+C or Ctrl+D to close');
    this.readStdin();
  }

  private readStdin(): void {
    const rl = readline.createInterface({
      input: this.io.stdin,
      output: this.isInteractive ? this.io.stdout : undefined,
      terminal: this.isInteractive,
    });
    this.lines = rl;
    if (this.isInteractive) {
      rl.setPrompt('> ');
      rl.prompt();
      rl.on('SIGINT', this.onSigint);
    }
    rl.on('line', (line) => {
      this.handleLine(line);
      if (this.isInteractive && this.isAccepting) rl.prompt();
    });
    rl.on('close', () => {
      this.lines = undefined;
      if (!this.isAccepting) return;
      // Ctrl+D at a terminal closes now; a pipe that ended leaves time for replies.
      if (this.isInteractive) this.closeNormally();
      else this.scheduleClose();
    });
  }

  private handleLine(line: string): void {
    if (!this.isAccepting) return;
    if (this.s.hasCommands && line.startsWith('/')) {
      if (line.startsWith('//')) this.sendLine(line.slice(1));
      else this.runCommand(line);
      return;
    }
    this.sendLine(line);
  }

  private sendLine(text: string): void {
    const data = this.s.isBinary ? Buffer.from(text, 'utf8') : text;
    const isFlushed = this.socket.send(data, { binary: this.s.isBinary });
    const live = this.live;
    if (!isFlushed && this.lines && live !== undefined && live.bufferedAmount > 0) {
      // Backpressure: stop reading stdin until the socket's queue drains.
      const rl = this.lines;
      rl.pause();
      live.once('drain', () => rl.resume());
    }
  }

  private runCommand(line: string): void {
    const [command, ...rest] = line.slice(1).split(' ');
    const argument = rest.join(' ');
    try {
      switch (command) {
        case 'ping':
          this.live?.ping(Buffer.from(argument, 'utf8'));
          return;
        case 'pong':
          this.live?.pong(Buffer.from(argument, 'utf8'));
          return;
        case 'close': {
          const [code, ...reason] = rest;
          this.socket.close(code ? Number(code) : 1000, reason.join(' '));
          this.isCloseOurs = true;
          return;
        }
        case 'help':
          this.status('commands: /ping [data], /pong [data], /close [code [reason]], //text sends /text', true);
          return;
        default:
          this.status(`unknown command /${command} (try /help)`, true);
      }
    } catch (error) {
      // Local misuse (e.g. /close 999) throws at once; report it and keep the session.
      this.status(`error: ${errorLine(error)}`, true);
    }
  }

  private received(data: Buffer, isBinary: boolean): void {
    const text = formatMessage(data, isBinary, this.s.format);
    if (this.isInteractive) {
      // Print above the prompt without mangling what the user is typing.
      readline.clearLine(this.io.stdout, 0);
      readline.cursorTo(this.io.stdout, 0);
      this.io.stdout.write(`< ${text}\n`);
      this.lines?.prompt(true);
    } else {
      this.io.stdout.write(`${text}\n`);
    }
  }

  private scheduleClose(): void {
    if (!this.s.isClosedAfterInput) return;
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => this.closeNormally(), this.s.waitMs);
  }

  private closeNormally(): void {
    if (!this.isAccepting) return;
    this.socket.close(1000);
    this.isCloseOurs = true;
  }

  private interrupt(): void {
    this.interrupts += 1;
    if (this.interrupts > 1 || this.socket.readyState === 0) {
      this.socket.terminate();
      return;
    }
    this.closeNormally();
  }

  /** --reconnect only: a connection ended or an attempt failed. */
  private disconnected(info: DisconnectEventInfo): void {
    if (info.error !== undefined) this.connectError = info.error;
    const why = info.error === undefined ? describeClose(info.code, Buffer.from(info.reason)) : errorLine(info.error);
    const next = info.willReconnect ? `reconnecting in ${Math.round(info.delayMs ?? 0)} ms (attempt ${info.attempt})` : 'giving up';
    this.status(`${info.wasOpen ? 'disconnected' : 'could not connect'}: ${why}; ${next}`, !info.willReconnect);
  }

  private closed(code: number, reason: Buffer): void {
    clearTimeout(this.closeTimer);
    process.off('SIGINT', this.onSigint);
    this.lines?.close();
    if (this.isInteractive) readline.clearLine(this.io.stdout, 0);
    if (!this.isOpen) {
      const why = this.connectError === undefined ? `connection closed (${code})` : connectErrorLine(this.connectError);
      // With --proxy, say so: the failure may be the proxy's (unreachable, refused CONNECT).
      const via = this.s.proxy === undefined || this.s.proxy === false ? '' : ` through proxy ${redactedProxy(this.s.proxy)}`;
      this.status(`error: could not connect to ${this.s.url.href}${via}: ${why}`, true);
      this.finish(ExitCode.CONNECTION_ERROR);
      return;
    }
    // A close we started ends cleanly whatever code the user chose; 1006 is abnormal either way.
    const exit = this.isCloseOurs && code !== 1006 ? ExitCode.OK : exitCodeForClose(code);
    this.status(`closed: ${describeClose(code, reason)}`, exit !== ExitCode.OK);
    this.finish(exit);
  }

  private status(line: string, isImportant = false): void {
    if (this.s.isQuiet && !isImportant) return;
    if (this.isInteractive) {
      readline.clearLine(this.io.stdout, 0);
      readline.cursorTo(this.io.stdout, 0);
    }
    this.io.stderr.write(`${line}\n`);
    if (this.isInteractive && this.lines && this.isAccepting) this.lines.prompt(true);
  }
}
