/**
 * `sockwave connect URL`: an interactive client in the spirit of wscat and
 * websocat. Lines from stdin become messages (TTY or pipe), incoming messages
 * go to stdout, everything else (status, errors, close) goes to stderr so
 * scripts can capture just the messages. The exit code says how it ended.
 */
import * as readline from 'node:readline';
import { connect } from '../node/client.js';
import type { WebSocket as NodeWebSocket } from '../node/socket.js';
import {
  ExitCode,
  UsageError,
  exitCodeForClose,
  parseCommandArgs,
  parseHeaders,
  parseIntegerOption,
  type CliIo,
} from './args.js';
import { describeClose, errorLine, formatMessage, isBinaryFormat, type FormatOptions } from './format.js';

export const CONNECT_USAGE = `Usage: sockwave connect URL [options]

Open a WebSocket to URL (ws://, wss://, http:// or https://), send each line of
stdin as a message and print each incoming message on stdout. Status and
errors go to stderr.

Options:
  -H, --header 'Name: value'  add a request header (repeatable)
  -s, --subprotocol NAME      offer a subprotocol (repeatable, in order)
      --origin ORIGIN         send this Origin header
      --no-check              accept any TLS certificate (self-signed servers)
  -P, --ping                  enable commands /ping [data], /pong [data],
                              /close [code [reason]]; show pings and pongs
  -x, --execute MESSAGE       send MESSAGE once open (repeatable), then wait
                              and close; stdin is not read
  -w, --wait MS               after the last message (-x or end of piped
                              stdin) wait MS for replies, then close
                              (default 2000)
  -b, --binary                send lines as binary messages
      --binary-as FORMAT      show binary messages as hex (default), base64
                              or utf8
      --json                  pretty-print text messages that are JSON
      --no-deflate            do not offer permessage-deflate compression
      --timeout MS            opening handshake timeout (default 10000)
  -q, --quiet                 no status lines on stderr
  -h, --help                  show this help

Exit codes: 0 clean close (1000, 1001 or no code), 1 could not connect,
2 bad arguments, 3 abnormal close (1006) or the peer closed with an error code.

Examples:
  sockwave connect ws://localhost:8080/ws
  echo '{"hello":1}' | sockwave connect ws://localhost:8080 --json
  sockwave connect wss://self-signed.test -H 'Authorization: Bearer x' --no-check
  sockwave connect ws://localhost:8080 -x ping -w 500`;

const OPTIONS = {
  header: { type: 'string', short: 'H', multiple: true },
  subprotocol: { type: 'string', short: 's', multiple: true },
  origin: { type: 'string' },
  check: { type: 'boolean', default: true },
  ping: { type: 'boolean', short: 'P', default: false },
  execute: { type: 'string', short: 'x', multiple: true },
  wait: { type: 'string', short: 'w' },
  binary: { type: 'boolean', short: 'b', default: false },
  'binary-as': { type: 'string', default: 'hex' },
  json: { type: 'boolean', default: false },
  deflate: { type: 'boolean', default: true },
  timeout: { type: 'string' },
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
  isBinary: boolean;
  format: FormatOptions;
  isDeflateOffered: boolean;
  handshakeTimeoutMs: number;
  isQuiet: boolean;
}

/** Turns `host:port/path` into `ws://host:port/path`; rejects schemes we cannot dial. */
export function parseTargetUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `ws://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid URL '${raw}'`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    throw new UsageError(`URL scheme must be ws, wss, http or https, got '${url.protocol.slice(0, -1)}'`);
  }
  return url;
}

