// The demo chat room: an HTTP server for demo/public plus a WebSocket endpoint
// at /ws. Kept free of any import from sockwave so tests can pass in the
// server class built from src (via tsx) and `npm start` the one from dist/.
//
// Wire protocol (docs/demo.md has the full table):
//   text frames  = JSON objects with a `type` (hello, text, file-start, file-end)
//   binary frames = one file chunk: [u16 big-endian header length][header JSON
//                   {"id","offset"}][chunk bytes]; relayed unchanged, so the
//                   server never buffers a file.
import { createReadStream, promises as fs } from 'node:fs';
import { createServer } from 'node:http';
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
} = {}) {
  const server = createServer((req, res) => void serveStatic(req, res));
  const peers = new Map(); // socket -> { id, name }
  const events = [];
  let nextId = 1;

  const wss = new WebSocketServer({
    server,
    path: '/ws',
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: deflate ? { threshold: 1024 } : false,
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

  const roster = () => [...peers.values()].map(({ id, name }) => ({ id, name }));
  const sendJson = (socket, value) => {
    if (socket.readyState === 1) socket.send(JSON.stringify(value));
  };
  const broadcast = (value, except) => {
    for (const socket of peers.keys()) if (socket !== except) sendJson(socket, value);
  };
  const broadcastPresence = () => broadcast({ type: 'presence', peers: roster() });

  wss.on('connection', (socket, request) => {
    const id = `c${nextId++}`;
    const peer = { id, name: cleanName(socket.data?.name, `guest-${id.slice(1)}`) };
    peers.set(socket, peer);
    events.push({ type: 'join', id, name: peer.name });
    log(`+ ${peer.name} (${id}) from ${request.socket.remoteAddress}`);
    sendJson(socket, { type: 'welcome', id, name: peer.name, peers: roster() });
    broadcast({ type: 'system', text: `${peer.name} joined` }, socket);
    broadcastPresence();

    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        // A file chunk: relay unchanged. The receivers match it to the
        // file-start they got from us (same sender socket, same order).
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
      const from = { id: peer.id, name: peer.name };
      switch (message?.type) {
        case 'hello': {
          const before = peer.name;
          peer.name = cleanName(message.name, peer.name);
          if (peer.name !== before) {
            broadcast({ type: 'system', text: `${before} is now ${peer.name}` });
            broadcastPresence();
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
      broadcast({ type: 'left', peer: { id, name: peer.name }, code, reason: text });
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
  const shownHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${address.port}/`;

  /** Closes every client with 1001 (RFC 6455 §7.4.1 "going away"), then the servers. */
  let closing;
  function close() {
    closing ??= shutdown();
    return closing;
  }
  async function shutdown() {
    const sockets = [...peers.keys()];
    for (const socket of sockets) socket.close(1001, 'server shutting down');
    await Promise.race([
      Promise.all(sockets.map((s) => (s.readyState === 3 ? null : new Promise((r) => s.once('close', r))))),
      new Promise((r) => setTimeout(r, 2000).unref()),
    ]);
    for (const socket of peers.keys()) socket.terminate();
    await new Promise((r) => wss.close(() => r()));
    await new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  }

  return { url, port: address.port, server, wss, events, close };
}
