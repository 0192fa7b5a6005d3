import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { viewOf } from '../../src/core/buffer-view.js';

test('a view is a Buffer to every check an application might make, and shares the memory it views', () => {
  const source = Buffer.from('hello, websocket world');
  const view = viewOf(source.buffer, source.byteOffset + 7, 9);
  assert.equal(Buffer.isBuffer(view), true);
  assert.ok(view instanceof Buffer);
  assert.ok(view instanceof Uint8Array);
  assert.equal(view.constructor, Buffer);
  assert.equal(Object.getPrototypeOf(view), Buffer.prototype);
  // Strict deep equality compares prototypes: apps' tests compare received messages this way.
  assert.deepStrictEqual(view, Buffer.from('websocket'));
  assert.equal(view.toString(), 'websocket');
  assert.equal(view.toString('base64'), Buffer.from('websocket').toString('base64'));
  assert.ok(view.equals(Buffer.from('websocket')));
  assert.equal(Buffer.compare(view, Buffer.from('websocket')), 0);
  assert.equal(inspect(view), inspect(Buffer.from('websocket')));
  assert.equal(JSON.stringify(view), JSON.stringify(Buffer.from('websocket')));
  assert.equal(view.readUInt16BE(0), 0x7765);
  // subarray() and slice() give ordinary Buffers over the same memory.
  const sub = view.subarray(3);
  assert.equal(Object.getPrototypeOf(sub), Buffer.prototype);
  assert.equal(sub.toString(), 'socket');
  view[0] = 0x57;
  assert.equal(source.toString(), 'hello, Websocket world');
  assert.equal(Buffer.concat([view, Buffer.from('!')]).toString(), 'Websocket!');
});
