/**
 * Redirects on the `sockwave/ws` client, followed the way ws 8 follows them
 * (`followRedirects`), so code moving from ws sees the same hops, errors and
 * credentials:
 * - any 3xx with a Location is followed, relative to the current URL;
 *   `maxRedirects` counts hops, and one more is 'Maximum redirects
 *   exceeded'; a Location that is no URL, or not a WebSocket one, is a
 *   SyntaxError with ws's text;
 * - credentials (the Authorization and Cookie headers, `auth`, the URL's
 *   userinfo) go along only while the hops stay on the first URL's host (or
 *   Unix socket) and do not move from wss: to ws:; the Host header only
 *   while the host stays. The first URL's userinfo wins over later ones. As
 *   in ws (and curl), nothing is dropped when the app listens to 'redirect':
 *   it edits the request there instead.
 *
 * connect() and the WHATWG class use client/redirect.ts (sockwave's rules:
 * RFC 9110's redirect statuses, same-origin credentials).
 */
import { HandshakeError } from '../../core/errors.js';
import type { ResolvedClientOptions } from './options.js';
import { splitIpcPath, wsUrlRecord, type WsRequestOptions } from './http-upgrade.js';
import { decodeUserinfo } from './proxy.js';
import { UnexpectedResponseError } from './unexpected-response.js';

export interface WsRedirects {
  /** Hops taken so far, counted as ws counts them (`_redirects`: the refused one too). */
  count: number;
  readonly isFirstIpc: boolean;
  readonly isFirstSecure: boolean;
  /** host:port of the first URL, or its socket path for ws+unix:. */
  readonly firstTarget: string;
  /** The app's headers with lower-cased names, plus the first credentials as Authorization: carried from hop to hop. */
  readonly headers: Record<string, string>;
}

export interface WsRedirectStep {
  url: URL;
  options: ResolvedClientOptions;
  ws: WsRequestOptions;
}

/** The redirect state for a handshake that starts at `url`. */
export function startWsRedirects(url: URL, options: ResolvedClientOptions, ws: WsRequestOptions): WsRedirects {
  const isIpc = url.protocol === 'ws+unix:';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = value;
  const auth = userinfoOf(url) ?? (ws.request.auth as string | undefined);
  if (auth !== undefined && headers.authorization === undefined) headers.authorization = basic(auth);
  return {
    count: 0,
    isFirstIpc: isIpc,
    isFirstSecure: url.protocol === 'wss:',
    firstTarget: isIpc ? splitIpcPath(url).socketPath : url.host,
    headers,
  };
}

/**
 * The next hop after `error` at `current`: null when `error` is no redirect
 * to follow, an Error when the redirect cannot be followed, else the next
 * URL with the options for its request. `hasListener`: the app listens to
 * 'redirect' (then no credential is dropped).
 */
export function planWsRedirect(
  state: WsRedirects,
  current: URL,
  error: Error,
  options: ResolvedClientOptions,
  ws: WsRequestOptions,
  hasListener: boolean,
): WsRedirectStep | Error | null {
  if (!options.followRedirects || !(error instanceof UnexpectedResponseError)) return null;
  const location = error.headers.location;
  if (location === undefined) return null;
  if (++state.count > options.maxRedirects) return new HandshakeError('Maximum redirects exceeded', error.status);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    return new SyntaxError(`Invalid URL: ${location}`);
  }
  if (next.protocol === 'http:') next.protocol = 'ws:';
  else if (next.protocol === 'https:') next.protocol = 'wss:';
  if (!['ws:', 'wss:', 'ws+unix:'].includes(next.protocol)) {
    return new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"');
  }
  try {
    next = wsUrlRecord(next);
  } catch (urlError) {
    return urlError as Error;
  }
  const isIpc = next.protocol === 'ws+unix:';
  const isSameTarget = isIpc === state.isFirstIpc && (isIpc ? splitIpcPath(next).socketPath : next.host) === state.firstTarget;
  const headers = { ...state.headers };
  let auth = userinfoOf(next) ?? (ws.request.auth as string | undefined);
  if (!hasListener && (!isSameTarget || (state.isFirstSecure && next.protocol !== 'wss:'))) {
    delete headers.authorization;
    delete headers.cookie;
    if (!isSameTarget) delete headers.host;
    auth = undefined;
  }
  // ws keeps the first credentials it sent for the hops after this one.
  if (auth !== undefined && state.headers.authorization === undefined) state.headers.authorization = basic(auth);
  const request = { ...ws.request };
  if (auth === undefined) delete request.auth;
  else request.auth = auth;
  return { url: next, options: { ...options, headers }, ws: { ...ws, request, isUrlAuthSettled: true } };
}

function userinfoOf(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
}

function basic(auth: string): string {
  return `Basic ${Buffer.from(auth).toString('base64')}`;
}
