// The demo chat room: an HTTP server for demo/public plus a WebSocket endpoint
// at /ws. Kept free of any import from sockwave so tests can pass in the
// server class built from src (via tsx) and `npm start` the one from dist/.
//
// Wire protocol (docs/demo.md has the full table):
//   text frames  = JSON objects with a `type` (hello, text, file-start, file-end)
//   binary frames = one file chunk: [u16 big-endian header length][header JSON
//                   {"id","offset"}][chunk bytes]; relayed unchanged, so the
//                   server never buffers a file.
//
// Shared mode (`shared` given; `npm start` with REDIS_URL): every server on
// the same Redis is one chat. Chat messages and file chunks go through the
// topic ROOM on the server's backplane (socket.publish / wss.publish), so each
// is framed once per server; each server announces its own roster on the topic
// PRESENCE of a second hub (every 5 s and on every change) and merges the
// rosters it hears into the presence list it sends its pages. Every person and
// message carries `server`, the label of the server it came through.
import { createReadStream, promises as fs } from 'node:fs';
import { createServer } from 'node:http';
import { hostname } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};
/** A chunk is at most 256 KiB plus a short header; 1 MiB leaves room and caps memory per message. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_TEXT_CHARS = 4000;
const MAX_NAME_CHARS = 32;
const MAX_FILE_NAME_CHARS = 200;
const ROOM = 'demo/room';
const PRESENCE = 'demo/presence';
/** A server announces its roster this often; a roster not renewed for 3 periods is dropped (its server died). */
const PRESENCE_PERIOD_MS = 5000;
const PRESENCE_TTL_MS = 3 * PRESENCE_PERIOD_MS;

/** The server itself, as the presence hub's only subscriber. */
const PRESENCE_SUBSCRIBER = Object.freeze({ role: 'demo server' });

/** Visible name from user input: trimmed, control characters removed, at most maxChars. */
export function cleanName(raw, fallback, maxChars = MAX_NAME_CHARS) {
  const name = String(raw ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, maxChars);
  return name || fallback;
}

async function serveStatic(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://demo').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const base = resolve(PUBLIC_DIR);
  let file = resolve(join(base, pathname));
  if (file !== base && !file.startsWith(base + sep)) {
    res.writeHead(404).end('not found\n');
    return;
  }
  try {
    if ((await fs.stat(file)).isDirectory()) file = join(file, 'index.html');
    const info = await fs.stat(file);
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  }
}

/**
 * Starts the demo. Resolves once listening with { url, port, server, wss, close(), events }.
 * `events` records what the server saw (joins, closes with code and reason) for tests and logs.
 */
