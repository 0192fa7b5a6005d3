/**
 * HTTP header value grammar (RFC 7230 §3.2.6 tokens and quoted-strings,
 * §7 comma-separated lists) as hand-written single-pass scanners.
 *
 * Every function here is linear in the length of its input: each character is
 * looked at a bounded number of times and no regular expression is used. That
 * is deliberate: header values come from the peer, and backtracking regexes
 * over lists are a known ReDoS/quadratic-time source (a 1 MB
 * `Sec-WebSocket-Extensions` header must not stall the event loop).
 */

export const SP = 0x20;
export const HTAB = 0x09;
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
/** RFC 7230 §3.2.6 quoted-pair: a backslash and the character it escapes. */
const QUOTED_PAIR = /\\([\s\S])/g;

/** RFC 7230 §3.2.6 tchar, as a lookup table over 0..127. */
const TCHAR = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

export function isTokenChar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** True when `value` is a non-empty RFC 7230 token. */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    if (!isTokenChar(value.charCodeAt(i))) return false;
  }
  return true;
}

/** RFC 7230 §3.2.3 OWS: a space or a horizontal tab. */
export function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

/** Removes leading and trailing SP/HTAB (RFC 7230 OWS) without a regex. */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * Splits an RFC 7230 §7 `#element` list on commas and trims OWS. Empty
 * elements ("a,,b", a trailing comma) are skipped, as §7 requires recipients
 * to accept them. Elements are returned as written (not validated).
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end === -1) end = value.length;
    const element = trimOws(value.slice(start, end));
    if (element.length > 0) out.push(element);
    start = end + 1;
  }
  return out;
}

/**
 * Parses a `#token` list. Returns the tokens in order, or null when an
 * element is not a token (e.g. contains a space or a separator).
 */
export function parseTokenList(value: string): string[] | null {
  const elements = splitList(value);
  for (const element of elements) {
    if (!isToken(element)) return null;
  }
  return elements;
}

/** True when the comma list contains `token`, compared ASCII case-insensitively. */
export function listHasToken(value: string, token: string): boolean {
  const wanted = token.toLowerCase();
  // One scan over the value, no substrings: this runs on every handshake
  // (Upgrade and Connection) and an array per call showed in the GC time.
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(',', start);
    if (end === -1) end = value.length;
    let first = start;
    let last = end;
    while (first < last && isOws(value.charCodeAt(first))) first++;
    while (last > first && isOws(value.charCodeAt(last - 1))) last--;
    if (equalsLowerCase(value, first, last, wanted)) return true;
    start = end + 1;
  }
  return false;
}

/** One element of a parameterised list such as Sec-WebSocket-Extensions. */
export interface ParameterizedElement {
  /** The element's token, lower-cased. */
  name: string;
  /** Parameters in order, names lower-cased; `true` when written without a value. */
  params: Array<[string, string | true]>;
}

/** Result of parseParameterizedList. */
export interface ParameterizedList {
  /** Elements in order (only those named `only`, when given). */
  elements: ParameterizedElement[];
  /** How many elements were syntax-checked but skipped because of `only`. */
  skippedCount: number;
  /** Lower-cased name of the first skipped element. */
  firstSkippedName: string | undefined;
}

/** True when `value` equals the all-lower-case ASCII `wanted`, ignoring ASCII case (no lower-cased copy). */
export function equalsIgnoringCase(value: string, wanted: string): boolean {
  return equalsLowerCase(value, 0, value.length, wanted);
}

/** Compares value[start, end) to an all-lower-case ASCII `wanted`, ignoring case. */
function equalsLowerCase(value: string, start: number, end: number, wanted: string): boolean {
  if (end - start !== wanted.length) return false;
  for (let k = 0; k < wanted.length; k++) {
    let c = value.charCodeAt(start + k);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== wanted.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Parses RFC 6455 §9.1 `extension-list`:
 *
 *     extension-list = 1#extension
 *     extension      = extension-token *( ";" extension-param )
 *     extension-param = token [ "=" (token | quoted-string) ]
 *
 * §9.1: a quoted-string value must, once unescaped, be a token. Empty list
 * elements are skipped (RFC 7230 §7); a list with no element at all is an
 * error (`1#`). Throws a SyntaxError naming the offset of the first fault.
 *
 * With `only` (lower case), other elements are checked for syntax but not
 * materialised, so a huge list of foreign names costs no allocations. With
 * `maxParams`, an element with more parameters is a SyntaxError (a peer
 * cannot make us allocate one entry per byte of a huge header).
 */
export function parseParameterizedList(value: string, only?: string, maxParams = Infinity): ParameterizedList {
  const elements: ParameterizedElement[] = [];
  let skippedCount = 0;
  let firstSkippedName: string | undefined;
  const n = value.length;
  let i = 0;

  const skipOws = (): void => {
    while (i < n && isOws(value.charCodeAt(i))) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  /** Advances over a token and returns its start offset. */
  const skipToken = (what: string): number => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    if (i === start) fail(`expected ${what}`);
    return start;
  };
  const readQuoted = (): string => {
    i++; // opening DQUOTE
    const start = i;
    let hasEscapes = false;
    for (;;) {
      if (i >= n) fail('unterminated quoted-string');
      const c = value.charCodeAt(i);
      if (c === DQUOTE) break;
      if (c === BACKSLASH) {
        hasEscapes = true;
        i++;
        if (i >= n) fail('unterminated quoted-pair');
      }
      i++;
    }
    const quoted = value.slice(start, i);
    i++; // closing DQUOTE
    // One native pass instead of a string built a character at a time (a long
    // run of quoted-pairs would otherwise allocate one string per pair).
    return hasEscapes ? quoted.replace(QUOTED_PAIR, '$1') : quoted;
  };

  for (;;) {
    // Skip empty elements and the separators between elements.
    while (i < n && (isOws(value.charCodeAt(i)) || value.charCodeAt(i) === COMMA)) i++;
    if (i >= n) break;
    const nameStart = skipToken('an extension name');
    const isKept = only === undefined || equalsLowerCase(value, nameStart, i, only);
    const name = isKept ? value.slice(nameStart, i).toLowerCase() : '';
    if (!isKept) {
      skippedCount++;
      firstSkippedName ??= value.slice(nameStart, i).toLowerCase();
    }
    const params: Array<[string, string | true]> = [];
    skipOws();
    while (i < n && value.charCodeAt(i) === SEMICOLON) {
      i++;
      skipOws();
      const paramStart = skipToken('a parameter name');
      const paramEnd = i;
      skipOws();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === EQUALS) {
        i++;
        skipOws();
        if (i < n && value.charCodeAt(i) === DQUOTE) {
          paramValue = readQuoted();
          // RFC 6455 §9.1: the unescaped value must conform to the token ABNF.
          if (!isToken(paramValue)) fail('quoted parameter value is not a token');
        } else {
          const valueStart = skipToken('a parameter value');
          if (isKept) paramValue = value.slice(valueStart, i);
        }
        skipOws();
      }
      if (isKept) {
        if (params.length >= maxParams) fail(`more than ${maxParams} parameters`);
        params.push([value.slice(paramStart, paramEnd).toLowerCase(), paramValue]);
      }
    }
    if (isKept) elements.push({ name, params });
    if (i < n) {
      if (value.charCodeAt(i) !== COMMA) fail('expected "," or ";"');
      i++;
    }
  }
  if (elements.length === 0 && skippedCount === 0) throw new SyntaxError('empty extension list');
  return { elements, skippedCount, firstSkippedName };
}
