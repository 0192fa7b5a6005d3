/**
 * `sockwave listen`: a WebSocket server for trying things out. Three modes:
 * `--echo` sends every message back unchanged, `--broadcast` relays every
 * message to all clients, and the default prints messages and sends stdin
 * lines to every client. `--static DIR` serves files on the same port.
 * `--broadcast --redis URL` makes one room per request path across every
 * server given the same Redis (topics on the Redis backplane).
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { WebSocketServer } from '../node/server/server.js';
import type { VerifyInfo, VerifyResult } from '../node/server/verify.js';
import { limitRequestHeadTime } from '../node/server/head-timeout.js';
import { DEFAULTS } from '../core/options.js';
import type { NodeWebSocket } from '../node/socket/websocket.js';
import type { Backplane } from '../node/topics/backplane.js';
import { LISTEN_USAGE } from './usage.js';
import { ExitCode, UsageError, withUsageErrors, parseIntegerOption, type CliIo } from './args.js';
import { describeClose, errorLine, formatMessage, isBinaryFormat, type FormatOptions } from './format.js';
import { createStaticHandler } from './static-files.js';

const OPTIONS = {
  port: { type: 'string', short: 'p' },
  host: { type: 'string', default: '127.0.0.1' },
  path: { type: 'string' },
  echo: { type: 'boolean', default: false },
  broadcast: { type: 'boolean', default: false },
  redis: { type: 'string' },
  subprotocol: { type: 'string', short: 's', multiple: true },
  static: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  http2: { type: 'boolean', default: true },
  deflate: { type: 'boolean', default: false },
  'max-message': { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'binary-as': { type: 'string', default: 'hex' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export type ListenMode = 'echo' | 'broadcast' | 'print';

export interface ListenSettings {
  port: number;
  host: string;
  path: string | undefined;
  mode: ListenMode;
  protocols: string[];
  staticDir: string | undefined;
  tls: { certFile: string; keyFile: string } | undefined;
  /** With tls: HTTP/2 and HTTP/1.1 on one port (ALPN), WebSockets over both; false (--no-http2): HTTP/1.1 only. */
  isHttp2Enabled: boolean;
  isDeflateEnabled: boolean;
  maxMessageBytes: number;
  /** Milliseconds a client has from TCP connect to a complete upgrade (request head included). */
  handshakeTimeoutMs: number;
  format: FormatOptions;
  isQuiet: boolean;
  /** --redis: the backplane's URL (broadcast mode only). */
  redisUrl: string | undefined;
}

export function parseListenArgs(argv: string[]): ListenSettings | null {
  const { values, positionals } = withUsageErrors(() =>
    parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, allowNegative: true }),
  );
  if (values.help) return null;
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.echo && values.broadcast) throw new UsageError('--echo and --broadcast cannot be combined');
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    throw new UsageError('--tls-cert and --tls-key must be given together');
  }
  if (values.path !== undefined && !values.path.startsWith('/')) throw new UsageError(`--path must start with '/'`);
  if (values.redis !== undefined) {
    if (!values.broadcast) throw new UsageError('--redis needs --broadcast (it joins the broadcast rooms of several servers)');
    if (!/^rediss?:\/\//.test(values.redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got '${values.redis}'`);
  }
  const binaryAs = values['binary-as'];
  if (!isBinaryFormat(binaryAs)) throw new UsageError(`--binary-as must be hex, base64 or utf8, got '${binaryAs}'`);
  return {
    port: parseIntegerOption('--port', values.port, 0, 65535) ?? 8080,
    host: values.host,
    path: values.path,
    mode: values.echo ? 'echo' : values.broadcast ? 'broadcast' : 'print',
    protocols: values.subprotocol ?? [],
    staticDir: values.static,
    tls: values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']! } : undefined,
    isHttp2Enabled: values.http2,
    isDeflateEnabled: values.deflate,
    maxMessageBytes: parseIntegerOption('--max-message', values['max-message'], 1, 2 ** 31) ?? 16 * 1024 * 1024,
    handshakeTimeoutMs: parseIntegerOption('--handshake-timeout', values['handshake-timeout'], 1, 2 ** 31) ?? DEFAULTS.handshakeTimeoutMs,
    format: { binaryAs, isJson: values.json },
    isQuiet: values.quiet,
    redisUrl: values.redis,
  };
}

export async function runListen(argv: string[], io: CliIo): Promise<number> {
  const settings = parseListenArgs(argv);
  if (settings === null) {
    io.stdout.write(`${LISTEN_USAGE}\n`);
    return ExitCode.OK;
  }
  let httpServer: Server;
  let backplane: Backplane | undefined;
  try {
    httpServer = createTransport(settings);
    if (settings.redisUrl !== undefined) {
      // Loaded only here: @redis/client is an optional peer dependency.
      const { RedisBackplane } = await import('../node/topics/redis-backplane.js');
      backplane = new RedisBackplane({ url: settings.redisUrl });
    }
  } catch (error) {
    io.stderr.write(`error: ${errorLine(error)}\n`);
    return ExitCode.CONNECTION_ERROR;
  }
  return new ListenSession(settings, io, httpServer, backplane).run();
}

