/**
 * Subjects: the implementations under test, behind the SubjectServer /
 * SubjectClient interfaces of targets.ts. sockwave's are loaded lazily so a
 * part that has not landed yet fails its own targets with a clear message
 * instead of the whole file. `ws` and undici are also subjects, for the
 * harness's self-check (harness.test.ts): the suite must pass on them first.
 */
import { WebSocket as UndiciWebSocket } from 'undici';
import { WebSocket as WsSocket, WebSocketServer as WsServer } from 'ws';
import { type Endpoint, type NodeStyleSocket, type WhatwgSocket, whenOpen, wrapNodeSocket, wrapWhatwgSocket } from './endpoint.js';
import { wsDeflate } from './node-peers.js';
import { chooseProtocol, type DeflateConfig, type RunningSubjectServer, type SubjectClient, type SubjectServer } from './targets.js';

/** A queue of server-side connections, in arrival order. */
function connectionQueue() {
  const ready: Endpoint[] = [];
  const waiting: Array<(e: Endpoint) => void> = [];
  return {
    push(endpoint: Endpoint) {
      const waiter = waiting.shift();
      if (waiter) waiter(endpoint);
      else ready.push(endpoint);
    },
    next(): Promise<Endpoint> {
      const endpoint = ready.shift();
      return endpoint ? Promise.resolve(endpoint) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

// The ws-style server surface shared by ws and sockwave.
interface WsLikeServer {
  on(event: 'connection', fn: (socket: NodeStyleSocket) => void): unknown;
  once(event: 'listening', fn: () => void): unknown;
  address(): unknown;
  clients?: Set<NodeStyleSocket>;
  close(cb?: (error?: Error) => void): unknown;
}

async function runWsLikeServer(
  server: WsLikeServer,
  label: string,
  tracked: Set<NodeStyleSocket>,
  https?: import('node:https').Server,
): Promise<RunningSubjectServer> {
  const queue = connectionQueue();
  server.on('connection', (socket) => {
    tracked.add(socket);
    socket.on('close', () => tracked.delete(socket));
    queue.push(wrapNodeSocket(socket, label));
  });
  if (https) await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  else if (!server.address()) await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = (https ?? server).address() as { port: number };
  return {
    url: `${https ? 'wss' : 'ws'}://127.0.0.1:${port}/`,
    nextConnection: () => queue.next(),
    async stop() {
      for (const socket of tracked) socket.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (https) await new Promise<void>((resolve) => https.close(() => resolve()));
    },
  };
}

export const wsServerSubject: SubjectServer = {
  name: 'ws server',
  async start({ deflate }) {
    const server = new WsServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: wsDeflate(deflate) as never,
      handleProtocols: (offered) => chooseProtocol(offered),
    });
    return runWsLikeServer(server as unknown as WsLikeServer, 'ws server', new Set());
  },
};

export const wsClientSubject: SubjectClient = {
  name: 'ws client',
  isWhatwg: false,
  canDisableDeflate: true,
  async connect(url, { protocols, deflate }) {
    const socket = new WsSocket(url, protocols, { perMessageDeflate: wsDeflate(deflate) as never });
    const endpoint = wrapNodeSocket(socket as unknown as NodeStyleSocket, 'ws client');
    await whenOpen(socket);
    return endpoint;
  },
};

export const undiciSubject: SubjectClient = {
  name: 'undici WebSocket',
  isWhatwg: true,
  // undici 7 always offers permessage-deflate.
  canDisableDeflate: false,
  async connect(url, { protocols }) {
    const socket = new UndiciWebSocket(url, protocols);
    const endpoint = wrapWhatwgSocket(socket as never, 'undici');
    await whenOpen(socket as unknown as EventTarget);
    return endpoint;
  },
};

// ---- sockwave ---------------------------------------------------------------------------

/**
 * Loads a sockwave module by path. The specifier is a variable on purpose:
 * the typechecker then does not require the module to exist yet (parts land
 * at different times), and the target fails with the loader's message.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function loadSockwave(path: 'node/server/server' | 'node/socket/connect' | 'web/websocket' | 'index'): Promise<any> {
  const specifier = `../../src/${path}.js`;
  return import(specifier);
}

/** sockwave's perMessageDeflate option (same names as ws; `{}` means "on, defaults"). */
export function sockwaveDeflate(config: DeflateConfig | false): false | DeflateConfig {
  return config === false ? false : { ...config };
}

export const sockwaveServerSubject: SubjectServer = {
  name: 'sockwave server',
  reportsWireBytes: true,
  async start({ deflate, tls }) {
    const { WebSocketServer } = await loadSockwave('node/server/server');
    const https = tls ? (await import('node:https')).createServer({ key: tls.key, cert: tls.cert }) : undefined;
    const server = new WebSocketServer({
      ...(https ? { server: https } : { host: '127.0.0.1', port: 0 }),
      perMessageDeflate: sockwaveDeflate(deflate) as never,
      handleProtocols: (offered: Set<string>) => chooseProtocol(offered),
    } as never);
    const running = await runWsLikeServer(server as unknown as WsLikeServer, 'sockwave server', new Set(), https);
    const stats = () => (server as unknown as { stats(): { bytesIn: number; bytesOut: number } }).stats();
    return { ...running, wireBytes: () => ({ bytesIn: stats().bytesIn, bytesOut: stats().bytesOut }) };
  },
};

export const sockwaveConnectSubject: SubjectClient = {
  name: 'sockwave connect()',
  isWhatwg: false,
  canDisableDeflate: true,
  async connect(url, { protocols, deflate, tls }) {
    const { connect } = await loadSockwave('node/socket/connect');
    const options = { protocols, perMessageDeflate: sockwaveDeflate(deflate), ...(tls ? { tls: { ca: tls.cert } } : {}) };
    const socket = connect(url, options as never) as unknown as NodeStyleSocket;
    const endpoint = wrapNodeSocket(socket, 'sockwave connect()');
    await whenOpen(socket);
    return endpoint;
  },
};

export const sockwaveWhatwgSubject: SubjectClient = {
  name: 'sockwave WebSocket',
  isWhatwg: true,
  canDisableDeflate: true,
  async connect(url, { protocols, deflate, tls }) {
    const { WebSocket } = await loadSockwave('web/websocket');
    const options = { perMessageDeflate: sockwaveDeflate(deflate), ...(tls ? { tls: { ca: tls.cert } } : {}) };
    const socket = new WebSocket(url, protocols, options as never) as unknown as WhatwgSocket;
    const endpoint = wrapWhatwgSocket(socket, 'sockwave WebSocket');
    await whenOpen(socket);
    return endpoint;
  },
};
