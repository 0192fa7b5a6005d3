/**
 * In-process peers from npm: `ws` (client and server), undici 7's WebSocket
 * client, uWebSockets.js (server). Each one runs the echo bot.
 */
import { createRequire } from 'node:module';
import { createServer as createHttpsServer } from 'node:https';
import { Agent as UndiciAgent, WebSocket as UndiciWebSocket } from 'undici';
import { WebSocket as WsSocket, WebSocketServer as WsServer } from 'ws';
import { pattern, runBot, split, utf8Pattern } from './bot-protocol.js';
import { type CloseInfo, type NodeStyleSocket, whenOpen, wrapNodeSocket, wrapWhatwgSocket } from './endpoint.js';
import { chooseProtocol, type DeflateConfig, type PeerClient, type PeerServer, type RunningPeerServer } from './targets.js';

/** ws's perMessageDeflate option from a DeflateConfig (same names, ws clamps 8 to 9 itself). */
export function wsDeflate(config: DeflateConfig | false): false | Record<string, unknown> {
  if (config === false) return false;
  return { ...config };
}

export const wsClientPeer: PeerClient = {
  name: 'ws',
  canFragment: true,
  canPing: true,
  isConfigurable: true,
  canDisableDeflate: true,
  async connect(url, { protocols, deflate, tls }) {
    const socket = new WsSocket(url, protocols, { perMessageDeflate: wsDeflate(deflate) as never, ...(tls ? { ca: tls.cert } : {}) });
    const endpoint = wrapNodeSocket(socket as unknown as NodeStyleSocket, 'ws client');
    await whenOpen(socket);
    runBot(endpoint, 'ws-client');
    return {
      closed: endpoint.closed,
      async dispose() {
        socket.terminate();
      },
    };
  },
};

/** Keeps each connection's close, by id, for RunningPeerServer.closed(). */
class ClosedById {
  private readonly waits = new Map<string, { promise: Promise<CloseInfo>; resolve: (c: CloseInfo) => void }>();
  private entry(id: number | string) {
    const key = String(id);
    let entry = this.waits.get(key);
    if (!entry) {
      let resolve!: (c: CloseInfo) => void;
      const promise = new Promise<CloseInfo>((r) => (resolve = r));
      entry = { promise, resolve };
      this.waits.set(key, entry);
    }
    return entry;
  }
  resolve(id: number | string, info: CloseInfo): void {
    this.entry(id).resolve(info);
  }
  get(id: number | string): Promise<CloseInfo> {
    return this.entry(id).promise;
  }
}
export { ClosedById };

export const wsServerPeer: PeerServer = {
  name: 'ws',
  canFragment: true,
  canPing: true,
  isConfigurable: true,
  async start({ deflate, tls }): Promise<RunningPeerServer> {
    // wss://: ws attaches to an https server we listen on ourselves.
    const https = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }) : undefined;
    const common = { perMessageDeflate: wsDeflate(deflate) as never, handleProtocols: (offered: Set<string>) => chooseProtocol(offered) };
    const server = https ? new WsServer({ server: https, ...common }) : new WsServer({ host: '127.0.0.1', port: 0, ...common });
    if (https) await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    else await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const closed = new ClosedById();
    let nextId = 1;
    server.on('connection', (socket) => {
      const id = nextId++;
      const endpoint = wrapNodeSocket(socket as unknown as NodeStyleSocket, `ws server #${id}`);
      runBot(endpoint, id);
      void endpoint.closed.then((info) => closed.resolve(id, info));
    });
    const { port } = (https ?? server).address() as { port: number };
    return {
      url: `${https ? 'wss' : 'ws'}://127.0.0.1:${port}/`,
      closed: (id) => closed.get(id),
      async stop() {
        for (const client of server.clients) client.terminate();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (https) await new Promise<void>((resolve) => https.close(() => resolve()));
      },
    };
  },
};

export const undiciClientPeer: PeerClient = {
  name: 'undici',
  canFragment: false,
  canPing: false,
  // undici 7 always offers "permessage-deflate; client_max_window_bits" and never compresses.
  isConfigurable: false,
  canDisableDeflate: false,
  async connect(url, { protocols, tls }) {
    // wss://: an undici Agent that trusts the throwaway certificate.
    const dispatcher = tls ? new UndiciAgent({ connect: { ca: tls.cert } }) : undefined;
    const socket = new UndiciWebSocket(url, dispatcher ? { protocols, dispatcher } : protocols);
    const endpoint = wrapWhatwgSocket(socket as never, 'undici client');
    await whenOpen(socket as unknown as EventTarget);
    runBot(endpoint, 'undici-client');
    return {
      closed: endpoint.closed,
      async dispose() {
        if (socket.readyState < 2) socket.close();
      },
    };
  },
};

// uWebSockets.js ships CommonJS with a native addon; its typings are loose enough to use `any` here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Uws = any;
let uwsModule: Uws | undefined;
function loadUws(): Uws {
  uwsModule ??= createRequire(import.meta.url)('uwebsockets');
  return uwsModule;
}

