// Interop over TLS (wss://, issue 3): sockwave server <- ws, undici, python-websockets, Chromium;
// sockwave connect() and WebSocket -> ws and python-websockets servers. Throwaway certificate from tls.ts.
import { after } from 'node:test';
import { behaviourSuite } from './behaviour.js';
import { chromiumClientPeer, chromiumSkipReason } from './chromium.js';
import { undiciClientPeer, wsClientPeer, wsServerPeer } from './node-peers.js';
import { pythonClientPeer, pythonServerPeer } from './python.js';
import { pythonSkip } from './sockwave-targets.js';
import { sockwaveConnectSubject, sockwaveServerSubject, sockwaveWhatwgSubject } from './subjects.js';
import { clientTarget, DEFLATE_CONFIGS, type InteropConfig, PLAIN, serverTarget, type Target } from './targets.js';
import { makeCertificate } from './tls.js';

const tls = makeCertificate();
const noTls = typeof tls === 'string' ? tls : undefined;
const material = typeof tls === 'string' ? undefined : tls;
after(() => material?.remove());

const configs: InteropConfig[] = [PLAIN, DEFLATE_CONFIGS[0]].map((c) => ({ ...c, name: `wss, ${c.name}` }));
const skip = (target: Target, reason: string | undefined): Target => (reason && !target.skip ? { ...target, skip: reason } : target);

for (const config of configs) {
  behaviourSuite(skip(serverTarget(sockwaveServerSubject, wsClientPeer, config, material), noTls));
  behaviourSuite(skip(serverTarget(sockwaveServerSubject, undiciClientPeer, config, material), noTls));
  behaviourSuite(skip(clientTarget(sockwaveConnectSubject, wsServerPeer, config, material), noTls));
  behaviourSuite(skip(clientTarget(sockwaveWhatwgSubject, wsServerPeer, config, material), noTls));
  behaviourSuite(skip(serverTarget(sockwaveServerSubject, pythonClientPeer, config, material), noTls ?? pythonSkip()));
  behaviourSuite(
    skip(serverTarget(sockwaveServerSubject, chromiumClientPeer({ ignoreCertificateErrors: true }), config, material), noTls ?? chromiumSkipReason()),
  );
  behaviourSuite(skip(clientTarget(sockwaveConnectSubject, pythonServerPeer, config, material), noTls ?? pythonSkip()));
  behaviourSuite(skip(clientTarget(sockwaveWhatwgSubject, pythonServerPeer, config, material), noTls ?? pythonSkip()));
}
