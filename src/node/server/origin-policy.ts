/**
 * Origin allowlist: the defence against cross-site WebSocket hijacking.
 * Browsers attach cookies to a WebSocket handshake from ANY site and do not
 * apply CORS to it; the `Origin` header (RFC 6455 §10.2) is the only signal
 * that a page from another site opened the connection. Non-browser clients
 * usually send no Origin; whether that is acceptable is `allowMissingOrigin`.
 */

export type OriginRule = string | RegExp;

export interface OriginPolicy {
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
  readonly allowMissingOrigin: boolean;
}

/** Validates and normalizes the option; exact strings compare case-insensitively (origins are ASCII-lowercased by browsers). */
export function createOriginPolicy(rules: unknown, allowMissingOrigin: unknown): OriginPolicy | undefined {
  if (allowMissingOrigin !== undefined && typeof allowMissingOrigin !== 'boolean') {
    throw new TypeError('option allowMissingOrigin must be a boolean');
  }
  if (rules === undefined) return undefined;
  if (!Array.isArray(rules)) throw new TypeError('option allowedOrigins must be an array of strings and RegExps');
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const rule of rules) {
    if (typeof rule === 'string') exact.add(rule.toLowerCase());
    else if (rule instanceof RegExp) {
      // A global/sticky RegExp keeps lastIndex between test() calls and would
      // alternate between match and mismatch for the same origin.
      patterns.push(rule.global || rule.sticky ? new RegExp(rule.source, rule.flags.replace(/[gy]/g, '')) : rule);
    } else throw new TypeError('option allowedOrigins must contain only strings and RegExps');
  }
  return { exact, patterns, allowMissingOrigin: allowMissingOrigin !== false };
}

/** True when `origin` (the request's Origin header, or undefined) passes the policy. */
export function isOriginAllowed(policy: OriginPolicy, origin: string | undefined): boolean {
  if (origin === undefined) return policy.allowMissingOrigin;
  if (policy.exact.has(origin.toLowerCase())) return true;
  for (const pattern of policy.patterns) if (pattern.test(origin)) return true;
  return false;
}
