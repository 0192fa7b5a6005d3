/**
 * RFC 7692 permessage-deflate negotiation, sans-I/O: parsing
 * Sec-WebSocket-Extensions, the server's choice among offers, the client's
 * offer and the client's check of the server's response. The zlib work lives
 * in node/deflate.ts.
 *
 * Window bits 8. zlib refuses a 256-byte raw deflate window (Node turns 8
 * into 9), and a peer that asked for server/client_max_window_bits=8 may
 * inflate with only 256 bytes of history. We still agree to 8: zlib's
 * deflate never emits a distance larger than its window minus
 * MIN_LOOKAHEAD (262 bytes), i.e. 512 - 262 = 250 bytes for a 9-bit window,
 * so a 9-bit zlib compressor produces streams valid for a 256-byte window
 * (test/node/deflate.test.ts decodes our output and checks every distance).
 * Inflating an 8-bit-window stream with a larger window is always safe.
 * Declining instead would silently lose compression with such peers.
 */
import { HandshakeError } from './errors.js';
import { parseParameterizedList, type ParameterizedElement } from './header-tokens.js';

export const EXTENSION_NAME = 'permessage-deflate';

/**
 * RFC 7692 defines four parameters; an offer or response with more than this
 * is refused while parsing, before one entry per parameter is allocated.
 */
const MAX_PARAMS = 16;

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
}

/** What both ends agreed; "max window bits" is the window the compressor of that side may use. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

export const DEFLATE_DEFAULTS = {
  threshold: 1024,
  level: 1,
  memLevel: 8,
  maxWindowBits: 15,
  concurrency: 10,
} as const;

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
}

/** Brand on objects made by resolveDeflateOptions, so they are not validated twice. */
const RESOLVED = Symbol('sockwave.resolvedDeflateOptions');

function markResolved(o: ResolvedDeflateOptions): ResolvedDeflateOptions {
  Object.defineProperty(o, RESOLVED, { value: true });
  return o;
}

function isResolved(o: PerMessageDeflateOptions | ResolvedDeflateOptions): o is ResolvedDeflateOptions {
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
  const threshold = checkInteger('threshold', options.threshold ?? DEFLATE_DEFAULTS.threshold, 0, Number.MAX_SAFE_INTEGER);
  const level = checkInteger('level', options.level ?? DEFLATE_DEFAULTS.level, 0, 9);
  const memLevel = checkInteger('memLevel', options.memLevel ?? DEFLATE_DEFAULTS.memLevel, 1, 9);
  const serverBits = checkWindowBits('serverMaxWindowBits', options.serverMaxWindowBits);
  const clientBits = checkWindowBits('clientMaxWindowBits', options.clientMaxWindowBits);
  const concurrency = options.concurrency ?? DEFLATE_DEFAULTS.concurrency;
  if (concurrency !== Infinity) checkInteger('concurrency', concurrency, 1, Number.MAX_SAFE_INTEGER);
  return markResolved({
    threshold,
    level,
    memLevel,
    serverMaxWindowBits: typeof serverBits === 'number' ? serverBits : undefined,
    clientMaxWindowBits: typeof clientBits === 'number' ? clientBits : clientBits === false ? false : undefined,
    serverNoContextTakeover: options.serverNoContextTakeover === true,
    clientNoContextTakeover: options.clientNoContextTakeover === true,
    concurrency,
  });
}

export interface ParsedExtension {
  /** Lower-cased extension name. */
  name: string;
  /** Parameters (names lower-cased); `true` for a parameter without a value. Last one wins on duplicates. */
  params: Map<string, string | true>;
  /** Parameter names that appeared more than once (RFC 7692 §7: decline / fail). */
  duplicateParams: string[];
}

/**
 * Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1, RFC 7230 lists,
 * values as token or quoted-string). Linear time. Throws a SyntaxError on
 * malformed input; duplicates are reported, not thrown, because the server
 * declines only the offer that has them.
 */
export function parseExtensionsHeader(value: string): ParsedExtension[] {
  return parseParameterizedList(value).elements.map(toParsedExtension);
}

function toParsedExtension({ name, params }: ParameterizedElement): ParsedExtension {
  const map = new Map<string, string | true>();
  // A Set, not duplicates.includes(): many distinct repeated names would make that quadratic.
  const duplicates = new Set<string>();
  for (const [key, paramValue] of params) {
    if (map.has(key)) duplicates.add(key);
    map.set(key, paramValue);
  }
  return { name, params: map, duplicateParams: [...duplicates] };
}

