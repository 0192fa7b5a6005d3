// RequestHeadParser reads a head that arrives whole in its first chunk in one
// pass (readWholeHead), and anything else with the byte scanner. The one-pass
// path must answer exactly as the scanner does: the same head, the same rest,
// the same error (status and message) for every input. Fed whole, a head
// takes the one-pass path when it can; fed as one byte and then the rest, it
// always goes through the scanner (a lone byte is never a complete head).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestHeadParser } from '../../src/core/handshake/request-head.js';
import { HandshakeError } from '../../src/core/errors.js';

type Outcome = { head: unknown } | { error: { status: number; message: string } } | { incomplete: true };

function outcome(chunks: Buffer[], limits: { maxHeaderBytes?: number; maxHeaderCount?: number }): Outcome {
  const parser = new RequestHeadParser(limits);
  try {
    for (const chunk of chunks) {
      const head = parser.push(chunk);
      if (head !== null) return { head: { ...head, rest: head.rest.toString('latin1') } };
    }
    return { incomplete: true };
  } catch (error) {
    assert.ok(error instanceof HandshakeError, String(error));
    return { error: { status: error.status, message: error.message } };
  }
}

/** Mostly the first (valid) choice, sometimes one of the broken ones: most heads carry one flaw or none. */
const mostly = <T>(valid: fc.Arbitrary<T>, broken: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: broken });

/** Pieces of heads, valid and broken in the ways the rules name. */
const requestLine = mostly(
  fc.constantFrom('GET / HTTP/1.1', 'GET /chat?room=1&x=%20 HTTP/1.1', 'POST /x HTTP/1.0'),
  fc.constantFrom('GET  / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET /a b HTTP/1.1', 'G(T / HTTP/1.1', 'GET / HTTP/11', '', 'GET / HTTP/1.1\n', 'GET /\x7f HTTP/1.1', ' GET / HTTP/1.1'),
);
const name = mostly(fc.constantFrom('Host', 'Upgrade', 'X-A', 'sec-websocket-key', "X_Y!#$'"), fc.constantFrom('', ' X', 'X ', 'X\x01', '\xc4', 'X(', 'X\r'));
const value = mostly(
  fc.oneof(
    fc.constantFrom('', 'websocket', ' \t padded \t ', 'a:b:c', 'obs-text \xe9\xff', 'tab\there'),
    fc.string({ maxLength: 30 }).map((text) => text.replace(/[^\x20-\x7e]/g, 'x')),
  ),
  fc.constantFrom('ctl\x01', 'del\x7f', 'cr\rx', 'lf\nx', 'nul\x00', '\x7f'),
);
const colon = mostly(fc.constantFrom(':', ': '), fc.constantFrom(' :', ''));
const lineEnd = mostly(fc.constant('\r\n'), fc.constantFrom('\n', '\r', '\r\r\n'));
const header = fc.tuple(name, colon, value, lineEnd).map(([n, c, v, end]) => `${n}${c}${v}${end}`);
const fold = fc.constantFrom(' folded\r\n', '\tfolded\r\n');
const head = fc
  .tuple(
    requestLine,
    fc.array(mostly(header, fold), { maxLength: 8 }),
    mostly(fc.constant('\r\n'), fc.constantFrom('', '\n', '\r')),
    fc.constantFrom('', '\x81\x80', 'GET / HTTP/1.1\r\n\r\n'),
  )
  .map(([line, headers, end, rest]) => Buffer.from(`${line}\r\n${headers.join('')}${end}${rest}`, 'latin1'));
const limits = fc.record({ maxHeaderBytes: fc.constantFrom(16 * 1024, 64, 100, 120), maxHeaderCount: fc.constantFrom(100, 1, 2, 3) });

test('a head read whole in one pass answers exactly as the byte scanner does (head, rest, or error)', () => {
  fc.assert(
    fc.property(head, limits, (bytes, limit) => {
      const whole = outcome([Buffer.from(bytes)], limit);
      const scanned = outcome([bytes.subarray(0, 1), bytes.subarray(1)], limit);
      assert.deepEqual(whole, scanned);
    }),
    { numRuns: 3000 },
  );
});

test('typical heads are accepted whole (the one-pass path is taken, not only fallen back from)', () => {
  const bytes = Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX: \t v \t\r\n\r\nrest', 'latin1');
  const parser = new RequestHeadParser();
  const parsed = parser.push(bytes);
  assert.ok(parsed !== null);
  assert.deepEqual(parsed.rawHeaders, ['Host', 'h', 'Upgrade', 'websocket', 'Connection', 'Upgrade', 'X', 'v']);
  assert.equal(parsed.rest.toString(), 'rest');
  assert.throws(() => parser.push(Buffer.from('x')), /already returned the head/);
});

test('limits hold on the one-pass path: a head one byte over maxHeaderBytes, or one line over maxHeaderCount, is 431', () => {
  const text = 'GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n';
  const bytes = Buffer.from(text);
  assert.ok(new RequestHeadParser({ maxHeaderBytes: bytes.length }).push(Buffer.from(bytes)) !== null, 'exactly at the limit');
  assert.throws(() => new RequestHeadParser({ maxHeaderBytes: bytes.length - 1 }).push(Buffer.from(bytes)), (e: unknown) => e instanceof HandshakeError && e.status === 431);
  assert.ok(new RequestHeadParser({ maxHeaderCount: 2 }).push(Buffer.from(bytes)) !== null);
  assert.throws(() => new RequestHeadParser({ maxHeaderCount: 1 }).push(Buffer.from(bytes)), (e: unknown) => e instanceof HandshakeError && e.status === 431);
});
