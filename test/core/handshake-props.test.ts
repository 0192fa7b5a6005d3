// Property tests for the handshake parsers: chunking invariance, and random
// input that never throws anything but the documented error, never hangs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResponseHeadParser, type ParsedResponseHead } from '../../src/core/handshake/rules.js';
import { acceptServerResponse, negotiateServer, parseExtensionsHeader } from '../../src/core/deflate/index.js';
import { HandshakeError } from '../../src/core/errors.js';

/** Feeds `bytes` in pieces cut at `cuts`; returns the head, the error, or null (incomplete). */
function feed(bytes: Buffer, cuts: number[]): ParsedResponseHead | HandshakeError | null {
  const parser = new ResponseHeadParser({ maxHeaderBytes: 4096, maxHeaderCount: 20 });
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const end of [...points, bytes.length]) {
      if (end <= start) continue;
      const result = parser.push(bytes.subarray(start, end));
      if (result) return result;
      start = end;
    }
    return null;
  } catch (error) {
    if (error instanceof HandshakeError) return error;
    throw error;
  }
}

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const validHead = fc
  .record({
    status: fc.integer({ min: 100, max: 599 }),
    reason: fc.stringMatching(/^[A-Za-z ]{0,20}$/),
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 15 }),
    rest: fc.uint8Array({ maxLength: 20 }),
  })
  .map(({ status, reason, headers, rest }) => ({
    headers,
    rest: Buffer.from(rest),
    bytes: Buffer.concat([
      Buffer.from(`HTTP/1.1 ${status} ${reason}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1'),
      Buffer.from(rest),
    ]),
  }));

describe('ResponseHeadParser properties', () => {
  test('any chunking of a valid head gives the same result, and the rest after it', () => {
    fc.assert(
      fc.property(validHead, fc.array(fc.nat(), { maxLength: 10 }), ({ headers, rest, bytes }, cuts) => {
        const whole = feed(bytes, []);
        const split = feed(bytes, cuts);
        assert.ok(whole && !(whole instanceof HandshakeError));
        assert.ok(split && !(split instanceof HandshakeError));
        assert.deepEqual(split.headers, headers);
        assert.equal(split.status, whole.status);
        // Rest bytes are only those that arrived with the end of the head.
        assert.ok(rest.subarray(0, split.rest.length).equals(split.rest));
        assert.deepEqual(whole.rest, rest);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes end in a head, a HandshakeError or a wait for more, within the byte limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), fc.array(fc.nat(), { maxLength: 8 }), (raw, cuts) => {
        const result = feed(Buffer.from(raw), cuts);
        if (result === null) assert.ok(raw.length <= 4096);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Sec-WebSocket-Extensions properties', () => {
  // Strings over the characters that matter to the grammar.
  const alphabet = fc.constantFrom(...'permessage-deflate', ';', ',', '=', '"', '\\', ' ', '\t', 'a', '1', '5', '_', '/', '(');
  const noisy = fc.array(alphabet, { maxLength: 200 }).map((chars) => chars.join(''));
  const plausible = fc
    .array(
      fc.tuple(
        fc.constantFrom('permessage-deflate', 'x-foo', 'permessage-deflate'),
        fc.array(
          fc.tuple(
            fc.constantFrom('server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits', 'foo'),
            fc.option(fc.constantFrom('8', '9', '10', '15', '16', '"12"', 'x')),
          ),
          { maxLength: 5 },
        ),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((offers) =>
      offers.map(([name, params]) => [name, ...params.map(([k, v]) => (v === null ? k : `${k}=${v}`))].join('; ')).join(', '),
    );

  test('parsing throws only SyntaxError; negotiation never throws; the client check throws only HandshakeError', () => {
    fc.assert(
      fc.property(fc.oneof(noisy, plausible), (header) => {
        try {
          parseExtensionsHeader(header);
        } catch (error) {
          assert.ok(error instanceof SyntaxError, String(error));
        }
        const answer = negotiateServer(header, {});
        if (answer) {
          // Whatever we answer is a response our own client accepts with the same parameters.
          assert.deepEqual(acceptServerResponse(answer.responseHeader, { clientMaxWindowBits: true }), answer.params);
        }
        try {
          acceptServerResponse(header, {});
        } catch (error) {
          assert.ok(error instanceof HandshakeError, String(error));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
