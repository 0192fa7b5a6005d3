// Interop: sockwave server <- ws client, sockwave clients -> ws server, with and without permessage-deflate.
import { behaviourSuite } from './behaviour.js';
import { clientTargets, peers, serverTargets } from './sockwave-targets.js';

for (const target of [...serverTargets(peers.wsClient), ...clientTargets(peers.wsServer)]) behaviourSuite(target);