export async function startDemoServer({
  WebSocketServer,
  port = 8080,
  host = '127.0.0.1',
  deflate = false,
  log = () => {},
  shared,
} = {}) {
  const server = createServer((req, res) => void serveStatic(req, res));
  const peers = new Map(); // socket -> { id, name }
  const events = [];
  let nextId = 1;
  /** This server's label in shared mode (DEMO_SERVER_NAME or host:port), set once listening. */
  let label;

  const wss = new WebSocketServer({
    server,
    path: '/ws',
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: deflate ? { threshold: 1024 } : false,
    // Shared mode: the chat travels through the backplane (files included, so
    // keep the history short: it is for recovery, which this demo does not use).
    topics: shared ? { backplane: shared.createBackplane({ historySize: 64 }) } : undefined,
    // sockwave's verify hook: refuse pages from other sites (cross-site
    // WebSocket hijacking) and pick up the name the page asked for.
    verify: ({ request, origin }) => {
      if (origin !== undefined) {
        let originHost;
        try {
          originHost = new URL(origin).host;
        } catch {
          originHost = '';
        }
        if (originHost !== request.headers.host) return { accept: false, status: 403, body: 'origin not allowed\n' };
      }
      const name = new URL(request.url ?? '/', 'http://demo').searchParams.get('name');
      return { accept: true, data: { name } };
    },
  });

  const localRoster = () => [...peers.values()].map(({ id, name }) => (shared ? { id, name, server: label } : { id, name }));
  /**
   * What this server tells the others: only the people whose room subscription is
   * up. Announcing someone earlier would let a person on another server see them
   * online and write to them before their messages can arrive here.
   */
  const announcedRoster = () => [...peers.values()].filter((p) => p.inRoom).map(({ id, name }) => ({ id, name, server: label }));
  /** Shared mode: the rosters other servers announced, by label: { peers, seenAt }. */
  const remote = new Map();
  const roster = () => {
    const all = localRoster();
    for (const { peers: theirs } of remote.values()) all.push(...theirs);
    return all;
  };
  const sendJson = (socket, value) => {
    if (socket.readyState === 1) socket.send(JSON.stringify(value));
  };
  const onPublishError = (error) => log(`! not delivered: ${error.message}`);
  /** To everyone in the chat but `except`: this server's sockets, or in shared mode every server's. */
  const broadcast = (value, except) => {
    if (shared) {
      const text = JSON.stringify(value);
      (except ? except.publish(ROOM, text) : wss.publish(ROOM, text)).catch(onPublishError);
      return;
    }
    for (const socket of peers.keys()) if (socket !== except) sendJson(socket, value);
  };
  /** Presence stays local: each server sends its own pages the merged roster. */
  const broadcastPresence = () => {
    const value = { type: 'presence', peers: roster() };
    for (const socket of peers.keys()) sendJson(socket, value);
  };

  let presenceHub;
  let presenceTimer;
  const announce = (isLeaving = false) => {
    if (!presenceHub) return Promise.resolve();
    const value = { server: label, peers: isLeaving ? [] : announcedRoster(), isLeaving };
    return presenceHub.publish(PRESENCE, JSON.stringify(value)).catch(onPublishError);
  };
  const onPresence = (message) => {
    let value;
    try {
      value = JSON.parse(message.payload.toString('utf8'));
    } catch {
      return;
    }
    if (typeof value?.server !== 'string' || value.server === label || !Array.isArray(value.peers)) return;
    const isNew = !remote.has(value.server);
    if (value.isLeaving) remote.delete(value.server);
    else {
      const theirs = value.peers.slice(0, 1000).map((p) => ({
        id: String(p?.id).slice(0, 100),
        name: cleanName(p?.name, 'guest'),
        server: value.server.slice(0, 100),
      }));
      remote.set(value.server, { peers: theirs, seenAt: Date.now() });
    }
    // A server that just came up has not heard our roster yet.
    if (isNew && !value.isLeaving) void announce();
    broadcastPresence();
  };
  if (shared) {
    wss.on('backplane', (state, cause) => log(state === 'up' ? 'redis: connected' : `redis: unreachable, messages wait (${cause?.message ?? cause})`));
    presenceHub = new shared.TopicHub({
      backplane: shared.createBackplane({ historySize: 1 }),
      deliver: (_topic, message) => onPresence(message),
    });
  }

  wss.on('connection', (socket, request) => {
    const id = shared ? `c${nextId++}@${label}` : `c${nextId++}`;
    const peer = { id, name: cleanName(socket.data?.name, `guest-${id.slice(1)}`), inRoom: false };
    peers.set(socket, peer);
    events.push({ type: 'join', id, name: peer.name });
    log(`+ ${peer.name} (${id}) from ${request.socket.remoteAddress}`);
    if (shared) {
      // The other servers hear of the newcomer once the room reaches this server
      // (see announcedRoster); the page is welcomed at once, Redis up or not.
      socket.subscribe(ROOM).then(
        () => {
          if (!peers.has(socket)) return;
          peer.inRoom = true;
          void announce();
        },
        (error) => {
          log(`! ${peer.name} cannot join the room: ${error.message}`);
          socket.close(1011, 'chat unavailable');
        },
      );
    }
    sendJson(socket, { type: 'welcome', id, name: peer.name, peers: roster(), ...(shared ? { server: label } : {}) });
    broadcast({ type: 'system', text: `${peer.name} joined${shared ? ` on ${label}` : ''}` }, socket);
    broadcastPresence();

    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        // A file chunk: relay unchanged. The receivers match it to the
        // file-start they got from us (same sender socket, same order).
        if (shared) {
          socket.publish(ROOM, data, { binary: true }).catch(onPublishError);
          return;
        }
        for (const other of peers.keys()) {
          if (other !== socket && other.readyState === 1) other.send(data, { binary: true });
        }
        return;
      }
      let message;
      try {
        message = JSON.parse(data.toString('utf8'));
      } catch {
        sendJson(socket, { type: 'error', text: 'messages must be JSON' });
        return;
      }
      const from = shared ? { id: peer.id, name: peer.name, server: label } : { id: peer.id, name: peer.name };
      switch (message?.type) {
        case 'hello': {
          const before = peer.name;
          peer.name = cleanName(message.name, peer.name);
          if (peer.name !== before) {
            broadcast({ type: 'system', text: `${before} is now ${peer.name}` });
            broadcastPresence();
            void announce();
          }
          return;
        }
        case 'text':
          if (typeof message.text !== 'string' || message.text.length > MAX_TEXT_CHARS) {
            sendJson(socket, { type: 'error', text: `text must be a string of at most ${MAX_TEXT_CHARS} characters` });
            return;
          }
          broadcast({ type: 'text', from, text: message.text, at: Date.now() }, socket);
          return;
        case 'file-start':
          broadcast(
            {
              type: 'file-start',
              from,
              id: String(message.id).slice(0, 64),
              name: cleanName(message.name, 'file', MAX_FILE_NAME_CHARS),
              size: Number(message.size) || 0,
              mime: typeof message.mime === 'string' ? message.mime.slice(0, 100) : '',
            },
            socket,
          );
          return;
        case 'file-end':
          broadcast({ type: 'file-end', from, id: String(message.id).slice(0, 64) }, socket);
          return;
        default:
          sendJson(socket, { type: 'error', text: `unknown message type '${String(message?.type)}'` });
      }
    });

    socket.on('error', (error) => log(`! ${peer.name}: ${error.message}`));
    socket.on('close', (code, reason) => {
      const text = reason.toString('utf8');
      peers.delete(socket);
      events.push({ type: 'close', id, name: peer.name, code, reason: text });
      log(`- ${peer.name} (${id}) closed ${code}${text ? ` ${text}` : ''}`);
      const left = shared ? { id, name: peer.name, server: label } : { id, name: peer.name };
      if (!(shared && isShuttingDown)) {
        broadcast({ type: 'left', peer: left, code, reason: text });
        void announce();
      }
      broadcastPresence();
    });
  });

  // The WebSocketServer re-emits the HTTP server's errors (as ws does); a listen
  // error (port taken) is reported by the promise below, so only log later ones.
  // Without a listener it would be thrown as an unhandled 'error' (issue #12).
  wss.on('error', (error) => {
    if (server.listening) log(`! server error: ${error.message}`);
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const address = server.address();
  if (shared) {
    label = shared.name || `${host === '0.0.0.0' || host === '::' ? hostname() : host}:${address.port}`;
    // Not awaited: the hub has us in the fan-out at once, and while Redis is
    // unreachable the promise waits for it (the page must load meanwhile).
    presenceHub.subscribe(PRESENCE_SUBSCRIBER, PRESENCE).catch((error) => log(`! presence: ${error.message}`));
    presenceTimer = setInterval(() => {
      const now = Date.now();
      let isChanged = false;
      for (const [name, { seenAt }] of remote) {
        if (now - seenAt > PRESENCE_TTL_MS) isChanged = remote.delete(name) || isChanged;
      }
      if (isChanged) broadcastPresence();
      void announce();
    }, PRESENCE_PERIOD_MS);
    presenceTimer.unref();
    void announce();
  }
  const shownHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}/`;

  /** Closes every client with 1001 (RFC 6455 §7.4.1 "going away"), then the servers. */
  let closing;
  let isShuttingDown = false;
  function close() {
    closing ??= shutdown();
    return closing;
  }
  async function shutdown() {
    isShuttingDown = true;
    clearInterval(presenceTimer);
    // Tell the other servers our people are gone, rather than letting them expire.
    if (presenceHub) await Promise.race([announce(true), new Promise((r) => setTimeout(r, 1000).unref())]);
    const sockets = [...peers.keys()];
    for (const socket of sockets) socket.close(1001, 'server shutting down');
    await Promise.race([
      Promise.all(sockets.map((s) => (s.readyState === 3 ? null : new Promise((r) => s.once('close', r))))),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    for (const socket of peers.keys()) socket.terminate();
    await new Promise((r) => wss.close(() => r()));
    await presenceHub?.close().catch(() => {});
    await new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }

  return { url, port: address.port, server, wss, events, close, label };
}
