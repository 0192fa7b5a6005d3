// sockwave/core exports exactly the documented API (docs/core.md): adding a
// runtime name to src/core/index.ts is a decision, made here and in the doc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const DOCUMENTED = [
  'CloseCode',
  'ClientHandshake',
  'Connection',
  'ConnectionClosedError',
  'DEFAULTS',
  'DEFLATE_DEFAULTS',
  'ErrorCode',
  'HandshakeError',
  'MAX_CLOSE_REASON_BYTES',
  'MAX_CONTROL_PAYLOAD_BYTES',
  'MessageTooLargeError',
  'Opcode',
  'ProtocolError',
  'ReadyState',
  'RequestHeadParser',
  'ResponseHeadParser',
  'ServerHandshake',
  'SockwaveError',
  'TimeoutError',
  'encodeFrame',
  'fixedMaskSource',
];

test('sockwave/core exports the documented runtime names and nothing else', async () => {
  const core = await import('../../src/core/index.js');
  assert.deepEqual(Object.keys(core).sort(), [...DOCUMENTED].sort());
});

test('internals stay out of the barrel', async () => {
  const core: Record<string, unknown> = await import('../../src/core/index.js');
  for (const name of ['readKey', 'applyMask', 'writeHeader', 'trimOws', 'asBuffer', 'COPY_THRESHOLD_BYTES', 'writeFrame', 'MessageAssembler', 'validateLimit']) {
    assert.equal(name in core, false, `${name} is internal`);
  }
});

test('docs/core.md has a heading or a table row for every exported runtime name', () => {
  const doc = readFileSync(new URL('../../docs/core.md', import.meta.url), 'utf8');
  const missing = DOCUMENTED.filter((name) => !new RegExp('`(new )?' + name + '[`(. ]').test(doc));
  assert.deepEqual(missing, []);
});
