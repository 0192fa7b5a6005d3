/**
 * Following redirects during the opening handshake (opt-in, as in ws):
 * RFC 6455 §4.1 lets a client follow a 3xx, and servers behind load
 * balancers or auth gateways send them. Credentials never follow the
 * request to another origin: Authorization and Cookie headers (and
 * credentials taken from the URL) are dropped when the scheme, host or port
 * changes, so a redirect cannot leak a token to a host the app did not name.
 */
import { HandshakeError } from '../../core/errors.js';
import { getWebSocketUrlRecord } from '../../core/url.js';
import type { ResolvedClientOptions } from './options.js';
import { UnexpectedResponseError } from './unexpected-response.js';

/** RFC 9110 §15.4: the redirections that carry a Location to repeat the request at. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that carry credentials and must not reach another origin. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie']);

export interface RedirectStep {
  url: URL;
  options: ResolvedClientOptions;
}

/**
 * What to do with a failed attempt at `current`: null when `error` is not a
 * redirect to follow (the connection fails with `error`), a HandshakeError
 * when it is one that cannot be followed (no or bad Location, too many), or
 * the next URL with the options for it. `count` redirects were followed so far.
 */
export function planRedirect(
  current: URL,
  error: Error,
  options: ResolvedClientOptions,
  count: number,
): RedirectStep | HandshakeError | null {
  if (!options.followRedirects || !(error instanceof UnexpectedResponseError) || !REDIRECT_STATUSES.has(error.status)) return null;
  if (count >= options.maxRedirects) {
    return new HandshakeError(`too many redirects: more than maxRedirects (${options.maxRedirects})`, error.status);
  }
  const location = error.headers.location;
  if (location === undefined || location === '') return new HandshakeError(`server answered ${error.status} without a Location`, error.status);
  let next: URL;
  try {
    // http(s): locations map to ws(s):, relative ones resolve against the current URL.
    const base = new URL(current.href);
    base.protocol = current.protocol === 'wss:' ? 'https:' : 'http:';
    next = getWebSocketUrlRecord(new URL(location, base));
  } catch (cause) {
    const failure = new HandshakeError(`server redirected to an unusable Location ${JSON.stringify(location.slice(0, 200))}`, error.status);
    Object.defineProperty(failure, 'cause', { value: cause, configurable: true, writable: true });
    return failure;
  }
  const isSameOrigin = next.protocol === current.protocol && next.host === current.host;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) {
    if (isSameOrigin || !CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  if (isSameOrigin && next.username === '' && next.password === '') {
    next.username = current.username;
    next.password = current.password;
  }
  return { url: next, options: { ...options, headers } };
}
