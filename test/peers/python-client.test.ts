// Interop: sockwave server <- python3-websockets client, with and without permessage-deflate.
import { behaviourSuite } from './behaviour.js';
import { peers, pythonSkip, serverTargets } from './sockwave-targets.js';

for (const target of serverTargets(peers.pythonClient, undefined, pythonSkip())) behaviourSuite(target);
