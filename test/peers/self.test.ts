// sockwave against itself: server <- connect() and <- WebSocket, under every compression config.
import { behaviourSuite } from './behaviour.js';
import { serverTarget } from './targets.js';
import { ALL_CONFIGS } from './sockwave-targets.js';
import { sockwaveConnectSubject, sockwaveServerSubject, sockwaveWhatwgSubject } from './subjects.js';
import type { DeflateConfig, PeerClient } from './targets.js';
import { runBot } from './bot-protocol.js';

/** A sockwave client as the echo-bot peer. */
function sockwaveClientPeer(subject: typeof sockwaveConnectSubject): PeerClient {
  return {
    name: subject.name,
    canFragment: !subject.isWhatwg,
    canPing: !subject.isWhatwg,
    isConfigurable: true,
    canDisableDeflate: true,
    async connect(url: string, o: { protocols: string[]; deflate: DeflateConfig | false }) {
      const endpoint = await subject.connect(url, o);
      runBot(endpoint, subject.name);
      return { closed: endpoint.closed, dispose: async () => endpoint.terminate() };
    },
  };
}

for (const client of [sockwaveConnectSubject, sockwaveWhatwgSubject]) {
  for (const config of ALL_CONFIGS) behaviourSuite(serverTarget(sockwaveServerSubject, sockwaveClientPeer(client), config));
}
