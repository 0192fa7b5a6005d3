/**
 * Which proxy a connection uses: the `proxy` option when given, else the
 * environment, read at connect time as python-websockets and curl read it.
 *
 *   ws:   ws_proxy, WS_PROXY, then http_proxy, HTTP_PROXY
 *   wss:  wss_proxy, WSS_PROXY, then https_proxy, HTTPS_PROXY
 *   then  all_proxy, ALL_PROXY
 *
 * The lower-case form wins over the upper-case one (curl reads only
 * `http_proxy` in lower case; every tool reads it first). An empty variable
 * counts as unset. `no_proxy` / `NO_PROXY` (no-proxy.ts) bypasses the proxy
 * for matching hosts. Loopback hosts are not bypassed implicitly: list them
 * in NO_PROXY (as with curl and Python).
 */
import { isProxyBypassed, parseNoProxy } from './no-proxy.js';

/** The proxy kinds the client speaks; `socks5h` and `socks4a` let the proxy resolve the host name. */
export const PROXY_PROTOCOLS = ['http:', 'https:', 'socks5:', 'socks5h:', 'socks4:', 'socks4a:'] as const;
export type ProxyProtocol = (typeof PROXY_PROTOCOLS)[number];

const DEFAULT_PORTS: Record<ProxyProtocol, number> = {
  'http:': 80,
  'https:': 443,
  'socks5:': 1080,
  'socks5h:': 1080,
  'socks4:': 1080,
  'socks4a:': 1080,
};

export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Parses a proxy URL; `source` names where it came from (the option or the
 * environment variable) in the TypeError. A value without a scheme
 * ("proxy.local:3128") is an http: proxy, as curl reads it.
 */
export function parseProxyUrl(value: string | URL, source: string): URL {
  const text = String(value).trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new TypeError(`${source}: invalid proxy URL ${JSON.stringify(redact(text))}`);
  }
  if (!(PROXY_PROTOCOLS as readonly string[]).includes(url.protocol)) {
    throw new TypeError(
      `${source}: unsupported proxy scheme ${url.protocol.slice(0, -1)}; use http, https, socks5, socks5h, socks4 or socks4a`,
    );
  }
  if (url.hostname === '') throw new TypeError(`${source}: proxy URL has no host`);
  return url;
}

/** The proxy's port, with the scheme's default. */
export function proxyPort(proxy: URL): number {
  return Number(proxy.port || DEFAULT_PORTS[proxy.protocol as ProxyProtocol]);
}

/** "host:port" of a proxy, without credentials: what error messages show. */
export function describeProxy(proxy: URL): string {
  return `${proxy.hostname}:${proxyPort(proxy)}`;
}

/**
 * The proxy the environment assigns to `url` (ws: or wss:), or undefined
 * for a direct connection. Throws a TypeError naming the variable when its
 * value is not a usable proxy URL, rather than silently connecting directly.
 */
export function proxyFromEnvironment(url: URL, env: ProxyEnvironment = process.env): URL | undefined {
  const names = url.protocol === 'wss:' ? ['wss_proxy', 'https_proxy', 'all_proxy'] : ['ws_proxy', 'http_proxy', 'all_proxy'];
  let chosen: { name: string; value: string } | undefined;
  for (const name of names) {
    for (const variant of [name, name.toUpperCase()]) {
      const value = env[variant];
      if (value !== undefined && value.trim() !== '') {
        chosen = { name: variant, value };
        break;
      }
    }
    if (chosen) break;
  }
  if (chosen === undefined) return undefined;
  const noProxy = env.no_proxy || env.NO_PROXY;
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  if (noProxy && isProxyBypassed(parseNoProxy(noProxy), url.hostname, port)) return undefined;
  return parseProxyUrl(chosen.value, `environment variable ${chosen.name}`);
}

function redact(text: string): string {
  return text.replace(/\/\/[^@/]*@/, '//***@');
}
