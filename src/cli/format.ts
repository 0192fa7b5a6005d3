/**
 * How the CLI prints messages. Text is printed as is (JSON pretty-printed on
 * request); binary is rendered so it never corrupts a terminal: hex by
 * default, base64, or raw UTF-8 when the user knows it is text.
 */

export const BINARY_FORMATS = ['hex', 'base64', 'utf8'] as const;
export type BinaryFormat = (typeof BINARY_FORMATS)[number];

export interface FormatOptions {
  binaryAs: BinaryFormat;
  /** Pretty-print text messages that parse as JSON. */
  isJson: boolean;
}

/** One incoming message as printable text (may span several lines when pretty-printed). */
export function formatMessage(data: Buffer, isBinary: boolean, o: FormatOptions): string {
  if (isBinary) return formatBinary(data, o.binaryAs);
  const text = data.toString('utf8');
  if (o.isJson) {
    const trimmed = text.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return JSON.stringify(JSON.parse(trimmed), null, 2);
      } catch {
        // Not JSON after all: print it as plain text.
      }
    }
  }
  return text;
}

export function formatBinary(data: Buffer, as: BinaryFormat): string {
  switch (as) {
    case 'base64':
      return data.toString('base64');
    case 'utf8':
      return data.toString('utf8');
    case 'hex':
      return data.toString('hex').replace(/(..)(?!$)/g, '$1 ');
  }
}

/** Accepts only the known binary formats; used by the argument parser. */
export function isBinaryFormat(value: string): value is BinaryFormat {
  return (BINARY_FORMATS as readonly string[]).includes(value);
}

/** A close reason arrives as bytes (ws-style API); print it as text. */
export function describeClose(code: number, reason: Buffer | string): string {
  const text = typeof reason === 'string' ? reason : reason.toString('utf8');
  return text ? `${code} ${text}` : String(code);
}

/**
 * The first line of an error message, so every failure is one clear line,
 * starting in lower case like the CLI's own messages ("error: unknown option"),
 * except where the first word is an acronym ("URL", "TLS").
 */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const first = lowerFirst(error.message.split('\n')[0] || error.name);
    return typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first;
  }
  return lowerFirst(String(error));
}

export function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}

/** TLS verification failures a self-signed or private-CA test server causes. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Why a connection could not be made, in plain words with the next step:
 * an untrusted certificate suggests --no-check, a TLS hello answered in plain
 * HTTP says so instead of OpenSSL's "wrong version number".
 */
export function connectErrorLine(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return `${errorLine(error)}; the server's TLS certificate is not trusted (a self-signed test server? add --no-check to skip verification)`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(message)) {
    return 'the server did not answer in TLS: it looks like a plain ws:// (not wss://) port; try ws:// instead';
  }
  return errorLine(error);
}
