/**
 * The few WebIDL conversions the WebSocket interface needs.
 * https://webidl.spec.whatwg.org/#es-type-mapping
 */

/** USVString: lone surrogates become U+FFFD. https://webidl.spec.whatwg.org/#es-USVString */
export function toUSVString(value: unknown): string {
  const s = String(value);
  // String.prototype.toWellFormed is ES2024 (present in Node 20's V8 but not in the ES2023 lib typings).
  const wellFormed = (s as string & { toWellFormed?: () => string }).toWellFormed;
  if (typeof wellFormed === 'function') return wellFormed.call(s);
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * `[Clamp] unsigned short`: NaN becomes 0, values are clamped to 0..65535 and
 * rounded to the nearest integer, ties to even.
 * https://webidl.spec.whatwg.org/#abstract-opdef-converttoint (step 7, [Clamp])
 */
export function toClampedUnsignedShort(value: unknown): number {
  const x = Number(value);
  if (Number.isNaN(x)) return 0;
  const clamped = Math.min(Math.max(x, 0), 0xffff);
  const floor = Math.floor(clamped);
  const fraction = clamped - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `unsigned short` without [Clamp]: modulo 2^16. */
export function toUnsignedShort(value: unknown): number {
  const x = Number(value);
  if (!Number.isFinite(x)) return 0;
  return ((Math.trunc(x) % 0x10000) + 0x10000) % 0x10000;
}

/**
 * Attributes and operations of a WebIDL interface are enumerable properties of
 * its prototype (https://webidl.spec.whatwg.org/#es-attributes, #es-operations);
 * class syntax makes them non-enumerable, so flip the flag after the fact.
 */
export function makeMembersEnumerable(prototype: object, names: readonly string[]): void {
  for (const name of names) {
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if (descriptor === undefined) throw new Error(`makeMembersEnumerable: no member ${name}`);
    Object.defineProperty(prototype, name, { ...descriptor, enumerable: true });
  }
}

/**
 * The class string (`Object.prototype.toString` gives "[object Name]"): a
 * non-writable, non-enumerable, configurable data property on the prototype
 * (https://webidl.spec.whatwg.org/#dfn-class-string).
 */
export function defineClassString(prototype: object, name: string): void {
  Object.defineProperty(prototype, Symbol.toStringTag, { value: name, writable: false, enumerable: false, configurable: true });
}