/** Parses the command line; returns null when --help was asked. */
export function parseConnectArgs(argv: string[]): ConnectSettings | null {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
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
    isBinary: values.binary,
    format: { binaryAs, isJson: values.json },
    isDeflateOffered: values.deflate,
    handshakeTimeoutMs: parseIntegerOption('--timeout', values.timeout, 1, 86_400_000) ?? 10_000,
    isQuiet: values.quiet,
  };
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
  private socket!: NodeWebSocket;
  private lines: readline.Interface | undefined;
  private isOpen = false;
  private connectError: unknown;
  private closeTimer: NodeJS.Timeout | undefined;
  private finish!: (code: number) => void;
  private readonly isInteractive: boolean;
  private readonly onSigint = (): void => this.interrupt();
  private interrupts = 0;

  constructor(
    private readonly s: ConnectSettings,
    private readonly io: CliIo,
  ) {
    this.isInteractive = s.execute.length === 0 && Boolean(io.stdin.isTTY) && Boolean(io.stdout.isTTY);
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finish = resolve));
    try {
      this.socket = connect(this.s.url, {
        protocols: this.s.protocols,
        headers: this.s.headers,
        origin: this.s.origin,
        tls: this.s.isTlsChecked ? undefined : { rejectUnauthorized: false },
        perMessageDeflate: this.s.isDeflateOffered ? undefined : false,
        handshakeTimeoutMs: this.s.handshakeTimeoutMs,
      });
    } catch (error) {
      // Invalid options are reported synchronously (e.g. a bad header value).
      this.status(`error: ${errorLine(error)}`, true);
      return Promise.resolve(ExitCode.CONNECTION_ERROR);
    }
    this.socket.on('open', () => this.opened());
    this.socket.on('message', (data: Buffer, isBinary: boolean) => this.received(data, isBinary));
    this.socket.on('error', (error: unknown) => {
      if (!this.isOpen) this.connectError = error;
      else this.status(`error: ${errorLine(error)}`, true);
    });
    this.socket.on('close', (code: number, reason: Buffer) => this.closed(code, reason));
    if (this.s.hasCommands) {
      this.socket.on('ping', (data: Buffer) => this.status(`< ping ${data.toString('utf8')}`.trimEnd(), true));
      this.socket.on('pong', (data: Buffer) => this.status(`< pong ${data.toString('utf8')}`.trimEnd(), true));
    }
    process.on('SIGINT', this.onSigint);
    return done;
  }

  private opened(): void {
    this.isOpen = true;
    const { protocol, extensions } = this.socket;
    const details = [protocol && `protocol: ${protocol}`, extensions && `extensions: ${extensions}`].filter(Boolean);
    this.status(`connected to ${this.s.url.href}${details.length ? ` (${details.join(', ')})` : ''}`);
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
      if (this.isInteractive && this.socket.readyState === 1) rl.prompt();
    });
    rl.on('close', () => {
      this.lines = undefined;
      if (this.socket.readyState !== 1) return;
      // Ctrl+D at a terminal closes now; a pipe that ended leaves time for replies.
      if (this.isInteractive) this.socket.close(1000);
      else this.scheduleClose();
    });
  }

  private handleLine(line: string): void {
    if (this.socket.readyState !== 1) return;
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
    if (!isFlushed && this.lines) {
      // Backpressure: stop reading stdin until the socket's queue drains.
      const rl = this.lines;
      rl.pause();
      this.socket.once('drain', () => rl.resume());
    }
  }

  private runCommand(line: string): void {
    const [command, ...rest] = line.slice(1).split(' ');
    const argument = rest.join(' ');
    try {
      switch (command) {
        case 'ping':
          this.socket.ping(Buffer.from(argument, 'utf8'));
          return;
        case 'pong':
          this.socket.pong(Buffer.from(argument, 'utf8'));
          return;
        case 'close': {
          const [code, ...reason] = rest;
          this.socket.close(code ? Number(code) : 1000, reason.join(' '));
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
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(() => {
      if (this.socket.readyState === 1) this.socket.close(1000);
    }, this.s.waitMs);
  }

  private interrupt(): void {
    this.interrupts += 1;
    if (this.interrupts > 1 || this.socket.readyState === 0) {
      this.socket.terminate();
      return;
    }
    if (this.socket.readyState === 1) this.socket.close(1000);
  }

  private closed(code: number, reason: Buffer): void {
    clearTimeout(this.closeTimer);
    process.off('SIGINT', this.onSigint);
    this.lines?.close();
    if (this.isInteractive) readline.clearLine(this.io.stdout, 0);
    if (!this.isOpen) {
      const why = this.connectError === undefined ? `connection closed (${code})` : errorLine(this.connectError);
      this.status(`error: could not connect to ${this.s.url.href}: ${why}`, true);
      this.finish(ExitCode.CONNECTION_ERROR);
      return;
    }
    const exit = exitCodeForClose(code);
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
    if (this.isInteractive && this.lines && this.socket.readyState === 1) this.lines.prompt(true);
  }
}
