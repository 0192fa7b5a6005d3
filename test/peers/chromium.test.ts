// Interop: sockwave server <- headless Chromium's WebSocket (always offers permessage-deflate; client_max_window_bits).
import { behaviourSuite } from './behaviour.js';
import { peers, serverTargets } from './sockwave-targets.js';

// One browser for the whole file: the peer launches lazily and each target stops it.
for (const target of serverTargets(peers.chromiumClient(), undefined, peers.chromiumSkip())) behaviourSuite(target);
