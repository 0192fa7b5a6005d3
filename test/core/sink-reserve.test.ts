/**
 * ConnectionSink.reserve: small frames written straight into the sink's own
 * buffer must be byte-identical to those handed over with write(), keep wire
 * order with frames that still go through write(), and carry the callback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../src/core/connection.js';
import type { CoreEvent } from '../../src/core/events.js';
import { fixedMaskSource } from '../../src/core/mask.js';
import { MAX_RESERVED_FRAME_BYTES } from '../../src/core/frame-writer.js';

interface Out {
  conn: Connection;
  bytes(): Buffer;
  reserved: number;
  callbacks: number;
}

/** A sink with (or without) reserve(): output collected as one byte string. */
function open(role: 'client' | 'server', withReserve: boolean): Out {
  const parts: Buffer[] = [];
  const area = Buffer.alloc(64 * 1024, 0xee);
  let used = 0;
  let pending: { at: number; bytes: number } | undefined;
  const settle = (): void => {
    if (pending !== undefined) parts.push(Buffer.from(area.subarray(pending.at, pending.at + pending.bytes)));
    pending = undefined;
  };
  const out = { reserved: 0, callbacks: 0 } as Out;
  const sink: Record<string, unknown> = {
    write(data: Buffer, cb?: () => void) {
      settle();
      parts.push(Buffer.from(data));
      if (cb) out.callbacks++;
    },
    event(_event: CoreEvent) {},
  };
  if (withReserve) {
    sink.reserve = (bytes: number, cb?: () => void) => {
      settle();
      pending = { at: used + 3, bytes }; // not at 0: offsets must be honoured
      used += bytes + 3;
      out.reserved++;
      if (cb) out.callbacks++;
      return area;
    };
    Object.defineProperty(sink, 'reservedOffset', { get: () => (pending as { at: number }).at });
  }
  out.conn = new Connection(
    { role, isOpen: true, maskSource: role === 'client' ? fixedMaskSource(Buffer.from([1, 2, 3, 4])) : undefined },
    sink as never,
  );
  out.bytes = () => {
    settle();
    return Buffer.concat(parts);
  };
  return out;
}

function sendMix(conn: Connection): void {
  conn.send('hé', undefined, () => {});
  conn.send(Buffer.from([1, 2, 3]), { isBinary: true });
  conn.send(Buffer.alloc(MAX_RESERVED_FRAME_BYTES, 7), { isBinary: true }); // header makes it too big to reserve
  conn.send(Buffer.alloc(200, 9), { isBinary: true });
  conn.send('', undefined, () => {});
  conn.ping(Buffer.from('p'));
}

for (const role of ['server', 'client'] as const) {
  test(`${role}: frames through reserve() equal frames through write(), in order`, () => {
    const plain = open(role, false);
    const reserving = open(role, true);
    sendMix(plain.conn);
    sendMix(reserving.conn);
    assert.equal(plain.reserved, 0);
    assert.equal(reserving.reserved, 5);
    assert.deepEqual(reserving.bytes(), plain.bytes());
    assert.equal(reserving.callbacks, plain.callbacks);
  });
}
