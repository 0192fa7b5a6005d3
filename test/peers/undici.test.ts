// Interop: sockwave server <- undici 7 WebSocket (which offers permessage-deflate and never compresses).
import { behaviourSuite } from './behaviour.js';
import { peers, serverTargets } from './sockwave-targets.js';

for (const target of serverTargets(peers.undiciClient)) behaviourSuite(target);