function createTransport(s: ListenSettings): Server {
  const handler = s.staticDir ? createStaticHandler(s.staticDir) : upgradeRequired;
  let server: Server;
  if (!s.tls) server = createHttpServer(handler);
  else {
    // Read the PEM files up front so a typo is one clear error line, not a TLS failure later.
    const cert = readFileSync(s.tls.certFile);
    const key = readFileSync(s.tls.keyFile);
    // handshakeTimeout: the TLS handshake gets the same deadline as the WebSocket one.
    const tlsOptions = { cert, key, handshakeTimeout: s.handshakeTimeoutMs };
    server = s.isHttp2Enabled
      ? // HTTP/2 and HTTP/1.1 on one port, chosen by ALPN; the WebSocketServer
        // serves RFC 8441 streams on the first and upgrades on the second. The
        // compatibility request/response objects fit the handlers above.
        (createHttp2Server({ ...tlsOptions, allowHTTP1: true }, handler as never) as unknown as Server)
      : (createHttpsServer(tlsOptions, handler) as unknown as Server);
  }
  // Node's HTTP parser reads the request head, under its own 60 s headersTimeout;
  // hold it to the handshake timeout instead, so slow or silent clients go (issue #12).
  limitRequestHeadTime(server, s.handshakeTimeoutMs);
  return server;
}

function upgradeRequired(req: IncomingMessage, res: ServerResponse): void {
  const body = 'This is a WebSocket endpoint: connect with a WebSocket client.\n';
  const headers: Record<string, string | number> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length };
  // HTTP/2 forbids the Upgrade field (RFC 9113 §8.2.2): the 426 goes without it there.
  if (req.httpVersionMajor < 2) headers.Upgrade = 'websocket';
  res.writeHead(426, headers);
  res.end(body);
}

class ListenSession {
  private readonly wss: WebSocketServer;
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  private finish!: (code: number) => void;
  private lines: readline.Interface | undefined;
  private readonly onSignal = (): void => void this.stop();
  private isStopping = false;

