/**
 * permessage-deflate options (RFC 7692): what a server or client may
 * configure, the defaults, and their validation. Negotiation is in
 * negotiate-server.ts and negotiate-client.ts.
 */

/**
 * `perMessageDeflate` options, shared by server and client.
 *
 * Memory per idle connection after one message each way (measured with
 * `node --import tsx scripts/deflate-memory.ts`, Node 20, RSS delta over
 * 2000 connections): about 245 KiB with context takeover and 15-bit windows
 * (the defaults), about 115 KiB with 10-bit windows, about 14 KiB without
 * context takeover (contexts are freed between messages), about 1 KiB before
 * the first compressed message (contexts are created lazily).
 */
import { DEFLATE_DEFAULTS, rejectUnknownOptions } from '../options.js';

export interface PerMessageDeflateOptions {
  /**
   * Messages smaller than this many bytes are sent uncompressed. Default 1024:
   * below about 1 KiB the deflate framing and CPU cost outweigh the savings.
   */
  threshold?: number;
  /**
   * zlib compression level 0..9. Default 1: the fastest level keeps most of
   * the size benefit on text/JSON and roughly triples throughput versus 6.
   */
  level?: number;
  /**
   * zlib memLevel 1..9 (internal state size: 2^(memLevel+9) bytes, times
   * about 4). Default 8, zlib's default; 9 buys little, lower values cost ratio.
   */
  memLevel?: number;
  /**
   * LZ77 window of the server's compressor, 8..15 bits (2^bits bytes).
   * Server: the largest window it will use (a client may ask for less).
   * Client: a number asks the server to use at most that window.
   * Default 15 / not requested. `true` means the default.
   */
  serverMaxWindowBits?: number | boolean;
  /**
   * LZ77 window of the client's compressor, 8..15 bits.
   * Server: a number requires clients to use at most that window (an offer
   * that cannot be limited is declined); it bounds the server's inflate memory.
   * Client: a number offers `client_max_window_bits=N` and compresses with N;
   * `true` or unset offers `client_max_window_bits` without a value (as
   * browsers do); `false` does not offer it. Default 15.
   */
  clientMaxWindowBits?: number | boolean;
  /**
   * The server resets its compressor after each message (no memory of
   * earlier messages). Costs ratio on small similar messages; saves memory:
   * the context is freed between messages instead of held (about 200 KiB of
   * the 245 KiB above is the deflate context). Default false.
   */
  serverNoContextTakeover?: boolean;
  /** The same for the client's compressor. Default false. */
  clientNoContextTakeover?: boolean;
  /**
   * Process-wide limit on concurrent zlib operations (per distinct value).
   * Default 10. Each in-flight operation holds buffers and a libuv thread
   * pool slot (4 threads by default, shared with fs and dns); unbounded
   * concurrency lets thousands of connections pile up memory and starve the
   * pool (ws#1202, ws#1617). Infinity disables the bound.
   */
  concurrency?: number;
  /**
   * Messages whose zlib input (the message to compress, or one frame's
   * compressed payload to inflate) is at most this many bytes are handled on
   * the main thread instead of libuv's thread pool: for small messages the
   * pool's round trip costs more than zlib itself (deflate + inflate of a
   * 2 KiB JSON text: 19 µs inline, 41 µs through the pool). Inline work runs
   * in slices of at most 256 KiB of output, so even a frame that inflates to
   * megabytes does not hold the event loop for long. Larger inputs go to the
   * pool, where they run in parallel with the main thread. Default 16384;
   * 0 sends everything to the pool, Infinity nothing (after each context's
   * first job, which always runs on the pool: see src/node/deflate/compressor.ts).
   */
  inlineMaxBytes?: number;
  /** ws's name for `concurrency` (accepted so ws options keep working). */
  concurrencyLimit?: number;
  /** ws's zlib options: `level` and `memLevel` are used when the fields above are not given; the rest is ignored. */
  zlibDeflateOptions?: { level?: number; memLevel?: number; [name: string]: unknown };
  /** ws's inflate options: accepted, not used (sockwave's inflater needs none of them). */
  zlibInflateOptions?: Record<string, unknown>;
}

