/**
 * Argument parsing shared by the CLI commands. Built on node:util parseArgs in
 * strict mode so an unknown flag or a missing value is a usage error (exit 2)
 * instead of being silently ignored.
 */

/** Exit codes scripts can rely on (docs/cli.md lists the same table). */
export const ExitCode = {
  /** The connection closed cleanly (1000, 1001 or no status code), or the server stopped on a signal. */
  OK: 0,
  /** The connection could not be made: DNS, refused, TLS, or the handshake was rejected. */
  CONNECTION_ERROR: 1,
  /** Bad command line; the error and a hint to --help were printed. */
  USAGE: 2,
  /** The connection ended abnormally (1006) or the peer closed with an error code. */
  ABNORMAL_CLOSE: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A bad command line. `main` prints the message and a hint to `--help`, then exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The streams a command talks to, passed in so tests and embedders can swap them. */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/**
 * Runs a parseArgs call (strict mode, so unknown flags and missing values
 * throw) and turns its complaint into a UsageError with a one-line message.
 * The call stays at the command so TypeScript infers the option types there.
 */
export function withUsageErrors<R>(parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    // parseArgs messages are already one clear line, e.g. "Unknown option '--nope'".
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ''));
  }
}

/** An integer option within [min, max]; names the flag in the error. */
export function parseIntegerOption(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be an integer, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** `-H 'Name: value'` lines into a header record; repeated names are joined with ', ' as HTTP allows. */
export function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`header must look like 'Name: value', got '${line}'`);
    }
    const value = line.slice(colon + 1).trim();
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing) headers[existing] = `${headers[existing]}, ${value}`;
    else headers[name] = value;
  }
  return headers;
}

/** Turns `host:port/path` into `ws://host:port/path`; rejects schemes we cannot dial. */
export function parseTargetUrl(raw: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `ws://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid URL '${raw}'`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    throw new UsageError(`URL scheme must be ws, wss, http or https, got '${url.protocol.slice(0, -1)}'`);
  }
  return url;
}

/** Exit code for a finished connection, from the close code it ended with. */
export function exitCodeForClose(code: number): ExitCode {
  return code === 1000 || code === 1001 || code === 1005 ? ExitCode.OK : ExitCode.ABNORMAL_CLOSE;
}
