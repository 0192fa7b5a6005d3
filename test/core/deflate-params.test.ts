import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  acceptServerResponse,
  buildClientOffer,
  negotiateServer,
  parseExtensionsHeader,
  resolveDeflateOptions,
  type PerMessageDeflateOptions,
} from '../../src/core/deflate/index.js';
import { HandshakeError } from '../../src/core/errors.js';
import { assertLinearTime } from './linear-time.js';

const DEFAULT_PARAMS = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe('parseExtensionsHeader', () => {
  test('parses extensions, parameters with and without values, in order', () => {
    const parsed = parseExtensionsHeader(
      'permessage-deflate; client_max_window_bits; server_max_window_bits=10, Permessage-Deflate ;Server_No_Context_Takeover , x-foo',
    );
    assert.equal(parsed.length, 3);
    assert.equal(parsed[0].name, 'permessage-deflate');
    assert.deepEqual([...parsed[0].params], [
      ['client_max_window_bits', true],
      ['server_max_window_bits', '10'],
    ]);
    assert.equal(parsed[1].name, 'permessage-deflate');
    assert.deepEqual([...parsed[1].params], [['server_no_context_takeover', true]]);
    assert.equal(parsed[2].name, 'x-foo');
    assert.equal(parsed[2].params.size, 0);
  });

  test('unescapes quoted-string values and skips empty list elements', () => {
    const parsed = parseExtensionsHeader(', permessage-deflate; client_max_window_bits="1\\0" ,, ');
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0].params.get('client_max_window_bits'), '10');
  });

  test('reports duplicate parameters instead of throwing', () => {
    const [parsed] = parseExtensionsHeader('permessage-deflate; server_no_context_takeover; server_no_context_takeover');
    assert.deepEqual(parsed.duplicateParams, ['server_no_context_takeover']);
  });

  test('throws a SyntaxError on malformed values', () => {
    for (const bad of [
      '',
      ' , ',
      'permessage-deflate;',
      'permessage-deflate; ',
      '; a',
      'permessage deflate',
      'permessage-deflate; a=',
      'permessage-deflate; a==b',
      'permessage-deflate; a=b c',
      'permessage-deflate; a="b c"',
      'permessage-deflate; a=""',
      'permessage-deflate; a="b',
      'permessage-deflate; a="b\\',
      'permessage-deflate; a=b;;',
      'permessage-deflate a',
      'x/y',
      'permessage-deflate; a=(b)',
    ]) {
      assert.throws(() => parseExtensionsHeader(bad), SyntaxError, JSON.stringify(bad));
    }
  });

  test('parses long adversarial values in linear time (n vs 16n, best of 3)', () => {
    // Each shape builds a value of about n characters.
    // [label, value of about n characters, largest n for the full parse (default 4 Ki)]
    const shapes: Array<[string, (n: number) => string, number?]> = [
      ['a,a,...', (n) => 'a,'.repeat(n / 2)],
      ['many bare params', (n) => `permessage-deflate${'; a'.repeat(Math.ceil(n / 3))}`],
      ['long quoted escapes', (n) => `permessage-deflate; a="${'\\a'.repeat(n / 2)}"`],
      ['long whitespace', (n) => `permessage-deflate${' '.repeat(n)}x`],
      ['repeated params', (n) => `a${'; b=c'.repeat(Math.ceil(n / 5))}`],
      ['many offers', (n) => 'permessage-deflate; server_max_window_bits=16, '.repeat(Math.ceil(n / 47))],
      // Many distinct names, each twice: duplicate detection must not scan a growing list.
      // (Larger sizes: at 8 Ki a quadratic check costs too little to stand out; at 16n = 1 MiB the
      // Map and Set of 64 Ki names make the ratio depend on GC and machine load.)
      ['repeated distinct params', (n) => `a${Array.from({ length: Math.ceil(n / 16) }, (_, i) => `; k${i}; k${i}`).join('')}`, 32 * 1024],
    ];
    // Sizes: up to n = 64 Ki characters (16n = 1 MiB, the old test's size). The full parse allocates
    // objects per element (a Map, a Set, an array), so it stays at 16n = 64 Ki characters: beyond that
    // old-generation GC, not the algorithm, sets the ratio ('a,a,...' costs 106 ns per character up to
    // 16 Ki, then 250-600 ns from 32 Ki on; at 16n = 128 Ki the ratio reached 53 of the 64 allowed).
    for (const [label, make, fullParseMaxN = 4 * 1024] of shapes) {
      // The paths a peer's header takes on the wire: negotiation (server) and response check (client).
      assertLinearTime(
        `negotiate + accept, ${label}`,
        (n) => {
          const value = make(n);
          return () => {
            negotiateServer(value, {});
            try {
              acceptServerResponse(value, {});
            } catch (error) {
              assert.ok(error instanceof HandshakeError);
            }
          };
        },
        { startN: 4 * 1024, maxN: 64 * 1024, minSmallMs: 2 },
      );
      // The full parse materialises every element (allocation-bound), hence the smaller sizes.
      assertLinearTime(
        `parseExtensionsHeader, ${label}`,
        (n) => {
          const value = make(n);
          return () => {
            try {
              parseExtensionsHeader(value);
            } catch (error) {
              assert.ok(error instanceof SyntaxError);
            }
          };
        },
        { startN: 1024, maxN: fullParseMaxN, minSmallMs: 2 },
      );
    }
  });
});

