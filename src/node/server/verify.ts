/**
 * Accept/reject hooks run during the opening handshake: ws's `verifyClient`
 * (kept for drop-in compatibility) and sockwave's `verify`, which can be
 * async, attach user data to the socket, choose the subprotocol, add
 * response headers, or reject with any status, headers and body.
 */
import type { IncomingMessage } from 'node:http';

export interface VerifyInfo {
  request: IncomingMessage;
  /** The Origin header (undefined for most non-browser clients). */
  origin: string | undefined;
  /** Offered subprotocols, in the client's order. */
  protocols: string[];
  /** True over TLS (wss). */
  isSecure: boolean;
}

export type VerifyResult =
  | boolean
  | { accept: true; data?: unknown; protocol?: string; headers?: ResponseHeaders }
  | { accept: false; status?: number; headers?: ResponseHeaders; body?: string };

/** Header values as Node's `res.setHeader` takes them (numbers too, e.g. `{ 'Retry-After': 120 }`). */
export type ResponseHeaders = Record<string, string | number | readonly string[]>;

export type VerifyHook = (info: VerifyInfo) => VerifyResult | Promise<VerifyResult>;

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: IncomingMessage;
}
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((
      info: VerifyClientInfo,
      callback: (result: boolean, code?: number, message?: string, headers?: ResponseHeaders) => void,
    ) => void);

/** The normalized outcome of a hook. */
export type Decision =
  | { accept: true; data?: unknown; protocol?: string; headers?: Record<string, string> }
  | { accept: false; status: number; headers?: Record<string, string>; body?: string };

const ACCEPT: Decision = { accept: true };

/** 401 mirrors ws's verifyClient default: the hook usually checks credentials. */
const DEFAULT_REJECT_STATUS = 401;

/**
 * Header values as strings: ws writes whatever the hook gives (numbers from
 * `{ 'Retry-After': 120 }`, as `res.setHeader` accepts them), and such a
 * refusal must keep its status instead of becoming a 500. Arrays become
 * repeated lines' values joined with ", " (RFC 9110 §5.3).
 */
function toHeaderStrings(headers: unknown): Record<string, string> | undefined {
  if (headers === undefined || headers === null || typeof headers !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    out[name] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return out;
}

export function normalizeVerifyResult(result: unknown): Decision {
  if (result === true) return ACCEPT;
  if (result === false || result === undefined || result === null) return { accept: false, status: DEFAULT_REJECT_STATUS };
  if (typeof result === 'object' && 'accept' in result) {
    const r = result as Record<string, unknown>;
    if (r.accept === true) {
      return {
        accept: true,
        data: r.data,
        protocol: typeof r.protocol === 'string' ? r.protocol : undefined,
        headers: toHeaderStrings(r.headers),
      };
    }
    return {
      accept: false,
      status: typeof r.status === 'number' ? r.status : DEFAULT_REJECT_STATUS,
      headers: toHeaderStrings(r.headers),
      body: typeof r.body === 'string' ? r.body : undefined,
    };
  }
  throw new TypeError('verify must return a boolean or { accept, ... }');
}

/** Runs ws's verifyClient in its sync (1 parameter) or callback (2 parameters) form. */
export function runVerifyClient(hook: VerifyClient, info: VerifyClientInfo): Decision | Promise<Decision> {
  if (hook.length >= 2) {
    return new Promise((resolve) => {
      (hook as (i: VerifyClientInfo, cb: (...args: never[]) => void) => void)(
        info,
        ((result: boolean, code?: number, message?: string, headers?: ResponseHeaders) => {
          const refusal = { accept: false, status: code ?? DEFAULT_REJECT_STATUS, body: message, headers: toHeaderStrings(headers) } as const;
          resolve(result ? ACCEPT : refusal);
        }) as (...args: never[]) => void,
      );
    });
  }
  return (hook as (i: VerifyClientInfo) => boolean)(info) ? ACCEPT : { accept: false, status: DEFAULT_REJECT_STATUS };
}

export function runVerify(hook: VerifyHook, info: VerifyInfo): Decision | Promise<Decision> {
  const result = hook(info);
  if (result !== null && typeof result === 'object' && typeof (result as Promise<VerifyResult>).then === 'function') {
    return (result as Promise<VerifyResult>).then(normalizeVerifyResult);
  }
  return normalizeVerifyResult(result);
}
