// Interop: sockwave connect() and WebSocket -> python3-websockets server, with and without permessage-deflate.
import { behaviourSuite } from './behaviour.js';
import { clientTargets, peers, pythonSkip } from './sockwave-targets.js';

for (const target of clientTargets(peers.pythonServer, undefined, pythonSkip())) behaviourSuite(target);
