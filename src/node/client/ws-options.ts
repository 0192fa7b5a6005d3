/**
 * Options of `ws`'s client constructor mapped to ClientOptions, so code
 * written as `new WebSocket(url, protocols, { maxPayload, handshakeTimeout,
 * rejectUnauthorized, ca })` keeps working after switching the import to
 * 'sockwave/ws'. sockwave's own names pass through unchanged and win.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { rejectUnknownOptions } from '../../core/options.js';
import { WS_REQUEST_KEYS } from './http-upgrade.js';
import { CLIENT_OPTION_NAMES, type ClientOptions } from './options.js';

/** ws puts TLS options at the top level (it spreads them into tls.connect). */
const TLS_KEYS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'ciphers', 'ecdhCurve',
  'checkServerIdentity', 'minVersion', 'maxVersion', 'secureContext', 'secureProtocol', 'crl', 'ALPNProtocols', 'session',
] as const;

/**
 * ws client options sockwave accepts without acting on them, each a
 * deliberate difference (docs/migrating-from-ws.md): events are always
 * dispatched as ws's default does, UTF-8 is always validated, messages are
 * bounded by bytes not chunks. (followRedirects and maxRedirects are
 * sockwave's own options too, so they pass through; `autoPong` is honoured
 * by startWsClient, on the socket's state.)
 */
const WS_ACCEPTED_NAMES = [
  'allowSynchronousEvents', 'skipUTF8Validation', 'maxBufferedChunks', 'autoPong',
] as const;

export function fromWsOptions(options: Record<string, unknown> | undefined): ClientOptions {
  // ws never reads proxy variables (it takes an `agent`); code moving from ws
  // keeps connecting directly unless it passes `proxy` itself.
  if (options === undefined || options === null) return { proxy: false };
  // ws's names and sockwave's are both fine here; anything else is a typo
  // (ws would pass it to http.request, which ignores it).
  rejectUnknownOptions(options, [
    ...CLIENT_OPTION_NAMES, ...WS_ACCEPTED_NAMES, ...TLS_KEYS, ...WS_REQUEST_KEYS,
    'maxPayload', 'handshakeTimeout', 'closeTimeout', 'generateMask', 'finishRequest', 'protocolVersion',
  ]);
  const { maxPayload, handshakeTimeout, closeTimeout, generateMask, ...rest } = options as Record<string, unknown> & {
    maxPayload?: number;
    handshakeTimeout?: number;
    closeTimeout?: number;
    generateMask?: (mask: Buffer) => void;
  };
  const result: ClientOptions & Record<string, unknown> = { proxy: false };
  const tls: TlsConnectionOptions & Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) {
    if ((WS_ACCEPTED_NAMES as readonly string[]).includes(name)) continue;
    if ((TLS_KEYS as readonly string[]).includes(name)) tls[name] = value;
    else result[name] = value;
  }
  if (Object.keys(tls).length > 0) result.tls = { ...tls, ...(result.tls ?? {}) };
  // ws: maxPayload 0 means "no limit"; sockwave never treats 0 that way (Infinity does).
  if (maxPayload !== undefined && result.maxMessageBytes === undefined) {
    result.maxMessageBytes = maxPayload === 0 ? Infinity : maxPayload;
  }
  if (handshakeTimeout !== undefined && result.handshakeTimeoutMs === undefined) result.handshakeTimeoutMs = handshakeTimeout;
  if (closeTimeout !== undefined && result.closeTimeoutMs === undefined) result.closeTimeoutMs = closeTimeout;
  // ws fills a 4-byte buffer per frame; sockwave's mask source writes into the frame.
  if (generateMask !== undefined && result.maskSource === undefined) {
    if (typeof generateMask !== 'function') throw new TypeError('option generateMask must be a function');
    const mask = Buffer.alloc(4);
    result.maskSource = (target, offset) => {
      generateMask(mask);
      mask.copy(target, offset);
    };
  }
  return result;
}
