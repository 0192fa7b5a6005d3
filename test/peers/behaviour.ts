/**
 * The one behaviour suite of the interop matrix (issues 3 and 4). It drives a
 * Target (subject x peer x compression config) and asserts what both ends
 * observed: echo at the RFC 6455 length boundaries, fragments, ping/pong,
 * closing in both directions, subprotocol and extension negotiation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CMD, pattern, utf8Pattern } from './bot-protocol.js';
import { printMatrix, record } from './matrix.js';
import { CLIENT_PROTOCOLS, type Pair, type Target } from './targets.js';

/** RFC 6455 §5.2 length encodings: 7-bit, 16-bit (126..65535), 64-bit (65536..), plus 1 MiB. */
export const SIZES = [0, 1, 125, 126, 65535, 65536, 1024 * 1024];

const TEST_TIMEOUT_MS = 30_000;

let matrixHookInstalled = false;

export function behaviourSuite(target: Target): void {
  if (!matrixHookInstalled) {
    matrixHookInstalled = true;
    after(() => printMatrix());
  }
  const key = { peer: target.peer, direction: target.direction, config: target.config.name };
  const title = `${target.direction} [${target.config.name}]`;

  if (target.skip) {
    record(key, 'skip', target.skip);
    describe(title, () => {
      it('is skipped', { skip: target.skip }, () => undefined);
    });
    return;
  }

  describe(title, () => {
    let startError: unknown;
    let shared: Pair | undefined;
    let sharedIsBroken = false;
    const opened: Pair[] = [];

    before(async () => {
      try {
        await target.before();
      } catch (error) {
        startError = error;
      }
    });
    after(async () => {
      for (const pair of opened) await pair.dispose().catch(() => undefined);
      await target.after().catch(() => undefined);
    });

    async function open(protocols: string[] = CLIENT_PROTOCOLS): Promise<Pair> {
      if (startError) throw startError;
      const pair = await target.open({ protocols });
      opened.push(pair);
      return pair;
    }

    /** One connection shared by the message tests; reopened if a test broke it. */
    async function sharedPair(): Promise<Pair> {
      if (!shared || sharedIsBroken) {
        sharedIsBroken = false;
        shared = await open();
        void shared.subject.closed.then(() => (sharedIsBroken = true));
      }
      return shared;
    }

    function test(name: string, body: (t: TestContext) => Promise<void>, skip?: string | false): void {
      if (skip) {
        record(key, 'skip', skip);
        it(name, { skip }, () => undefined);
        return;
      }
      it(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
        try {
          await body(t);
          record(key, 'pass');
        } catch (error) {
          record(key, 'fail', `${name}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300));
          sharedIsBroken = true;
          throw error;
        }
      });
    }

    async function echo(pair: Pair, data: string | Buffer): Promise<void> {
      pair.subject.send(data);
      const reply = await pair.subject.next();
      assert.equal(reply.isBinary, Buffer.isBuffer(data), 'message type survives the echo');
      if (Buffer.isBuffer(data)) {
        assert.ok(Buffer.isBuffer(reply.data));
        assert.equal(reply.data.length, data.length);
        assert.ok(reply.data.equals(data), 'binary payload survives the echo');
      } else {
        assert.equal(typeof reply.data, 'string');
        assert.equal((reply.data as string).length, data.length);
        assert.ok(reply.data === data, 'text payload survives the echo');
      }
    }

    // ---- handshake -------------------------------------------------------------------------

    test('both ends agree on the subprotocol the server chose (chat.v1 over chat.v2)', async () => {
      const pair = await open();
      assert.equal(pair.subject.protocol(), 'chat.v1');
      assert.equal(pair.info.protocol, 'chat.v1');
    });

    test('no subprotocol is selected when the client offers none', async () => {
      const pair = await open([]);
      assert.equal(pair.subject.protocol(), '');
      assert.equal(pair.info.protocol, '');
    });

    const { expectDeflate, tokens = [] } = target.config;
    test(
      expectDeflate === true
        ? `negotiates permessage-deflate${tokens.length ? ` with ${tokens.join(', ')}` : ''}`
        : expectDeflate === false
          ? 'negotiates no extension'
          : 'either declines permessage-deflate or negotiates it consistently',
      async (t) => {
        const pair = await sharedPair();
        const ours = pair.subject.extensions() ?? '';
        const theirs = pair.info.extensions; // null: the peer does not report it (uWS)
        const both = `${ours} ${theirs ?? ''}`;
        if (expectDeflate === true) {
          assert.match(ours, /permessage-deflate/, `sockwave side reports "${ours}"`);
          if (theirs !== null) assert.match(theirs, /permessage-deflate/, `peer side reports "${theirs}"`);
          for (const token of tokens) assert.ok(both.includes(token), `"${token}" negotiated (got "${both}")`);
        } else if (expectDeflate === false) {
          assert.doesNotMatch(ours, /permessage-deflate/);
          if (theirs !== null) assert.doesNotMatch(theirs, /permessage-deflate/);
        } else if (theirs !== null) {
          t.diagnostic(`negotiated: sockwave "${ours}", peer "${theirs}"`);
          assert.equal(/permessage-deflate/.test(ours), /permessage-deflate/.test(theirs), `both sides agree ("${ours}" / "${theirs}")`);
        }
      },
    );

    test(
      expectDeflate === false ? 'sends 1 MiB of text uncompressed on the wire' : 'compresses what it sends when permessage-deflate is negotiated',
      async (t) => {
        const pair = await sharedPair();
        const isNegotiated = /permessage-deflate/.test(pair.subject.extensions() ?? '');
        const before = target.wireBytes!()!;
        await echo(pair, pattern(1024 * 1024));
        const after = target.wireBytes!()!;
        const sent = after.bytesOut - before.bytesOut;
        const received = after.bytesIn - before.bytesIn;
        t.diagnostic(`1 MiB text: sockwave wrote ${sent} bytes, read ${received} bytes (deflate ${isNegotiated ? 'on' : 'off'})`);
        if (isNegotiated) assert.ok(sent < 256 * 1024, `sockwave wrote ${sent} bytes for 1 MiB of repetitive text`);
        else assert.ok(sent > 1024 * 1024, `sockwave wrote ${sent} bytes`);
      },
      !target.wireBytes && 'only sockwave servers report wire bytes (stats())',
    );

    // ---- messages --------------------------------------------------------------------------

    for (const size of SIZES) {
      test(`echoes a text message of ${size} bytes`, async () => echo(await sharedPair(), pattern(size)));
      test(`echoes a binary message of ${size} bytes`, async () => echo(await sharedPair(), randomBytes(size)));
    }

    test('echoes multi-byte UTF-8 text (2, 3 and 4-byte sequences) across a 16-bit length', async () => {
      const text = 'héllo ✓ 世界 🎉 '.repeat(4000);
      assert.ok(Buffer.byteLength(text) > 65535);
      await echo(await sharedPair(), text);
    });

    test('keeps the order of 200 mixed text and binary messages sent back to back', async () => {
      const pair = await sharedPair();
      const sent = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? randomBytes(i * 37) : `message ${i} ${pattern(i * 11)}`));
      for (const data of sent) pair.subject.send(data);
      for (const [i, data] of sent.entries()) {
        const reply = await pair.subject.next();
        assert.equal(reply.isBinary, Buffer.isBuffer(data), `message ${i} type`);
        assert.ok(Buffer.isBuffer(data) ? (reply.data as Buffer).equals(data) : reply.data === data, `message ${i} in order`);
      }
    });

    // ---- fragments -------------------------------------------------------------------------

    const noPeerFragments = !target.peerCanFragment && `${target.peer} cannot send fragmented messages from its API`;
    test(
      'receives a text message the peer sends in 10 fragments',
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}fragments text 10 1000`);
        const reply = await pair.subject.next();
        assert.equal(reply.isBinary, false);
        assert.equal(reply.data, pattern(1000));
      },
      noPeerFragments,
    );
    test(
      'receives a binary message of 100,000 bytes the peer sends in 1,000 fragments',
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}fragments binary 1000 100000`);
        const reply = await pair.subject.next();
        assert.equal(reply.isBinary, true);
        assert.ok((reply.data as Buffer).equals(Buffer.from(pattern(100000))));
      },
      noPeerFragments,
    );
    test(
      'receives an empty text message the peer sends as 3 empty fragments',
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}fragments text 3 0`);
        const reply = await pair.subject.next();
        assert.deepEqual(reply, { data: '', isBinary: false });
      },
      noPeerFragments,
    );

    test(
      'receives a text message of 1-4 byte UTF-8 sequences the peer cuts into 7 fragments',
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}fragments utf8 7 1000`);
        const reply = await pair.subject.next();
        assert.equal(reply.isBinary, false);
        assert.equal(reply.data, utf8Pattern(1000));
      },
      noPeerFragments,
    );
    test(
      'answers a ping the peer sends between two fragments and reassembles the message',
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}fragments-ping 4 4000`);
        const replies = [await pair.subject.next(), await pair.subject.next()];
        const message = replies.find((r) => r.isBinary);
        assert.ok(message, 'the fragmented message arrived');
        assert.ok((message.data as Buffer).equals(Buffer.from(pattern(4000))));
        assert.ok(replies.some((r) => r.data === '#pong mid'), 'the peer got its pong');
      },
      (!target.peerCanFragment || !target.peerCanPing) && `${target.peer} cannot interleave a ping with fragments from its API`,
    );
    test(
      'sends a ping between two fragments of its own message; the peer answers it and reassembles the message',
      async () => {
        const pair = await sharedPair();
        const data = Buffer.from(pattern(3000));
        pair.subject.send(data.subarray(0, 1000), { fin: false });
        pair.subject.ping(Buffer.from('between'));
        pair.subject.send(data.subarray(1000, 2000), { fin: false, binary: true });
        pair.subject.send(data.subarray(2000), { fin: true, binary: true });
        const [pong, reply] = await Promise.all([pair.subject.nextPong(), pair.subject.next()]);
        assert.equal(pong.toString(), 'between');
        assert.ok(reply.isBinary && (reply.data as Buffer).equals(data));
      },
      !target.subjectCanFragment && 'a WHATWG WebSocket cannot send fragments',
    );

    test(
      'sends a text message in 5 fragments (split inside a UTF-8 sequence) that the peer reassembles',
      async () => {
        const pair = await sharedPair();
        const text = `${pattern(300)}✓${pattern(300)}`;
        // Split the bytes so a fragment boundary falls inside "✓" (3 bytes):
        // only the message as a whole must be valid UTF-8 (RFC 6455 §8.1).
        const bytes = Buffer.from(text);
        const cut = bytes.indexOf(Buffer.from('✓')) + 1;
        const parts = [bytes.subarray(0, 100), bytes.subarray(100, cut), bytes.subarray(cut, cut + 1), bytes.subarray(cut + 1, 500), bytes.subarray(500)];
        parts.forEach((part, i) => pair.subject.send(part, { binary: false, fin: i === parts.length - 1 }));
        const reply = await pair.subject.next();
        assert.equal(reply.data, text);
      },
      !target.subjectCanFragment && 'a WHATWG WebSocket cannot send fragments',
    );

    // ---- ping/pong -------------------------------------------------------------------------

    test(
      "answers the peer's ping with a pong carrying the same payload",
      async () => {
        const pair = await sharedPair();
        pair.subject.send(`${CMD}ping hello-123`);
        const reply = await pair.subject.next();
        assert.equal(reply.data, '#pong hello-123');
      },
      !target.peerCanPing && `${target.peer} cannot send pings from its API`,
    );

    test(
      'gets a pong with the same 125-byte payload for its own ping',
      async () => {
        const pair = await sharedPair();
        const payload = randomBytes(125);
        pair.subject.ping(payload);
        const pong = await pair.subject.nextPong();
        assert.ok(pong.equals(payload));
      },
      !target.subjectCanPing && 'a WHATWG WebSocket cannot ping',
    );

    // ---- closing ---------------------------------------------------------------------------

    test('sockwave starts the close with 4001 and a reason; both ends report them', async () => {
      const pair = await open();
      pair.subject.close(4001, 'bye ✓');
      const [peerSaw, subjectSaw] = await Promise.all([pair.peerClosed, pair.subject.closed]);
      assert.deepEqual(peerSaw, { code: 4001, reason: 'bye ✓' });
      assert.equal(subjectSaw.code, 4001, 'the peer echoed the code');
    });

    test('the peer starts the close with 4002 and a reason; both ends report them', async () => {
      const pair = await open();
      pair.subject.send(`${CMD}close 4002 peer says bye ✓`);
      const [peerSaw, subjectSaw] = await Promise.all([pair.peerClosed, pair.subject.closed]);
      assert.deepEqual(subjectSaw, { code: 4002, reason: 'peer says bye ✓' });
      assert.equal(peerSaw.code, 4002, 'sockwave echoed the code');
    });

    test('a close frame without a code is reported as 1005 by the receiving end', async () => {
      const pair = await open();
      pair.subject.close();
      const [peerSaw, subjectSaw] = await Promise.all([pair.peerClosed, pair.subject.closed]);
      assert.equal(peerSaw.code, 1005);
      assert.equal(subjectSaw.code, 1005);
    });

    test('the server starts the close with 1001 "going away" and the client reports it', async () => {
      const pair = await open();
      if (target.role === 'server') pair.subject.close(1001, 'going away');
      else pair.subject.send(`${CMD}close 1001 going away`);
      const clientSaw = await (target.role === 'server' ? pair.peerClosed : pair.subject.closed);
      assert.deepEqual(clientSaw, { code: 1001, reason: 'going away' });
    });
  });
}
