/**
 * The harness's own check: the behaviour suite, the bots and the peer
 * launchers must pass with `ws` and undici as subjects before their verdicts
 * on sockwave mean anything. A failure here is a harness bug, not a sockwave one.
 */
import { behaviourSuite } from './behaviour.js';
import { chromiumClientPeer, chromiumSkipReason } from './chromium.js';
import { uwsServerPeer } from './node-peers.js';
import { pythonClientPeer, pythonServerPeer, pythonSkipReason } from './python.js';
import { undiciSubject, wsClientSubject, wsServerSubject } from './subjects.js';
import { clientTarget, DEFLATE_CONFIGS, PLAIN, serverTarget, type Target } from './targets.js';

const noPython = pythonSkipReason();
const withSkip = (target: Target, reason: string | undefined): Target => (reason ? { ...target, skip: reason } : target);

for (const config of [PLAIN, DEFLATE_CONFIGS[0], DEFLATE_CONFIGS[3]]) {
  behaviourSuite(withSkip(serverTarget(wsServerSubject, pythonClientPeer, config), noPython));
  behaviourSuite(withSkip(clientTarget(wsClientSubject, pythonServerPeer, config), noPython));
}
behaviourSuite(withSkip(clientTarget(undiciSubject, pythonServerPeer, DEFLATE_CONFIGS[0]), noPython));
behaviourSuite(clientTarget(wsClientSubject, uwsServerPeer, DEFLATE_CONFIGS[0]));
behaviourSuite(withSkip(serverTarget(wsServerSubject, chromiumClientPeer(), DEFLATE_CONFIGS[0]), chromiumSkipReason()));
