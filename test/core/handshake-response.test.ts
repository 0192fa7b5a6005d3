// The client's side of the opening handshake in the core: parsing the
// server's response head (ResponseHeadParser) and checking it
// (validateServerResponse, RFC 6455 §4.1 items 1-6 of the client's checks).
// The server's side (request validation, building heads) is in handshake.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateKey,
  validateServerResponse,
  ResponseHeadParser,
  type ParsedResponseHead,
} from '../../src/core/handshake/rules.js';
import { HandshakeError } from '../../src/core/errors.js';
import { assertLinearTime } from './linear-time.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const OK_HEAD =
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\n\r\n`;

/** Feeds `bytes` whole, byte by byte and in 7-byte pieces; all three must agree. */
function parseThreeWays(bytes: Buffer, limits?: { maxHeaderBytes?: number; maxHeaderCount?: number }): ParsedResponseHead[] {
  const results: ParsedResponseHead[] = [];
  for (const size of [bytes.length, 1, 7]) {
    const parser = new ResponseHeadParser(limits);
    let result: ParsedResponseHead | null = null;
    for (let i = 0; i < bytes.length && result === null; i += size) result = parser.push(bytes.subarray(i, i + size));
    assert.ok(result, `no head with chunk size ${size}`);
    results.push(result);
  }
  return results;
}

function parseError(bytes: Buffer, limits?: { maxHeaderBytes?: number; maxHeaderCount?: number }): HandshakeError {
  for (const size of [bytes.length, 1]) {
    const parser = new ResponseHeadParser(limits);
    let caught: unknown;
    try {
      for (let i = 0; i < bytes.length; i += size) parser.push(bytes.subarray(i, i + size));
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof HandshakeError, `chunk size ${size}: expected a HandshakeError`);
    if (size === 1) return caught;
  }
  throw new Error('unreachable');
}

describe('ResponseHeadParser', () => {
  test('parses a head fed whole, byte by byte and with trailing frame bytes', () => {
    const frame = Buffer.from('810548656c6c6f', 'hex');
    for (const result of parseThreeWays(Buffer.concat([Buffer.from(OK_HEAD, 'latin1'), frame]))) {
      assert.equal(result.httpVersion, '1.1');
      assert.equal(result.status, 101);
      assert.equal(result.statusText, 'Switching Protocols');
      assert.deepEqual(result.headers, [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', ACCEPT],
      ]);
    }
    // Trailing bytes only survive when they arrive in the same chunk as the head's end.
    const [whole] = parseThreeWays(Buffer.concat([Buffer.from(OK_HEAD, 'latin1'), frame]));
    assert.deepEqual(whole.rest, frame);
  });

  test('keeps the bytes after the head when they share the last chunk', () => {
    const parser = new ResponseHeadParser();
    assert.equal(parser.push(Buffer.from(OK_HEAD.slice(0, 20), 'latin1')), null);
    const result = parser.push(Buffer.from(OK_HEAD.slice(20) + 'xyz', 'latin1'));
    assert.equal(result?.rest.toString(), 'xyz');
  });

  test('trims OWS, keeps duplicate headers and accepts an empty reason phrase', () => {
    const [result] = parseThreeWays(Buffer.from('HTTP/1.1 101\r\nA:  x \t\r\na: y\r\nB:\r\n\r\n'));
    assert.equal(result.statusText, '');
    assert.deepEqual(result.headers, [['A', 'x'], ['a', 'y'], ['B', '']]);
  });

  test('rejects bare LF, bare CR and obsolete line folding', () => {
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\nUpgrade: websocket\r\n\r\n')).message, /bare LF/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nA: b\rc\r\n\r\n')).message, /CR not followed by LF/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nA: b\r\n c\r\n\r\n')).message, /folding/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nA: b\r\n\tc\r\n\r\n')).message, /folding/);
  });

  test('rejects malformed status lines and header lines', () => {
    for (const head of ['HTTP/1.0 101 OK', 'HTTP/2.0 101 OK', 'HTTP/1.1 1O1 OK', 'HTTP/1.1  101 OK', 'ICY 200 OK', 'HTTP/1.1 101OK']) {
      assert.ok(parseError(Buffer.from(`${head}\r\n\r\n`)).message.length > 0, head);
    }
    assert.match(parseError(Buffer.from('\r\n\r\n')).message, /empty status line/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n')).message, /field name/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\n: websocket\r\n\r\n')).message, /field name/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nNoColon\r\n\r\n')).message, /field name/);
    assert.match(parseError(Buffer.from('HTTP/1.1 101 OK\r\nA: b\0c\r\n\r\n')).message, /control character/);
  });

  test('enforces maxHeaderBytes while scanning, counting the final CRLFCRLF', () => {
    const head = Buffer.from(OK_HEAD, 'latin1');
    parseThreeWays(head, { maxHeaderBytes: head.length });
    assert.match(parseError(head, { maxHeaderBytes: head.length - 1 }).message, /exceeds/);
    // An endless head is refused after the limit, however much more arrives.
    const parser = new ResponseHeadParser({ maxHeaderBytes: 1024 });
    assert.equal(parser.push(Buffer.from('HTTP/1.1 101 OK\r\nX: ')), null);
    assert.throws(() => parser.push(Buffer.alloc(10 * 1024 * 1024, 0x61)), /exceeds 1024 bytes/);
  });

  test('enforces maxHeaderCount', () => {
    const lines = Array.from({ length: 5 }, (_, i) => `X-${i}: v\r\n`).join('');
    parseThreeWays(Buffer.from(`HTTP/1.1 101 OK\r\n${lines}\r\n`), { maxHeaderCount: 5 });
    assert.match(parseError(Buffer.from(`HTTP/1.1 101 OK\r\n${lines}\r\n`), { maxHeaderCount: 4 }).message, /more than 4 header lines/);
  });

  test('uses the default limits from DEFAULTS', () => {
    const many = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('');
    assert.match(parseError(Buffer.from(`HTTP/1.1 101 OK\r\n${many}\r\n`)).message, /more than 100/);
    assert.match(parseError(Buffer.from(`HTTP/1.1 101 OK\r\nX: ${'a'.repeat(16 * 1024)}\r\n\r\n`)).message, /exceeds 16384/);
  });

  test('parses a maximal head fed one byte at a time', () => {
    const filler = Array.from({ length: 99 }, (_, i) => `X-${i}: ${'v'.repeat(150)}\r\n`).join('');
    const bytes = Buffer.from(`HTTP/1.1 101 OK\r\n${filler}\r\n`);
    assert.ok(bytes.length < 16 * 1024);
    const parser = new ResponseHeadParser();
    let result: ParsedResponseHead | null = null;
    for (let i = 0; i < bytes.length && !result; i++) result = parser.push(bytes.subarray(i, i + 1));
    assert.equal(result?.headers.length, 99);
  });

  test('a head fed one byte at a time parses in linear time (n vs 16n header lines, best of 3)', () => {
    // Limits raised so the head can grow 16-fold; the default limits cap it at 16 KiB and 100 lines.
    assertLinearTime(
      'ResponseHeadParser byte by byte',
      (lines) => {
        const filler = Array.from({ length: lines }, (_, i) => `X-${i}: ${'v'.repeat(150)}\r\n`).join('');
        const bytes = Buffer.from(`HTTP/1.1 101 OK\r\n${filler}\r\n`);
        return () => {
          const parser = new ResponseHeadParser({ maxHeaderBytes: bytes.length + 1, maxHeaderCount: lines + 1 });
          let result: ParsedResponseHead | null = null;
          for (let i = 0; i < bytes.length && !result; i++) result = parser.push(bytes.subarray(i, i + 1));
          assert.equal(result?.headers.length, lines);
        };
      },
      // The parser keeps every pushed chunk (one Buffer per byte here) until the head ends, so large
      // heads measure the GC more than the parser: 16n stays at 512 lines (~87 KiB).
      { startN: 4, maxN: 32, minSmallMs: 2 },
    );
  });

  test('refuses to be fed after it returned the head', () => {
    const parser = new ResponseHeadParser();
    assert.ok(parser.push(Buffer.from(OK_HEAD)));
    assert.throws(() => parser.push(Buffer.from('x')));
  });

  test('rejects invalid limits with a RangeError naming the option', () => {
    assert.throws(() => new ResponseHeadParser({ maxHeaderBytes: 0 }), /maxHeaderBytes/);
    assert.throws(() => new ResponseHeadParser({ maxHeaderCount: -1 }), /maxHeaderCount/);
  });
});

function head(status: number, headers: Array<[string, string]>, statusText = 'Switching Protocols'): ParsedResponseHead {
  return { httpVersion: '1.1', status, statusText, headers, rest: Buffer.alloc(0) };
}

const GOOD: Array<[string, string]> = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Accept', ACCEPT],
];

function serverFails(h: ParsedResponseHead, o: Parameters<typeof validateServerResponse>[1], pattern: RegExp): HandshakeError {
  let caught: unknown;
  try {
    validateServerResponse(h, o);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

describe('validateServerResponse', () => {
  test('accepts a correct 101 without subprotocol or extensions', () => {
    assert.deepEqual(validateServerResponse(head(101, GOOD), { key: KEY, protocols: [] }), {
      protocol: '',
      extensions: '',
      deflate: null,
    });
  });

  test('fails a non-101 status with that status and its reason phrase', () => {
    const error = serverFails(head(403, [], 'Forbidden'), { key: KEY, protocols: [] }, /^server answered 403 Forbidden$/);
    assert.equal(error.status, 403);
    assert.equal(serverFails(head(200, GOOD, 'OK'), { key: KEY, protocols: [] }, /server answered 200 OK/).status, 200);
  });

  test('fails a missing or wrong Upgrade header', () => {
    serverFails(head(101, GOOD.filter(([n]) => n !== 'Upgrade')), { key: KEY, protocols: [] }, /lacks the Upgrade header/);
    serverFails(head(101, [['Upgrade', 'h2c'], ...GOOD.slice(1)]), { key: KEY, protocols: [] }, /Upgrade header is "h2c"/);
    assert.equal(validateServerResponse(head(101, [['Upgrade', 'WebSocket'], ...GOOD.slice(1)]), { key: KEY, protocols: [] }).protocol, '');
  });

  test('fails a missing or wrong Connection header', () => {
    serverFails(head(101, GOOD.filter(([n]) => n !== 'Connection')), { key: KEY, protocols: [] }, /lacks the Connection header/);
    serverFails(head(101, [GOOD[0], ['Connection', 'close'], GOOD[2]]), { key: KEY, protocols: [] }, /Connection header is "close"/);
  });

  test('fails a missing, duplicate or wrong Sec-WebSocket-Accept with status 101', () => {
    serverFails(head(101, GOOD.slice(0, 2)), { key: KEY, protocols: [] }, /lacks the Sec-WebSocket-Accept/);
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Accept', ACCEPT]]), { key: KEY, protocols: [] }, /duplicate Sec-WebSocket-Accept/);
    const error = serverFails(head(101, GOOD), { key: generateKey(), protocols: [] }, /does not match the key/);
    assert.equal(error.status, 101);
  });

  test('accepts an offered subprotocol and none at all', () => {
    const result = validateServerResponse(head(101, [...GOOD, ['Sec-WebSocket-Protocol', 'b']]), { key: KEY, protocols: ['a', 'b'] });
    assert.equal(result.protocol, 'b');
    assert.equal(validateServerResponse(head(101, GOOD), { key: KEY, protocols: ['a'] }).protocol, '');
  });

  test('fails a subprotocol that was not offered, or any when none was', () => {
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Protocol', 'c']]), { key: KEY, protocols: ['a', 'b'] }, /"c" that was not offered/);
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Protocol', 'A']]), { key: KEY, protocols: ['a'] }, /not offered/);
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Protocol', 'a']]), { key: KEY, protocols: [] }, /but none was offered/);
    serverFails(
      head(101, [...GOOD, ['Sec-WebSocket-Protocol', 'a'], ['Sec-WebSocket-Protocol', 'a']]),
      { key: KEY, protocols: ['a'] },
      /duplicate Sec-WebSocket-Protocol/,
    );
  });

  test('fails extensions when none were offered', () => {
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate']]), { key: KEY, protocols: [] }, /none were offered/);
    serverFails(
      head(101, [...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate']]),
      { key: KEY, protocols: [], deflate: false },
      /none were offered/,
    );
  });

  test('accepts permessage-deflate when offered and fails other extensions', () => {
    const result = validateServerResponse(
      head(101, [...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10']]),
      { key: KEY, protocols: [], deflate: {} },
    );
    assert.deepEqual(result.deflate, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 10,
    });
    assert.equal(result.extensions, 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10');
    serverFails(head(101, [...GOOD, ['Sec-WebSocket-Extensions', 'x-webkit-deflate-frame']]), { key: KEY, protocols: [], deflate: {} }, /"x-webkit-deflate-frame" was not offered/);
    const error = serverFails(
      head(101, [...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; foo']]),
      { key: KEY, protocols: [], deflate: {} },
      /unknown parameter foo/,
    );
    assert.equal(error.status, 101);
  });
});
