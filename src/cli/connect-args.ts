/**
 * The command line of `sockwave connect`: its options, their checks and the
 * settings a session runs with. Kept apart from the session (connect.ts) so
 * the parsing can be read and tested without a socket.
 */
import { parseArgs } from 'node:util';
import type { Http2Mode } from '../node/client/options.js';
import { parseProxyUrl } from '../node/client/proxy-env.js';
import { UsageError, withUsageErrors, parseHeaders, parseIntegerOption, parseTargetUrl } from './args.js';
import { isBinaryFormat, type FormatOptions } from './format.js';

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
export function redactedProxy(href: string): string {
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

function parseHttp2Mode(value: string): Http2Mode {
  if (value === 'auto' || value === 'require' || value === 'never') return value;
  throw new UsageError(`--http2 must be auto, require or never, got '${value}'`);
}