  constructor(
    private readonly s: ListenSettings,
    private readonly io: CliIo,
    private readonly httpServer: Server,
    private readonly backplane: Backplane | undefined,
  ) {
    this.wss = new WebSocketServer({
      server: httpServer,
      path: s.path,
      topics: backplane === undefined ? undefined : { backplane },
      perMessageDeflate: s.isDeflateEnabled,
      maxPayload: s.maxMessageBytes,
      handshakeTimeoutMs: s.handshakeTimeoutMs,
      handleProtocols: (offered: Set<string>) => this.selectProtocol(offered),
      // -s/--subprotocol: accept only clients that offer one of them, as the help says.
      verify: s.protocols.length === 0 ? undefined : (info) => this.requireProtocol(info),
    });
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.finish = resolve));
    this.httpServer.once('error', (error) => {
      this.io.stderr.write(`error: cannot listen on ${this.s.host}:${this.s.port}: ${errorLine(error)}\n`);
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
      this.finish(ExitCode.CONNECTION_ERROR);
    });
    // The server re-emits the HTTP server's listen error, which run() already reports.
    this.wss.on('error', (error: unknown) => {
      if (this.httpServer.listening) this.log(`error: ${errorLine(error)}`);
    });
    this.wss.on('connection', (socket: NodeWebSocket, request: IncomingMessage) => this.accepted(socket, request));
    this.wss.on('backplane', (state: string, cause: unknown) => {
      this.log(state === 'up' ? 'redis: connected' : `redis: unreachable, messages wait (${errorLine(cause)})`);
    });
    this.httpServer.listen(this.s.port, this.s.host, () => this.listening());
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    return done;
  }

  private requireProtocol({ request, protocols }: VerifyInfo): VerifyResult {
    const chosen = protocols.find((protocol) => this.s.protocols.includes(protocol));
    if (chosen !== undefined) return { accept: true, protocol: chosen };
    const offered = protocols.length > 0 ? `offered ${protocols.join(', ')}` : 'offered no subprotocol';
    this.log(`refused ${request.socket.remoteAddress ?? '?'}: ${offered}; this server requires ${this.s.protocols.join(' or ')}`);
    return {
      accept: false,
      status: 400,
      body: `This server requires the subprotocol ${this.s.protocols.join(' or ')} (Sec-WebSocket-Protocol).\n`,
    };
  }

  private selectProtocol(offered: Set<string>): string | false {
    for (const protocol of offered) {
      if (this.s.protocols.length === 0 || this.s.protocols.includes(protocol)) return protocol;
    }
    return false;
  }

  private listening(): void {
    const { port } = this.httpServer.address() as AddressInfo;
    const host = this.s.host.includes(':') ? `[${this.s.host}]` : this.s.host;
    const scheme = this.s.tls ? 'wss' : 'ws';
    // Always printed (even with --quiet): scripts read the port from this line when --port 0.
    this.io.stderr.write(`listening on ${scheme}://${host}:${port}${this.s.path ?? '/'} (${this.s.mode})\n`);
    if (this.s.redisUrl !== undefined) this.io.stderr.write(`rooms shared through ${this.s.redisUrl} (one per request path)\n`);
    if (this.s.staticDir) this.io.stderr.write(`serving ${this.s.staticDir} at ${this.s.tls ? 'https' : 'http'}://${host}:${port}/\n`);
    if (this.s.tls && this.s.isHttp2Enabled) this.io.stderr.write('serving HTTP/2 and HTTP/1.1 (ALPN); WebSockets over both\n');
    if (this.s.mode === 'print') this.readStdin();
  }

  private accepted(socket: NodeWebSocket, request: IncomingMessage): void {
    const id = this.nextId++;
    this.ids.set(socket, id);
    const details = [
      socket.protocol && `protocol: ${socket.protocol}`,
      socket.extensions && `extensions: ${socket.extensions}`,
      request.httpVersion === '2.0' && 'over: HTTP/2',
    ];
    const extra = details.filter(Boolean).join(', ');
    this.log(`[#${id}] connected from ${request.socket.remoteAddress ?? '?'}${extra ? ` (${extra})` : ''}`);
    if (this.backplane !== undefined) this.joinRoom(socket, id, request);
    socket.on('message', (data: Buffer, isBinary: boolean) => this.received(socket, id, data, isBinary));
    // When we fail a connection (1009 message too big, 1002, 1007) we close TCP
    // right after our close frame, so the socket reports 1006 (no close frame
    // received); the log shows the code we actually sent instead (issue #12).
    let sentCloseCode: number | undefined;
    socket.on('error', (error: unknown) => {
      const closeCode = (error as { closeCode?: unknown } | null)?.closeCode;
      if (typeof closeCode === 'number') sentCloseCode = closeCode;
      this.log(`[#${id}] error: ${errorLine(error)}`);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (code === 1006 && sentCloseCode !== undefined) this.log(`[#${id}] closed: ${sentCloseCode} (sent by the server)`);
      else this.log(`[#${id}] closed: ${describeClose(code, reason)}`);
    });
  }

  private received(socket: NodeWebSocket, id: number, data: Buffer, isBinary: boolean): void {
    switch (this.s.mode) {
      case 'echo':
        // Flow control: a client that sends faster than it reads stops being read
        // until its echoes drain, instead of growing our send queue.
        if (!socket.send(data, { binary: isBinary }) && !socket.isPaused) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
        return;
      case 'broadcast':
        if (this.backplane !== undefined) {
          // To every other client of this path, on every server of the Redis.
          const room = socket.topics[0];
          if (room === undefined) return;
          socket.publish(room, data, { binary: isBinary }).catch((error: unknown) => this.log(`[#${id}] not delivered: ${errorLine(error)}`));
          return;
        }
        for (const client of this.wss.clients) {
          if (client.readyState === 1) client.send(data, { binary: isBinary });
        }
        return;
      case 'print': {
        const text = formatMessage(data, isBinary, this.s.format);
        this.io.stdout.write(this.io.stdout.isTTY ? `< [#${id}] ${text}\n` : `${text}\n`);
      }
    }
  }

  /** The room is the request path (the query string is not part of it). */
  private joinRoom(socket: NodeWebSocket, id: number, request: IncomingMessage): void {
    const url = request.url ?? '/';
    const index = url.indexOf('?');
    const room = index === -1 ? url : url.slice(0, index);
    try {
      socket.subscribe(room);
    } catch (error) {
      this.log(`[#${id}] cannot join room: ${errorLine(error)}`);
      socket.close(1008, 'path is not a valid room name');
    }
  }

  private readStdin(): void {
    const rl = readline.createInterface({ input: this.io.stdin, terminal: false });
    this.lines = rl;
    rl.on('line', (line) => {
      for (const client of this.wss.clients) {
        if (client.readyState === 1) client.send(line);
      }
    });
  }

  private async stop(): Promise<void> {
    if (this.isStopping) return;
    this.isStopping = true;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.lines?.close();
    this.log('stopping: closing clients with 1001');
    // Close frames, a moment for the answers, then whatever is left is
    // dropped; HTTP/2 sessions that carried sockets get GOAWAY after that.
    await this.wss.close({ code: 1001, reason: 'server shutting down', timeoutMs: 2000 });
    this.httpServer.close();
    // An http2 server has no closeAllConnections(): its sessions were closed above.
    if (typeof this.httpServer.closeAllConnections === 'function') this.httpServer.closeAllConnections();
    this.finish(ExitCode.OK);
  }

  private log(line: string): void {
    if (!this.s.isQuiet) this.io.stderr.write(`${line}\n`);
  }
}
