// Interop: sockwave connect() and WebSocket -> uWebSockets.js server.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { behaviourSuite } from './behaviour.js';
import { record } from './matrix.js';
import { ALL_CONFIGS, clientTargets, peers } from './sockwave-targets.js';
import { sockwaveConnectSubject } from './subjects.js';

// uWebSockets.js ignores a server_no_context_takeover request (it answers
// "permessage-deflate" without it), so the "sockwave asks no context takeover"
// config is tested for its failure below instead of in the behaviour suite.
// uWS maps options to compressor presets: SHARED_COMPRESSOR is its "server no context takeover".
const configs = [
  ...ALL_CONFIGS.filter((c) => !c.name.includes('no context takeover')),
  {
    name: 'deflate, uWS shared compressor (server_no_context_takeover)',
    ours: {},
    peer: { serverNoContextTakeover: true },
    expectDeflate: true,
    tokens: ['server_no_context_takeover'],
  },
];
for (const target of clientTargets(peers.uwsServer, configs)) behaviourSuite(target);

it('sockwave connect() fails the handshake when uWebSockets.js accepts permessage-deflate without the server_no_context_takeover it was asked for (RFC 7692 §7.1.1.1)', async () => {
  const key = { peer: 'uWebSockets.js', direction: 'sockwave connect() -> uWebSockets.js', config: 'deflate, sockwave asks no context takeover (uWS drops it)' };
  const server = await peers.uwsServer.start({ deflate: {} });
  try {
    await assert.rejects(
      sockwaveConnectSubject.connect(server.url, { protocols: [], deflate: { serverNoContextTakeover: true } }),
      /server_no_context_takeover/,
    );
    record(key, 'pass');
  } catch (error) {
    record(key, 'fail', String(error));
    throw error;
  } finally {
    await server.stop();
  }
});
