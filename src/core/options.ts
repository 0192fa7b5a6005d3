/**
 * The core's limits and defaults, in one place, and the one validation of
 * the limits every entry point shares (the Node server and client call
 * resolveSharedLimits; the Connection and the head parsers validate their
 * own fields with validateLimit). Validation happens once, at construction,
 * and throws a RangeError naming the option. `Infinity` disables a limit;
 * `0` never means "no limit". Adapter-only settings (heartbeats, shutdown,
 * backpressure) keep their defaults in their own layer.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULTS = {
  /**
   * Largest message accepted (after reassembly and decompression), in bytes.
   * Default 16 MiB: enough for files and JSON documents, small enough that a
   * few hundred hostile peers cannot exhaust a server. The limit is checked
   * from the frame header before any payload is buffered, and while
   * inflating. Over it: close 1009 (MessageTooLargeError).
   */
  maxMessageBytes: 16 * MiB,
  /**
   * Bytes charged per fragment on top of its payload when bounding the
   * memory of a message being reassembled, so a flood of empty fragments is
   * charged too. Default 64: roughly what one retained fragment costs in V8.
   * 0 is allowed (charge payload only), Infinity is not. A message whose
   * charged size passes maxMessageBytes: close 1009.
   */
  fragmentOverheadBytes: 64,
  /**
   * Fragments allowed in one message. Default 1,048,576: 65,536 fragments
   * must pass (some clients split large uploads); more than a million is
   * only ever an attack. Over it: close 1009.
   */
  maxFragments: 1_048_576,
  /**
   * Time for the peer to answer our close frame (and, for a client, to close
   * TCP after the handshake), in milliseconds. Default 10 s: far above any
   * real round trip, short enough that a silent peer does not hold a socket.
   * When it runs out the adapter destroys the transport (close code 1006).
   */
  closeTimeoutMs: 10_000,
  /**
   * Time for the whole opening handshake (request line to 101), in
   * milliseconds. Default 10 s. Bounds slow-loris handshakes; when it runs
   * out the socket is dropped (server) or the connect fails with a
   * TimeoutError (client).
   */
  handshakeTimeoutMs: 10_000,
  /**
   * Largest HTTP head (request or status line plus headers, CRLFCRLF
   * included) accepted during the handshake, in bytes. Default 16 KiB:
   * browsers send under 2 KiB, Node's own HTTP parser stops at 16 KiB. Over
   * it: 431 (server) or a HandshakeError with status 0 (client).
   */
  maxHeaderBytes: 16 * KiB,
  /**
   * Most header lines accepted during the handshake. Default 100 (Node's
   * HTTP parser default is 2000; a WebSocket handshake needs about 10).
   * Over it: 431 (server) or a HandshakeError with status 0 (client).
   */
  maxHeaderCount: 100,
} as const;

/**
 * permessage-deflate (RFC 7692) defaults; the options they fill are
 * documented on PerMessageDeflateOptions (deflate/options.ts).
 */
export const DEFLATE_DEFAULTS = {
  /**
   * Messages smaller than this many bytes are sent uncompressed (the
   * Connection's compressThresholdBytes, the adapters' perMessageDeflate
   * threshold). Default 1024: below about 1 KiB the deflate framing and CPU
   * cost outweigh the bytes saved. 0 compresses everything.
   */
  threshold: 1024,
  /** zlib level 0..9. Default 1: the fastest level keeps most of the size benefit on text and JSON, about 3x the throughput of 6. */
  level: 1,
  /** zlib memLevel 1..9 (state of 2^(memLevel+9) bytes, times about 4). Default 8, zlib's own. */
  memLevel: 8,
  /** The largest LZ77 window, in bits (32 KiB): used unless a side asks for less (8..15). */
  maxWindowBits: 15,
  /**
   * Concurrent zlib operations per process. Default 10: each holds buffers
   * and a slot of libuv's 4-thread pool (shared with fs and dns); unbounded,
   * thousands of connections pile up memory and starve the pool (ws#1202,
   * ws#1617). Further operations wait their turn. Infinity disables it.
   */
  concurrency: 10,
  /**
   * zlib inputs up to this many bytes run on the main thread, larger ones
   * on the pool: for small messages the pool's round trip costs more than
   * zlib itself. Default 16 KiB. 0 sends everything to the pool.
   */
  inlineMaxBytes: 16 * KiB,
} as const;

/**
 * Checks a numeric limit: a positive integer, or Infinity to disable.
 * Throws a RangeError that names the option.
 */
export function validateLimit(name: string, value: unknown, options?: { allowZero?: boolean }): number {
  if (value === Infinity) return Infinity;
  // No destructuring default: `= {}` built an object on every call, and this
  // runs for each connection's parser and core.
  const allowZero = options?.allowZero === true;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer or Infinity, got ${String(value)}`,
    );
  }
  return value;
}

/** The limits a server and a client both have; each field is documented on DEFAULTS. */
export interface SharedLimits {
  maxMessageBytes?: number;
  maxFragments?: number;
  maxHeaderBytes?: number;
  maxHeaderCount?: number;
  closeTimeoutMs?: number;
  handshakeTimeoutMs?: number;
}

export type ResolvedSharedLimits = Required<SharedLimits>;

/**
 * The one validation of the limits a server and a client share: defaults
 * from DEFAULTS, a RangeError naming the first invalid option.
 */
export function resolveSharedLimits(o: SharedLimits): ResolvedSharedLimits {
  return {
    maxMessageBytes: validateLimit('maxMessageBytes', o.maxMessageBytes ?? DEFAULTS.maxMessageBytes),
    maxFragments: validateLimit('maxFragments', o.maxFragments ?? DEFAULTS.maxFragments),
    maxHeaderBytes: validateLimit('maxHeaderBytes', o.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes),
    maxHeaderCount: validateLimit('maxHeaderCount', o.maxHeaderCount ?? DEFAULTS.maxHeaderCount),
    closeTimeoutMs: validateLimit('closeTimeoutMs', o.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs),
    handshakeTimeoutMs: validateLimit('handshakeTimeoutMs', o.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs),
  };
}

/**
 * Rejects option names nobody reads. A misspelled option (`maxPayloadBytes`,
 * `heartbeat: { interval }`) used to be ignored silently, so the app ran on
 * the default it meant to change (issue #12). Throws a TypeError naming the
 * option and, when one is close, the known name it was probably meant to be.
 * `prefix` names the enclosing option (`heartbeat.`); `hints` maps names
 * from other libraries or older docs to ours when spelling alone cannot.
 */
export function rejectUnknownOptions(
  options: object,
  known: readonly string[],
  prefix = '',
  hints: Readonly<Record<string, string>> = {},
): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const guess = Object.hasOwn(hints, name) ? hints[name] : closestName(name, known);
    const advice = guess === undefined ? `known options: ${known.join(', ')}` : `did you mean ${prefix}${guess}?`;
    throw new TypeError(`unknown option ${prefix}${name}: ${advice}`);
  }
}

/** The known name within a small edit distance (case-insensitive), or undefined. */
function closestName(name: string, known: readonly string[]): string | undefined {
  // A third of the length: catches typos and unit suffixes (interval ->
  // intervalMs), not unrelated names.
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance; names are short, so the plain O(n·m) table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