/** RFC 7692 §7.1.2: window bits are a decimal integer 8..15 (canonical digits only). */
function parseWindowBits(value: string | true): number | null {
  if (value === true) return null;
  if (value.length === 1) return value === '8' || value === '9' ? Number(value) : null;
  if (value.length === 2 && value[0] === '1' && value[1] >= '0' && value[1] <= '5') return Number(value);
  return null;
}

function formatResponse(p: DeflateParams, includeServerBits: boolean, includeClientBits: boolean): string {
  let out = EXTENSION_NAME;
  if (p.serverNoContextTakeover) out += '; server_no_context_takeover';
  if (p.clientNoContextTakeover) out += '; client_no_context_takeover';
  if (includeServerBits) out += `; server_max_window_bits=${p.serverMaxWindowBits}`;
  if (includeClientBits) out += `; client_max_window_bits=${p.clientMaxWindowBits}`;
  return out;
}

/**
 * The server's answer to one offer, or null to decline it (RFC 7692 §5.1, §7):
 * unknown, duplicate or malformed parameters, or a configuration we will not
 * honour, decline the offer.
 */
function answerOffer(offer: ParsedExtension, o: ResolvedDeflateOptions): { params: DeflateParams; responseHeader: string } | null {
  if (offer.duplicateParams.length > 0) return null;
  let serverNoContextTakeover = o.serverNoContextTakeover;
  let clientNoContextTakeover = o.clientNoContextTakeover;
  let offeredServerBits: number | undefined;
  let offersClientBits = false;
  let offeredClientBits: number | undefined;
  for (const [name, value] of offer.params) {
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) return null;
        // §7.1.1.1: the client asks us to reset; we always can.
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) return null;
        // §7.1.1.2: a hint that the client resets; echoing it makes it binding.
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = parseWindowBits(value);
        if (bits === null) return null;
        offeredServerBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        offersClientBits = true;
        if (value !== true) {
          const bits = parseWindowBits(value);
          if (bits === null) return null;
          offeredClientBits = bits;
        }
        break;
      }
      default:
        // §7: a parameter not defined for use in an offer.
        return null;
    }
  }
  // Our compressor: at most what we configured and at most what the client allows.
  const ourServerBits = o.serverMaxWindowBits ?? DEFLATE_DEFAULTS.maxWindowBits;
  const serverMaxWindowBits = Math.min(ourServerBits, offeredServerBits ?? DEFLATE_DEFAULTS.maxWindowBits);
  // §7.1.2.1: accepting server_max_window_bits means answering it; we may also announce a smaller window.
  const includeServerBits = offeredServerBits !== undefined || serverMaxWindowBits < DEFLATE_DEFAULTS.maxWindowBits;

  // §7.1.2.2: we may limit the client's window only if it offered client_max_window_bits.
  const wantedClientBits = typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : undefined;
  if (wantedClientBits !== undefined && wantedClientBits < DEFLATE_DEFAULTS.maxWindowBits && !offersClientBits) {
    // The operator bounded inflate memory; this client cannot be bounded.
    return null;
  }
  let clientMaxWindowBits: number = DEFLATE_DEFAULTS.maxWindowBits;
  let includeClientBits = false;
  if (offersClientBits) {
    const limit = Math.min(wantedClientBits ?? DEFLATE_DEFAULTS.maxWindowBits, offeredClientBits ?? DEFLATE_DEFAULTS.maxWindowBits);
    if (limit < DEFLATE_DEFAULTS.maxWindowBits || offeredClientBits !== undefined) {
      clientMaxWindowBits = limit;
      includeClientBits = true;
    }
  }
  const params: DeflateParams = { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits };
  return { params, responseHeader: formatResponse(params, includeServerBits, includeClientBits) };
}

/**
 * The server's side of RFC 7692 §5: considers the permessage-deflate offers
 * in `header` in order and accepts the first it can honour. Returns null
 * (no compression) when there is no acceptable offer, including when the
 * header is syntactically malformed (we cannot tell where offers start, so
 * none is accepted; the handshake itself proceeds uncompressed).
 */
export function negotiateServer(
  header: string | undefined,
  o: PerMessageDeflateOptions | ResolvedDeflateOptions,
): { params: DeflateParams; responseHeader: string } | null {
  if (header === undefined || header === '') return null;
  const resolved = isResolved(o) ? o : resolveDeflateOptions(o);
  let offers: ParameterizedElement[];
  try {
    // Other extensions are syntax-checked but not materialised.
    offers = parseParameterizedList(header, EXTENSION_NAME, MAX_PARAMS).elements;
  } catch {
    return null;
  }
  for (const offer of offers) {
    const answer = answerOffer(toParsedExtension(offer), resolved);
    if (answer) return answer;
  }
  return null;
}


