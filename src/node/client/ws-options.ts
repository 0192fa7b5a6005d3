/**
 * Options of `ws`'s client constructor mapped to ClientOptions, so code
 * written as `new WebSocket(url, protocols, { maxPayload, handshakeTimeout,
 * rejectUnauthorized, ca })` keeps working after switching the import to
 * 'sockwave/ws'. sockwave's own names pass through unchanged and win.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { ClientOptions } from './options.js';

/** ws puts TLS options at the top level (it spreads them into tls.connect). */
const TLS_KEYS = [
  'ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'ciphers', 'ecdhCurve',
  'checkServerIdentity', 'minVersion', 'maxVersion', 'secureContext', 'secureProtocol', 'crl', 'ALPNProtocols', 'session',
] as const;

export function fromWsOptions(options: Record<string, unknown> | undefined): ClientOptions {
  // ws never reads proxy variables (it takes an `agent`); code moving from ws
  // keeps connecting directly unless it passes `proxy` itself.
  if (options === undefined || options === null) return { proxy: false };
  const { maxPayload, handshakeTimeout, ...rest } = options as Record<string, unknown> & {
    maxPayload?: number;
    handshakeTimeout?: number;
  };
  const result: ClientOptions & Record<string, unknown> = { proxy: false };
  const tls: TlsConnectionOptions & Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) {
    if ((TLS_KEYS as readonly string[]).includes(name)) tls[name] = value;
    else result[name] = value;
  }
  if (Object.keys(tls).length > 0) result.tls = { ...tls, ...(result.tls ?? {}) };
  // ws: maxPayload 0 means "no limit"; sockwave never treats 0 that way (Infinity does).
  if (maxPayload !== undefined && result.maxMessageBytes === undefined) {
    result.maxMessageBytes = maxPayload === 0 ? Infinity : maxPayload;
  }
  if (handshakeTimeout !== undefined && result.handshakeTimeoutMs === undefined) result.handshakeTimeoutMs = handshakeTimeout;
  return result;
}
