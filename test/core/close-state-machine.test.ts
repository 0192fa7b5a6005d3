import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConnectionClosedError, SockwaveError } from '../../src/core/errors.js';
import { decodeWritten, frameFor, record } from './support.js';

type Role = 'client' | 'server';

/** Everything that can happen to a connection, from the app, the peer or the transport. */
const step = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), text: fc.string({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant('ping' as const) }),
  fc.record({ kind: fc.constant('close' as const), code: fc.constantFrom(undefined, 1000, 1001, 4000) }),
  fc.record({ kind: fc.constant('fail' as const), code: fc.constantFrom(1002, 1006, 1008, 1011) }),
  fc.record({ kind: fc.constant('peerData' as const) }),
  fc.record({ kind: fc.constant('peerPing' as const) }),
  fc.record({ kind: fc.constant('peerClose' as const), code: fc.constantFrom(undefined, 1000, 1001, 1004, 3000) }),
  fc.record({ kind: fc.constant('peerGarbage' as const) }),
  fc.record({ kind: fc.constant('eof' as const) }),
  fc.record({ kind: fc.constant('transportClosed' as const) }),
);

test('the close state machine keeps its invariants under any sequence of calls and peer input', () => {
  fc.assert(
    fc.property(fc.constantFrom<Role>('client', 'server'), fc.array(step, { maxLength: 14 }), (role, steps) => {
      const r = record({ role });
      const states: number[] = [r.conn.readyState];
      let peerCloseCode: number | undefined;
      for (const s of steps) {
        try {
          switch (s.kind) {
            case 'send':
              r.conn.send(s.text);
              break;
            case 'ping':
              r.conn.ping('p');
              break;
            case 'close':
              r.conn.close(s.code);
              break;
            case 'fail':
              r.conn.fail(s.code);
              break;
            case 'peerData':
              r.conn.receive(frameFor(role, { opcode: 1, payload: 'd' }));
              break;
            case 'peerPing':
              r.conn.receive(frameFor(role, { opcode: 9, payload: 'pp' }));
              break;
            case 'peerClose': {
              const payload = s.code === undefined ? Buffer.alloc(0) : Buffer.from([s.code >> 8, s.code & 0xff]);
              const wasReading = r.types().every((t) => t !== 'close-frame' && t !== 'error' && t !== 'shutdown');
              r.conn.receive(frameFor(role, { opcode: 8, payload }));
              if (wasReading && r.types().includes('close-frame')) peerCloseCode = s.code ?? 1005;
              break;
            }
            case 'peerGarbage':
              r.conn.receive(Buffer.from([0xff, 0xff]));
              break;
            case 'eof':
              r.conn.receiveEof();
              break;
            case 'transportClosed':
              r.conn.transportClosed();
              break;
          }
        } catch (error) {
          // Only documented local misuse may throw: sending when not open.
          assert.ok(['send', 'ping'].includes(s.kind), `${s.kind} threw ${String(error)}`);
          assert.ok(error instanceof ConnectionClosedError || error instanceof SockwaveError);
          assert.notEqual(r.conn.readyState, 1, 'throws only when not OPEN');
        }
        states.push(r.conn.readyState);
      }
      r.conn.transportClosed();
      states.push(r.conn.readyState);

      const types = r.types();
      // readyState never goes back.
      for (let i = 1; i < states.length; i++) assert.ok(states[i] >= states[i - 1], `states ${states}`);
      assert.equal(r.conn.readyState, 3);
      // 'closed' exactly once, last.
      assert.equal(types.filter((t) => t === 'closed').length, 1);
      assert.equal(types.at(-1), 'closed');
      // Shutdown: each mode at most once, never 'await-peer-close' after 'end'.
      const shutdowns = r.events.flatMap((e) => (e.type === 'shutdown' ? [e.mode] : []));
      assert.ok(shutdowns.length <= 2);
      assert.equal(new Set(shutdowns).size, shutdowns.length);
      if (shutdowns.length === 2) assert.deepEqual(shutdowns, ['await-peer-close', 'end']);
      if (role === 'server') assert.ok(!shutdowns.includes('await-peer-close'), 'the server closes TCP first');
      // At most one close frame goes out, and no pong after it.
      const frames = decodeWritten(Buffer.concat(r.writes));
      const closeIndex = frames.findIndex((f) => f.opcode === 8);
      assert.ok(frames.filter((f) => f.opcode === 8).length <= 1);
      if (closeIndex >= 0) assert.ok(frames.slice(closeIndex + 1).every((f) => f.opcode !== 10 && f.opcode !== 1));
      assert.ok(frames.every((f) => f.masked === (role === 'client')));
      // The final report matches what happened on the wire.
      const closed = r.events.at(-1) as { code: number; wasClean: boolean };
      const { sent, received } = r.conn.closeFrames;
      assert.equal(closed.wasClean, sent !== null && received !== null);
      if (peerCloseCode !== undefined && received !== null) assert.equal(closed.code, peerCloseCode);
      if (received === null) assert.equal(closed.code, 1006);
      // At most one error, and only for peer faults.
      assert.ok(types.filter((t) => t === 'error').length <= 1);
    }),
    { numRuns: 3000 },
  );
});