/**
 * The client's offer (RFC 7692 §5, §7.1). Default, like browsers:
 * `permessage-deflate; client_max_window_bits`.
 */
export function buildClientOffer(o: PerMessageDeflateOptions | ResolvedDeflateOptions = {}): string {
  const r = isResolved(o) ? o : resolveDeflateOptions(o);
  let out = EXTENSION_NAME;
  if (r.serverNoContextTakeover) out += '; server_no_context_takeover';
  if (r.clientNoContextTakeover) out += '; client_no_context_takeover';
  if (r.serverMaxWindowBits !== undefined) out += `; server_max_window_bits=${r.serverMaxWindowBits}`;
  if (typeof r.clientMaxWindowBits === 'number') out += `; client_max_window_bits=${r.clientMaxWindowBits}`;
  else if (r.clientMaxWindowBits !== false) out += '; client_max_window_bits';
  return out;
}

/**
 * The client's check of the server's Sec-WebSocket-Extensions (RFC 7692
 * §5, §7.1): returns the agreed parameters, null when the server declined
 * (no header), and throws a HandshakeError (status 101: the server did
 * answer 101) for anything we did not offer or cannot accept, so the
 * connection fails.
 */
export function acceptServerResponse(
  header: string | undefined,
  o: PerMessageDeflateOptions | ResolvedDeflateOptions,
): DeflateParams | null {
  if (header === undefined || header.trim() === '') return null;
  const r = isResolved(o) ? o : resolveDeflateOptions(o);
  const fail = (message: string): never => {
    throw new HandshakeError(`invalid Sec-WebSocket-Extensions response: ${message}`, 101);
  };
  let list: ReturnType<typeof parseParameterizedList> | undefined;
  try {
    list = parseParameterizedList(header, EXTENSION_NAME, MAX_PARAMS);
  } catch (error) {
    fail((error as Error).message);
  }
  const { elements, firstSkippedName } = list!;
  if (firstSkippedName !== undefined) fail(`extension ${JSON.stringify(firstSkippedName)} was not offered`);
  if (elements.length > 1) fail('permessage-deflate accepted more than once');
  const response = toParsedExtension(elements[0]);
  if (response.duplicateParams.length > 0) fail(`duplicate parameter ${response.duplicateParams[0]}`);

  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverMaxWindowBits: DEFLATE_DEFAULTS.maxWindowBits,
    clientMaxWindowBits: typeof r.clientMaxWindowBits === 'number' ? r.clientMaxWindowBits : DEFLATE_DEFAULTS.maxWindowBits,
  };
  let hasServerBits = false;
  for (const [name, value] of response.params) {
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) fail('server_no_context_takeover has a value');
        params.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        // §7.1.1.2: the server may require this even if not offered.
        if (value !== true) fail('client_no_context_takeover has a value');
        params.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = parseWindowBits(value);
        if (bits === null) fail(`server_max_window_bits=${String(value)} is not 8..15`);
        if (r.serverMaxWindowBits !== undefined && bits! > r.serverMaxWindowBits) {
          fail(`server_max_window_bits=${bits!} exceeds the offered ${r.serverMaxWindowBits}`);
        }
        params.serverMaxWindowBits = bits!;
        hasServerBits = true;
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: only allowed if offered, and the response must carry a value.
        if (r.clientMaxWindowBits === false) fail('client_max_window_bits was not offered');
        const bits = parseWindowBits(value);
        if (bits === null) fail(`client_max_window_bits=${String(value)} is not 8..15`);
        // Our offered value is a limit we stated; a larger answer is not what we offered.
        if (typeof r.clientMaxWindowBits === 'number' && bits! > r.clientMaxWindowBits) {
          fail(`client_max_window_bits=${bits!} exceeds the offered ${r.clientMaxWindowBits}`);
        }
        params.clientMaxWindowBits = bits!;
        break;
      }
      default:
        fail(`unknown parameter ${name}`);
    }
  }
  // §7.1.1.1 / §7.1.2.1: the server accepts these requests by echoing them; without the echo it did not agree.
  if (r.serverNoContextTakeover && !params.serverNoContextTakeover) fail('server_no_context_takeover was requested but not accepted');
  if (r.serverMaxWindowBits !== undefined && !hasServerBits) fail('server_max_window_bits was requested but not accepted');
  return params;
}
