/**
 * `sockwave connect URL`: an interactive client in the spirit of wscat and
 * websocat. Lines from stdin become messages (TTY or pipe), incoming messages
 * go to stdout, everything else (status, errors, close) goes to stderr so
 * scripts can capture just the messages. The exit code says how it ended.
 */
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { connect } from '../node/socket/connect.js';
import type { NodeWebSocket } from '../node/socket/websocket.js';
import { ReconnectingWebSocket, type DisconnectEventInfo } from '../node/reconnect/reconnecting-websocket.js';
import type { Http2Mode } from '../node/client/options.js';
import { CONNECT_USAGE } from './usage.js';
import { parseProxyUrl } from '../node/client/proxy-env.js';
import {
  ExitCode,
  UsageError,
  exitCodeForClose,
  withUsageErrors,
  parseHeaders,
  parseIntegerOption,
  parseTargetUrl,
  type CliIo,
} from './args.js';
import { connectErrorLine, describeClose, errorLine, formatMessage, isBinaryFormat, type FormatOptions } from './format.js';

const OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  subprotocol: { type: 'string', short: 's', multiple: true },
  origin: { type: 'string' },
  check: { type: 'boolean', default: true },
  ping: { type: 'boolean', short: 'P', default: false },
  execute: { type: 'string', short: 'x', multiple: true },
  wait: { type: 'string', short: 'w' },
  close: { type: 'boolean', default: true },
  binary: { type: 'boolean', short: 'b', default: false },
  'binary-as': { type: 'string', default: 'hex' },
  json: { type: 'boolean', default: false },
  deflate: { type: 'boolean', default: true },
  proxy: { type: 'string' },
  // Declared so parseArgs accepts --no-proxy; with allowNegative it arrives as `proxy: false`.
  'no-proxy': { type: 'boolean' },
  http2: { type: 'string', default: 'auto' },
  'max-message': { type: 'string' },
  timeout: { type: 'string' },
  reconnect: { type: 'boolean', default: false },
  'reconnect-delay': { type: 'string' },
  'reconnect-max-delay': { type: 'string' },
  'max-retries': { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface ConnectSettings {
  url: URL;
  headers: Record<string, string>;
  protocols: string[];
  origin: string | undefined;
  isTlsChecked: boolean;
  hasCommands: boolean;
  execute: string[];
  waitMs: number;
  /** Close after the last message (-x or end of stdin) plus waitMs; false keeps reading until the peer closes. */
  isClosedAfterInput: boolean;
  isBinary: boolean;
  format: FormatOptions;
  isDeflateOffered: boolean;
  /** A proxy URL, false for --no-proxy, undefined to read the proxy variables. */
  proxy: string | false | undefined;
  /** wss:// over HTTP/2 (RFC 8441): 'auto', 'require' or 'never'. */
  http2: Http2Mode;
  maxMessageBytes: number | undefined;
  handshakeTimeoutMs: number;
  /** --reconnect: a ReconnectingWebSocket with these bounds instead of one connection. */
  reconnect: { minDelayMs: number; maxDelayMs: number; maxAttempts: number } | undefined;
  isQuiet: boolean;
}

/** `--proxy URL`, or `--no-proxy` (parseArgs' negation of --proxy: false; the last one given wins). */
function parseProxyOption(raw: string | boolean | undefined): string | false | undefined {
  if (raw === false) return false;
  if (raw === undefined || raw === true) return undefined;
  try {
    return parseProxyUrl(raw, '--proxy').href;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The proxy URL without its password, for messages. */
function redactedProxy(href: string): string {
  const url = new URL(href);
  // Built by hand: socks5:// and other non-special schemes have no origin to reuse.
  return `${url.protocol}//${url.username ? `${url.username}${url.password ? ':***' : ''}@` : ''}${url.host}`;
}

/** Parses the command line; returns null when --help was asked. */
export function parseConnectArgs(argv: string[]): ConnectSettings | null {
  const { values, positionals } = withUsageErrors(() =>
    parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, allowNegative: true }),
  );
  if (values.help) return null;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing URL' : `unexpected argument '${positionals[1]}'`);
  }
  const binaryAs = values['binary-as'];
  if (!isBinaryFormat(binaryAs)) throw new UsageError(`--binary-as must be hex, base64 or utf8, got '${binaryAs}'`);
  return {
    url: parseTargetUrl(positionals[0]),
    headers: parseHeaders(values.header ?? []),
    protocols: values.subprotocol ?? [],
    origin: values.origin,
    isTlsChecked: values.check,
    hasCommands: values.ping,
    execute: values.execute ?? [],
    waitMs: parseIntegerOption('--wait', values.wait, 0, 86_400_000) ?? 2000,
    isClosedAfterInput: values.close,
    isBinary: values.binary,
    format: { binaryAs, isJson: values.json },
    isDeflateOffered: values.deflate,
    proxy: parseProxyOption(values.proxy as string | boolean | undefined),
    http2: parseHttp2Mode(values.http2),
    maxMessageBytes: parseIntegerOption('--max-message', values['max-message'], 1, 2 ** 31),
    handshakeTimeoutMs: parseIntegerOption('--timeout', values.timeout, 1, 86_400_000) ?? 10_000,
    reconnect: parseReconnect(values),
    isQuiet: values.quiet,
  };
}

function parseReconnect(values: {
  reconnect: boolean;
  'reconnect-delay'?: string;
  'reconnect-max-delay'?: string;
  'max-retries'?: string;
}): ConnectSettings['reconnect'] {
  const minDelayMs = parseIntegerOption('--reconnect-delay', values['reconnect-delay'], 0, 86_400_000);
  const maxDelayMs = parseIntegerOption('--reconnect-max-delay', values['reconnect-max-delay'], 0, 86_400_000);
  const maxAttempts = parseIntegerOption('--max-retries', values['max-retries'], 0, 2 ** 31);
  if (!values.reconnect) {
    if (minDelayMs !== undefined || maxDelayMs !== undefined || maxAttempts !== undefined) {
      throw new UsageError('--reconnect-delay, --reconnect-max-delay and --max-retries need --reconnect');
    }
    return undefined;
  }
  const settings = { minDelayMs: minDelayMs ?? 1000, maxDelayMs: maxDelayMs ?? 30_000, maxAttempts: maxAttempts ?? Infinity };
  if (settings.maxDelayMs < settings.minDelayMs) {
    throw new UsageError(`--reconnect-max-delay (${settings.maxDelayMs}) must be >= --reconnect-delay (${settings.minDelayMs})`);
  }
  return settings;
}

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

function parseHttp2Mode(value: string): Http2Mode {
  if (value === 'auto' || value === 'require' || value === 'never') return value;
  throw new UsageError(`--http2 must be auto, require or never, got '${value}'`);
}
