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

/** The first line of an error message, so every failure is one clear line. */
export function errorLine(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const first = error.message.split('\n')[0] || error.name;
    return typeof code === 'string' && !first.includes(code) ? `${first} (${code})` : first;
  }
  return String(error);
}
