/**
 * What a WHATWG WebSocket leaves behind for the garbage collector: one that
 * waited for its turn to connect and was closed must not outlive the next
 * young-generation GC (src/web/establish-queue.ts keeps its tickets on the
 * queue's entries; a WeakMap of them kept ~1.9 KB per WebSocket alive).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSurvivorsChild } from '../support/young-survivors.js';

const here = path.dirname(fileURLToPath(import.meta.url));

test('WebSockets closed while waiting for their turn leave (almost) nothing that survives a young-generation GC', (t) => {
  // The limit was measured with Node 20.20's V8.
  if (!process.versions.node.startsWith('20.20.')) return t.skip(`Node ${process.versions.node}: the limit was measured on Node 20.20`);
  const result = runSurvivorsChild<{ survived: number }>(path.join(here, 'fixtures', 'websocket-survivors-child.ts'));
  assert.ok(result !== undefined);
  const { survived } = result;
  t.diagnostic(`bytes per closed WebSocket surviving a scavenge: ${survived.toFixed(0)}`);
  // Measured: 175-181 with the tickets on the entries, 1,943-1,947 with the WeakMap.
  assert.ok(survived < 600, `${survived.toFixed(0)} B per WebSocket survive a scavenge`);
});
