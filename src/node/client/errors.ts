/**
 * The client's errors before the handshake response: each has a stable
 * `code`, the Node error it explains as `cause`, and data rather than prose
 * (which proxy, which host, which status). Messages name the proxy when the
 * proxy is at fault ("proxy 127.0.0.1:3128 refused the tunnel: 407 Proxy
 * Authentication Required") so a user does not debug the wrong machine.
 */
import { ErrorCode, SockwaveError } from '../../core/errors.js';

/** The proxy could not be reached or refused the tunnel (HTTP CONNECT or SOCKS). */
export class ProxyError extends SockwaveError {
  /** "host:port" of the proxy (never its credentials). */
  readonly proxy: string;
  /** The CONNECT answer's HTTP status, or 0 (SOCKS, or no answer). */
  readonly status: number;
  /** The SOCKS reply code (SOCKS5 REP, SOCKS4 CD) when the proxy refused, else undefined. */
  readonly socksReply: number | undefined;

  constructor(proxy: string, message: string, details: { status?: number; socksReply?: number; cause?: unknown } = {}) {
    super(ErrorCode.PROXY, `proxy ${proxy} ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.proxy = proxy;
    this.status = details.status ?? 0;
    this.socksReply = details.socksReply;
  }
}

/** DNS, TCP or TLS failed on the way to the WebSocket server. `code` says which: SW_DNS, SW_CONNECT or SW_TLS. */
export class NetworkError extends SockwaveError {
  readonly host: string;
  readonly port: number;
  /** What a user can try (e.g. `--no-check` for a self-signed certificate), or "". */
  readonly hint: string;

  constructor(
    code: typeof ErrorCode.DNS | typeof ErrorCode.CONNECT | typeof ErrorCode.TLS,
    message: string,
    target: { host: string; port: number },
    details: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.host = target.host;
    this.port = target.port;
    this.hint = details.hint ?? '';
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EPIPE', 'ETIMEDOUT']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Turns a Node socket error on the way to `target` into a NetworkError
 * (kept as `cause`); errors that are already ours, or unknown, pass through.
 * `isSecure` says a TLS handshake was under way, for the hints.
 */
export function explainNetworkError(
  error: Error,
  target: { host: string; port: number },
  isSecure: boolean,
  isDuringTls = false,
): Error {
  if (error instanceof SockwaveError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  if (DNS_CODES.has(code)) {
    return new NetworkError(ErrorCode.DNS, `cannot resolve ${target.host} (${code})`, target, { cause: error });
  }
  // A plain server reading a ClientHello usually just hangs up.
  if (isDuringTls && (code === 'ECONNRESET' || code === 'EPIPE')) {
    const hint = 'is it a plain ws:// port?';
    return new NetworkError(ErrorCode.TLS, `${where} closed the connection during the TLS handshake (${hint})`, target, {
      hint,
      cause: error,
    });
  }
  if (CONNECT_CODES.has(code)) {
    // The system code stays in the message: it is what people search for.
    const what = code === 'ECONNREFUSED' ? 'refused the connection' : 'failed';
    return new NetworkError(ErrorCode.CONNECT, `${where} ${what} (${code})`, target, { cause: error });
  }
  if (isSecure && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code))) {
    let hint = '';
    if (/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/.test(code)) {
      hint = 'the certificate is not trusted: pass its CA in tls.ca (CLI: --no-check skips verification, for tests only)';
    } else if (/WRONG_VERSION_NUMBER|PACKET_LENGTH|UNKNOWN_PROTOCOL|RECORD_LAYER|HTTP_REQUEST/.test(code)) {
      hint = 'the port does not speak TLS: is it a plain ws:// port?';
    } else if (/HOSTNAME|ALTNAME/.test(code)) {
      hint = 'the certificate is for another host name';
    }
    return new NetworkError(ErrorCode.TLS, `TLS with ${where} failed: ${error.message}${hint ? `; ${hint}` : ''}`, target, {
      hint,
      cause: error,
    });
  }
  return error;
}
