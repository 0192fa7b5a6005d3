/**
 * What a Connection is configured with (validated once, by
 * resolveConnectionOptions), and what one send() may ask for.
 */
import type { MaskSource } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';
import { DEFAULTS, DEFLATE_DEFAULTS, validateLimit } from './options.js';
import { sharedLimits, type ReceiverLimits } from './receiver-limits.js';
import { randomMaskSource } from './mask.js';

export interface ConnectionOptions {
  /** 'client' masks outgoing frames and fails masked incoming ones; 'server' the reverse. */
  role: 'client' | 'server';
  /** See DEFAULTS.maxMessageBytes. */
  maxMessageBytes?: number;
  /** See DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** See DEFAULTS.fragmentOverheadBytes (0 allowed, Infinity not). */
  fragmentOverheadBytes?: number;
  /** Negotiated permessage-deflate, or undefined (then RSV1 is a protocol error). */
  compressor?: MessageCompressor;
  /**
   * Messages smaller than this many bytes are sent uncompressed. See
   * DEFLATE_DEFAULTS.threshold (1024).
   */
  compressThresholdBytes?: number;
  /** Masking key source for clients (default: crypto-random keys, batched). */
  maskSource?: MaskSource;
  /** Start OPEN (the adapter completed the handshake). Default true. */
  isOpen?: boolean;
  /**
   * False: pings are reported but not answered; the app sends pongs itself
   * (ws's `autoPong: false`). Default true (RFC 6455 §5.5.2).
   */
  autoPong?: boolean;
  /**
   * True: messages that arrive after close() queued our close frame are
   * still delivered (ws's behaviour; RFC 6455 §7.1.2 lets them be either).
   * Default false: they are discarded, as a browser does.
   */
  receiveAfterClose?: boolean;
}

export interface SendOptions {
  /** Send as binary (opcode 2) instead of text (opcode 1). Default: binary for Buffers, text for strings. */
  isBinary?: boolean;
  /** Compress when an extension is negotiated (default true, subject to the threshold). */
  compress?: boolean;
  /**
   * False sends a non-final fragment; the next send continues the message
   * (opcode 0). Fragmented messages are never compressed.
   */
  fin?: boolean;
}

/** What a Connection keeps of its options besides flags: the same for every connection of a server. */
export interface ConnectionSettings {
  readonly limits: Readonly<ReceiverLimits>;
  readonly compressThresholdBytes: number;
  /** Clients only: every frame they send is masked. */
  readonly maskSource: MaskSource | undefined;
}

let lastSettings: ConnectionSettings | undefined;
/**
 * A frozen settings object, the previous one when the values match (as
 * sharedLimits): a server's connections carry one reference, not three fields.
 */
function sharedSettings(limits: Readonly<ReceiverLimits>, compressThresholdBytes: number, maskSource: MaskSource | undefined): ConnectionSettings {
  const last = lastSettings;
  if (last !== undefined && last.limits === limits && last.compressThresholdBytes === compressThresholdBytes && last.maskSource === maskSource) {
    return last;
  }
  lastSettings = Object.freeze({ limits, compressThresholdBytes, maskSource });
  return lastSettings;
}

export interface ResolvedConnectionOptions {
  readonly isClient: boolean;
  readonly settings: ConnectionSettings;
}

/** The last options resolved (the fields that decide the result) and their result. */
let lastInput: Pick<ConnectionOptions, 'role' | 'maxMessageBytes' | 'maxFragments' | 'fragmentOverheadBytes' | 'compressThresholdBytes' | 'maskSource'> | undefined;
let lastResolved: ResolvedConnectionOptions | undefined;

/**
 * ConnectionOptions with defaults applied and every limit checked (RangeError
 * naming the option). A server's connections all pass the same values: those
 * get the previous result back without checking the limits again (they were
 * valid then), so opening a connection costs a few compares (issue 16).
 */
export function resolveConnectionOptions(options: ConnectionOptions): ResolvedConnectionOptions {
  const last = lastInput;
  if (
    last !== undefined &&
    options.role === last.role &&
    options.maxMessageBytes === last.maxMessageBytes &&
    options.maxFragments === last.maxFragments &&
    options.fragmentOverheadBytes === last.fragmentOverheadBytes &&
    options.compressThresholdBytes === last.compressThresholdBytes &&
    options.maskSource === last.maskSource
  ) {
    return lastResolved as ResolvedConnectionOptions;
  }
  const resolved = resolveAnew(options);
  lastInput = {
    role: options.role,
    maxMessageBytes: options.maxMessageBytes,
    maxFragments: options.maxFragments,
    fragmentOverheadBytes: options.fragmentOverheadBytes,
    compressThresholdBytes: options.compressThresholdBytes,
    maskSource: options.maskSource,
  };
  lastResolved = resolved;
  return resolved;
}

function resolveAnew(options: ConnectionOptions): ResolvedConnectionOptions {
  if (options.role !== 'client' && options.role !== 'server') {
    throw new RangeError(`option role must be 'client' or 'server', got ${String(options.role)}`);
  }
  const fragmentOverheadBytes = validateLimit(
    'fragmentOverheadBytes',
    options.fragmentOverheadBytes ?? DEFAULTS.fragmentOverheadBytes,
    { allowZero: true },
  );
  if (fragmentOverheadBytes === Infinity) throw new RangeError('option fragmentOverheadBytes must be finite');
  const limits = sharedLimits(
    validateLimit('maxMessageBytes', options.maxMessageBytes ?? DEFAULTS.maxMessageBytes),
    validateLimit('maxFragments', options.maxFragments ?? DEFAULTS.maxFragments),
    fragmentOverheadBytes,
  );
  const compressThresholdBytes = validateLimit('compressThresholdBytes', options.compressThresholdBytes ?? DEFLATE_DEFAULTS.threshold, {
    allowZero: true,
  });
  const isClient = options.role === 'client';
  const maskSource = isClient ? (options.maskSource ?? randomMaskSource) : undefined;
  return Object.freeze({ isClient, settings: sharedSettings(limits, compressThresholdBytes, maskSource) });
}