const DEFLATE_OPTION_NAMES = [
  'threshold', 'level', 'memLevel', 'serverMaxWindowBits', 'clientMaxWindowBits', 'serverNoContextTakeover',
  'clientNoContextTakeover', 'concurrency', 'inlineMaxBytes', 'concurrencyLimit', 'zlibDeflateOptions', 'zlibInflateOptions',
] as const;

/** What both ends agreed; "max window bits" is the window the compressor of that side may use. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}


/** Options with defaults applied and ranges checked. */
export interface ResolvedDeflateOptions {
  threshold: number;
  level: number;
  memLevel: number;
  /** A number when configured, else undefined. */
  serverMaxWindowBits: number | undefined;
  /** A number when configured; false = do not offer (client); undefined = default. */
  clientMaxWindowBits: number | false | undefined;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  concurrency: number;
  inlineMaxBytes: number;
}

/** Brand on objects made by resolveDeflateOptions, so they are not validated twice. */
const RESOLVED = Symbol('sockwave.resolvedDeflateOptions');

function markResolved(o: ResolvedDeflateOptions): ResolvedDeflateOptions {
  Object.defineProperty(o, RESOLVED, { value: true });
  return o;
}

export function isResolved(o: PerMessageDeflateOptions | ResolvedDeflateOptions): o is ResolvedDeflateOptions {
  return (o as { [RESOLVED]?: boolean })[RESOLVED] === true;
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`option perMessageDeflate.${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return value;
}

function checkWindowBits(name: string, value: unknown): number | boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return checkInteger(name, value, 8, 15);
}

/**
 * Applies defaults and validates, throwing a RangeError that names the
 * option. `true` means all defaults. Call once at construction.
 */
export function resolveDeflateOptions(o: PerMessageDeflateOptions | true = {}): ResolvedDeflateOptions {
  const options: PerMessageDeflateOptions = o === true ? {} : o;
  if (typeof options !== 'object' || options === null) {
    throw new RangeError('option perMessageDeflate must be a boolean or an object');
  }
  if (!isResolved(options as ResolvedDeflateOptions)) rejectUnknownOptions(options, DEFLATE_OPTION_NAMES, 'perMessageDeflate.');
  const zlib = options.zlibDeflateOptions ?? {};
  const threshold = checkInteger('threshold', options.threshold ?? DEFLATE_DEFAULTS.threshold, 0, Number.MAX_SAFE_INTEGER);
  const level = checkInteger('level', options.level ?? zlib.level ?? DEFLATE_DEFAULTS.level, 0, 9);
  const memLevel = checkInteger('memLevel', options.memLevel ?? zlib.memLevel ?? DEFLATE_DEFAULTS.memLevel, 1, 9);
  const serverBits = checkWindowBits('serverMaxWindowBits', options.serverMaxWindowBits);
  const clientBits = checkWindowBits('clientMaxWindowBits', options.clientMaxWindowBits);
  const concurrency = options.concurrency ?? options.concurrencyLimit ?? DEFLATE_DEFAULTS.concurrency;
  if (concurrency !== Infinity) checkInteger('concurrency', concurrency, 1, Number.MAX_SAFE_INTEGER);
  const inlineMaxBytes = options.inlineMaxBytes ?? DEFLATE_DEFAULTS.inlineMaxBytes;
  if (inlineMaxBytes !== Infinity) checkInteger('inlineMaxBytes', inlineMaxBytes, 0, Number.MAX_SAFE_INTEGER);
  return markResolved({
    threshold,
    level,
    memLevel,
    serverMaxWindowBits: typeof serverBits === 'number' ? serverBits : undefined,
    clientMaxWindowBits: typeof clientBits === 'number' ? clientBits : clientBits === false ? false : undefined,
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    concurrency,
    inlineMaxBytes,
  });
}
