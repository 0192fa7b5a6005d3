/**
 * The interop matrix for sockwave (issues 3 and 4), as lists of targets; each
 * *.test.ts file in this folder runs a slice of it so every file stays short.
 */
import { chromiumClientPeer, chromiumSkipReason } from './chromium.js';
import { undiciClientPeer, uwsServerPeer, wsClientPeer, wsServerPeer } from './node-peers.js';
import { pythonClientPeer, pythonServerPeer, pythonSkipReason } from './python.js';
import {
  sockwaveConnectSubject,
  sockwaveServerSubject,
  sockwaveWhatwgSubject,
} from './subjects.js';
import {
  clientTarget,
  DEFLATE_CONFIGS,
  type InteropConfig,
  type PeerClient,
  type PeerServer,
  PLAIN,
  serverTarget,
  type Target,
} from './targets.js';

export const ALL_CONFIGS: InteropConfig[] = [PLAIN, ...DEFLATE_CONFIGS];

function withSkip(target: Target, reason: string | undefined): Target {
  return reason && !target.skip ? { ...target, skip: reason } : target;
}

/** sockwave's server against a peer client, under each config. */
export function serverTargets(peer: PeerClient, configs = ALL_CONFIGS, skip?: string): Target[] {
  return configs.map((config) => withSkip(serverTarget(sockwaveServerSubject, peer, config), skip));
}

/** sockwave's connect() and WHATWG client against a peer server, under each config. */
export function clientTargets(peer: PeerServer, configs = ALL_CONFIGS, skip?: string): Target[] {
  return configs.flatMap((config) => [
    withSkip(clientTarget(sockwaveConnectSubject, peer, config), skip),
    withSkip(clientTarget(sockwaveWhatwgSubject, peer, config), skip),
  ]);
}

export const pythonSkip = (): string | undefined => pythonSkipReason();

export const peers = {
  wsClient: wsClientPeer,
  wsServer: wsServerPeer,
  undiciClient: undiciClientPeer,
  uwsServer: uwsServerPeer,
  pythonClient: pythonClientPeer,
  pythonServer: pythonServerPeer,
  chromiumClient: chromiumClientPeer,
  chromiumSkip: chromiumSkipReason,
};
