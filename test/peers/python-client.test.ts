// Interop: sockwave server <- python3-websockets client, with and without permessage-deflate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPythonClient } from './python.js';
import { loadSockwave } from './subjects.js';
import { behaviourSuite } from './behaviour.js';
import { peers, pythonSkip, serverTargets } from './sockwave-targets.js';

for (const target of serverTargets(peers.pythonClient, undefined, pythonSkip())) behaviourSuite(target);

// Origin policy against a real non-browser client that sends an Origin (issue 6).

test('sockwave server with allowedOrigins refuses python-websockets sending a foreign Origin with 403 and accepts a listed one', { skip: pythonSkip() }, async () => {
  const { WebSocketServer } = await loadSockwave('node/server/server');
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, allowedOrigins: ['https://app.example'] });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
  try {
    await assert.rejects(startPythonClient(url, { protocols: [], deflate: false, origin: 'https://evil.example' }), /403/);
    const listed = await startPythonClient(url, { protocols: [], deflate: false, origin: 'https://app.example' });
    assert.equal(listed.open.event, 'open');
    await listed.stop();
  } finally {
    server.close();
  }
});