describe('negotiateServer', () => {
  test('accepts the browser offer with defaults and answers "permessage-deflate"', () => {
    assert.deepEqual(negotiateServer('permessage-deflate; client_max_window_bits', {}), {
      params: DEFAULT_PARAMS,
      responseHeader: 'permessage-deflate',
    });
    assert.equal(negotiateServer(undefined, {}), null);
    assert.equal(negotiateServer('', {}), null);
    assert.equal(negotiateServer('x-webkit-deflate-frame', {}), null);
  });

  test('honours all four parameters of an offer, with values', () => {
    const answer = negotiateServer(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
      {},
    );
    assert.deepEqual(answer, {
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 },
      responseHeader:
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    });
  });

  test('applies its own options to an offer that asks for nothing', () => {
    const answer = negotiateServer('permessage-deflate; client_max_window_bits', {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 11,
      clientMaxWindowBits: 9,
    });
    assert.deepEqual(answer, {
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 9 },
      responseHeader:
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=9',
    });
  });

  test('uses the smaller of its own and the offered window bits', () => {
    assert.equal(negotiateServer('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 })?.params.serverMaxWindowBits, 10);
    assert.equal(negotiateServer('permessage-deflate; server_max_window_bits=9', { serverMaxWindowBits: 10 })?.params.serverMaxWindowBits, 9);
    const client = negotiateServer('permessage-deflate; client_max_window_bits=11', { clientMaxWindowBits: 13 });
    assert.equal(client?.params.clientMaxWindowBits, 11);
    assert.equal(client?.responseHeader, 'permessage-deflate; client_max_window_bits=11');
  });

  test('declines an offer whose client window cannot be limited when it must be', () => {
    assert.equal(negotiateServer('permessage-deflate', { clientMaxWindowBits: 10 }), null);
    // The next offer that allows the limit is taken.
    assert.equal(
      negotiateServer('permessage-deflate, permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 })?.responseHeader,
      'permessage-deflate; client_max_window_bits=10',
    );
  });

  test('declines offers with duplicate, unknown or malformed parameters and takes the next one', () => {
    const good = 'permessage-deflate; server_max_window_bits=11';
    for (const bad of [
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; client_max_window_bits; client_max_window_bits=10',
      'permessage-deflate; x_unknown',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; client_no_context_takeover=true',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=08',
      'permessage-deflate; server_max_window_bits=1a',
      'permessage-deflate; client_max_window_bits=0',
      'permessage-deflate; client_max_window_bits=16',
      'permessage-deflate; client_max_window_bits=abc',
    ]) {
      assert.equal(negotiateServer(bad, {}), null, bad);
      assert.equal(negotiateServer(`${bad}, ${good}`, {})?.responseHeader, 'permessage-deflate; server_max_window_bits=11', bad);
    }
  });

  test('considers several offers in order and takes the first acceptable', () => {
    const answer = negotiateServer(
      'x-foo; a=1, permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=12',
      {},
    );
    assert.equal(answer?.params.serverMaxWindowBits, 10);
  });

  test('declines everything when the header is syntactically malformed', () => {
    assert.equal(negotiateServer('permessage-deflate; a="b, permessage-deflate', {}), null);
  });

  test('accepts window bits 8 in both directions (compressed with Z_RLE, see deflate.ts)', () => {
    const answer = negotiateServer('permessage-deflate; server_max_window_bits=8; client_max_window_bits=8', {});
    assert.deepEqual(answer?.params, { ...DEFAULT_PARAMS, serverMaxWindowBits: 8, clientMaxWindowBits: 8 });
  });

  test('refuses an offer with more than 16 parameters before allocating them', () => {
    assert.equal(negotiateServer(`permessage-deflate${'; client_max_window_bits'.repeat(17)}`, {}), null);
    clientFails(`permessage-deflate${'; server_no_context_takeover'.repeat(17)}`, {}, /more than 16 parameters/);
  });

  test('accepts quoted window bits', () => {
    assert.equal(negotiateServer('permessage-deflate; server_max_window_bits="9"', {})?.params.serverMaxWindowBits, 9);
  });
});

describe('buildClientOffer', () => {
  test('offers like browsers by default', () => {
    assert.equal(buildClientOffer(), 'permessage-deflate; client_max_window_bits');
    assert.equal(buildClientOffer(resolveDeflateOptions(true)), 'permessage-deflate; client_max_window_bits');
  });

  test('offers every configured parameter', () => {
    assert.equal(
      buildClientOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
    assert.equal(buildClientOffer({ clientMaxWindowBits: false }), 'permessage-deflate');
  });
});

function clientFails(header: string, o: PerMessageDeflateOptions, pattern: RegExp): void {
  assert.throws(
    () => acceptServerResponse(header, o),
    (error: unknown) => error instanceof HandshakeError && pattern.test(error.message),
    header,
  );
}

describe('acceptServerResponse', () => {
  test('returns null when the server declined', () => {
    assert.equal(acceptServerResponse(undefined, {}), null);
    assert.equal(acceptServerResponse('', {}), null);
  });

  test('reads all four parameters', () => {
    assert.deepEqual(
      acceptServerResponse(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8',
        {},
      ),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 8 },
    );
    assert.deepEqual(acceptServerResponse('permessage-deflate', {}), DEFAULT_PARAMS);
  });

  test('keeps our own client window and context settings when the server adds nothing', () => {
    assert.deepEqual(acceptServerResponse('permessage-deflate', { clientMaxWindowBits: 10, clientNoContextTakeover: true }), {
      ...DEFAULT_PARAMS,
      clientMaxWindowBits: 10,
      clientNoContextTakeover: true,
    });
  });

  test('fails unknown, duplicate or malformed parameters', () => {
    clientFails('permessage-deflate; foo', {}, /unknown parameter foo/);
    clientFails('permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, /duplicate parameter/);
    clientFails('permessage-deflate; server_no_context_takeover=1', {}, /has a value/);
    clientFails('permessage-deflate; client_no_context_takeover=x', {}, /has a value/);
    clientFails('permessage-deflate; server_max_window_bits', {}, /not 8\.\.15/);
    clientFails('permessage-deflate; server_max_window_bits=16', {}, /not 8\.\.15/);
    clientFails('permessage-deflate; client_max_window_bits=7', {}, /not 8\.\.15/);
    clientFails('permessage-deflate; client_max_window_bits', {}, /not 8\.\.15/);
    clientFails('permessage-deflate;', {}, /invalid Sec-WebSocket-Extensions/);
  });

  test('fails client_max_window_bits when it was not offered', () => {
    clientFails('permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: false }, /client_max_window_bits was not offered/);
    clientFails('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 }, /exceeds the offered 10/);
  });

  test('fails a server window larger than requested, or a request left unanswered', () => {
    clientFails('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }, /exceeds the offered 10/);
    clientFails('permessage-deflate', { serverMaxWindowBits: 10 }, /server_max_window_bits was requested/);
    clientFails('permessage-deflate', { serverNoContextTakeover: true }, /server_no_context_takeover was requested/);
  });

  test('fails other extensions and permessage-deflate accepted twice', () => {
    clientFails('x-foo', {}, /"x-foo" was not offered/);
    clientFails('permessage-deflate, permessage-deflate', {}, /more than once/);
  });

  test('agrees with negotiateServer for every combination of options', () => {
    const choices: PerMessageDeflateOptions[] = [];
    for (const snct of [false, true])
      for (const cnct of [false, true])
        for (const sbits of [undefined, 8, 10, 15])
          for (const cbits of [undefined, false, 9, 15] as Array<number | boolean | undefined>)
            choices.push({ serverNoContextTakeover: snct, clientNoContextTakeover: cnct, serverMaxWindowBits: sbits, clientMaxWindowBits: cbits });
    let agreed = 0;
    for (const client of choices) {
      for (const server of choices.filter((_, i) => i % 7 === 0)) {
        const answer = negotiateServer(buildClientOffer(client), server);
        if (answer === null) {
          // Only a required client window against a client that does not offer the parameter is declined.
          assert.ok(client.clientMaxWindowBits === false && typeof server.clientMaxWindowBits === 'number' && server.clientMaxWindowBits < 15);
          continue;
        }
        const params = acceptServerResponse(answer.responseHeader, client);
        assert.ok(params);
        assert.equal(params.serverNoContextTakeover, answer.params.serverNoContextTakeover);
        assert.equal(params.clientNoContextTakeover, answer.params.clientNoContextTakeover);
        assert.equal(params.serverMaxWindowBits, answer.params.serverMaxWindowBits);
        // The client may compress with a smaller window than the server allows, never a larger one.
        assert.ok(params.clientMaxWindowBits <= answer.params.clientMaxWindowBits);
        if (typeof client.clientMaxWindowBits === 'number') assert.ok(params.clientMaxWindowBits <= client.clientMaxWindowBits);
        agreed++;
      }
    }
    assert.ok(agreed > 200);
  });
});

describe('resolveDeflateOptions', () => {
  test('applies the documented defaults', () => {
    const r = resolveDeflateOptions({});
    assert.equal(r.threshold, 1024);
    assert.equal(r.level, 1);
    assert.equal(r.memLevel, 8);
    assert.equal(r.concurrency, 10);
    assert.equal(r.inlineMaxBytes, 16384);
    assert.equal(r.serverMaxWindowBits, undefined);
    assert.equal(r.clientMaxWindowBits, undefined);
  });

  test('throws a RangeError naming the option', () => {
    assert.throws(() => resolveDeflateOptions({ level: 10 }), /perMessageDeflate\.level/);
    assert.throws(() => resolveDeflateOptions({ memLevel: 0 }), /perMessageDeflate\.memLevel/);
    assert.throws(() => resolveDeflateOptions({ threshold: -1 }), /perMessageDeflate\.threshold/);
    assert.throws(() => resolveDeflateOptions({ serverMaxWindowBits: 7 }), /perMessageDeflate\.serverMaxWindowBits/);
    assert.throws(() => resolveDeflateOptions({ clientMaxWindowBits: 16 }), /perMessageDeflate\.clientMaxWindowBits/);
    assert.throws(() => resolveDeflateOptions({ concurrency: 0 }), /perMessageDeflate\.concurrency/);
    assert.equal(resolveDeflateOptions({ concurrency: Infinity }).concurrency, Infinity);
    assert.throws(() => resolveDeflateOptions({ inlineMaxBytes: -1 }), /perMessageDeflate\.inlineMaxBytes/);
    assert.throws(() => resolveDeflateOptions({ inlineMaxBytes: 1.5 }), /perMessageDeflate\.inlineMaxBytes/);
    assert.equal(resolveDeflateOptions({ inlineMaxBytes: 0 }).inlineMaxBytes, 0);
    assert.equal(resolveDeflateOptions({ inlineMaxBytes: Infinity }).inlineMaxBytes, Infinity);
  });
});