interface UwsUserData {
  id: number;
  protocol: string;
  extensions: string;
}

/** uWebSockets.js's window sizes come as named compressor presets; pick one per config. */
function uwsCompression(uws: Uws, deflate: DeflateConfig | false): number {
  if (deflate === false) return uws.DISABLED;
  const bits = typeof deflate.serverMaxWindowBits === 'number' ? deflate.serverMaxWindowBits : 15;
  const compressor = bits <= 9 ? uws.DEDICATED_COMPRESSOR_3KB : bits <= 12 ? uws.DEDICATED_COMPRESSOR_32KB : uws.DEDICATED_COMPRESSOR_256KB;
  const shared = deflate.serverNoContextTakeover ? uws.SHARED_COMPRESSOR : compressor;
  return shared | uws.DEDICATED_DECOMPRESSOR;
}

export const uwsServerPeer: PeerServer = {
  name: 'uWebSockets.js',
  canFragment: true,
  canPing: true,
  isConfigurable: true,
  async start({ deflate }): Promise<RunningPeerServer> {
    const uws = loadUws();
    const closed = new ClosedById();
    const open = new Set<Uws>();
    let nextId = 1;
    const send = (ws: Uws, data: string | Buffer, isBinary: boolean) => ws.send(data, isBinary, true);
    const app = uws.App().ws('/*', {
      compression: uwsCompression(uws, deflate),
      maxPayloadLength: 16 * 1024 * 1024,
      maxBackpressure: 64 * 1024 * 1024,
      idleTimeout: 0,
      sendPingsAutomatically: false,
      upgrade(res: Uws, req: Uws, context: Uws) {
        const offered = req
          .getHeader('sec-websocket-protocol')
          .split(',')
          .map((p: string) => p.trim())
          .filter(Boolean);
        const protocol = chooseProtocol(offered) || '';
        const data: UwsUserData = { id: nextId++, protocol, extensions: '' };
        res.upgrade(
          data,
          req.getHeader('sec-websocket-key'),
          protocol,
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open(ws: Uws) {
        open.add(ws);
      },
      message(ws: Uws, message: ArrayBuffer, isBinary: boolean) {
        const bytes = Buffer.from(new Uint8Array(message)); // copy: uWS reuses the buffer after return
        const data = ws.getUserData() as UwsUserData;
        const text = bytes.toString('utf8');
        if (isBinary || !text.startsWith('#cmd ')) {
          send(ws, isBinary ? bytes : text, isBinary);
          return;
        }
        const words = text.slice(5).split(' ');
        switch (words[0]) {
          case 'info':
            // uWS does not expose the negotiated extensions header; null = "not reported".
            send(ws, `#info ${JSON.stringify({ id: data.id, protocol: data.protocol, extensions: null })}`, false);
            break;
          case 'fragments':
          case 'fragments-ping': {
            const withPing = words[0] === 'fragments-ping';
            const kind = withPing ? 'binary' : words[1];
            const count = Number(withPing ? words[1] : words[2]);
            const size = Number(withPing ? words[2] : words[3]);
            const payload = Buffer.from(kind === 'utf8' ? utf8Pattern(size) : pattern(size));
            const isBin = kind === 'binary';
            const parts = split(payload, count);
            ws.sendFirstFragment(parts[0], isBin, false);
            if (withPing) {
              (data as UwsUserData & { pendingPong?: string }).pendingPong = 'mid';
              ws.ping('mid');
            }
            for (let i = 1; i < parts.length - 1; i++) ws.sendFragment(parts[i], false);
            ws.sendLastFragment(parts[parts.length - 1], false);
            break;
          }
          case 'ping': {
            const payload = words.slice(1).join(' ');
            (data as UwsUserData & { pendingPong?: string }).pendingPong = payload;
            ws.ping(payload);
            break;
          }
          case 'close':
            ws.end(Number(words[1]), words.slice(2).join(' '));
            break;
          case 'close-nocode':
            ws.end();
            break;
          default:
            send(ws, `#error unknown command ${words[0]}`, false);
        }
      },
      pong(ws: Uws) {
        const data = ws.getUserData() as UwsUserData & { pendingPong?: string };
        if (data.pendingPong !== undefined) {
          const payload = data.pendingPong;
          data.pendingPong = undefined;
          send(ws, `#pong ${payload}`, false);
        }
      },
      close(ws: Uws, code: number, message: ArrayBuffer) {
        open.delete(ws);
        const data = ws.getUserData() as UwsUserData;
        closed.resolve(data.id, { code, reason: Buffer.from(new Uint8Array(message)).toString('utf8') });
      },
    });
    const token = await new Promise<Uws>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (t: Uws) => (t ? resolve(t) : reject(new Error('uWS could not listen')))),
    );
    const port = uws.us_socket_local_port(token) as number;
    return {
      url: `ws://127.0.0.1:${port}/`,
      closed: (id) => closed.get(id),
      async stop() {
        uws.us_listen_socket_close(token);
        for (const ws of open) ws.close();
        open.clear();
      },
    };
  },
};
