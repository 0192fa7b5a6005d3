// sockwave, from the built package (run `npm run build` first): default
// options except the message limit, which every server gets the same.
// SOCKWAVE_DIST (a path to another build's index.js) is run.mjs's --compare-dist.
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from './common.mjs';

const entry = process.env.SOCKWAVE_DIST ? pathToFileURL(process.env.SOCKWAVE_DIST) : new URL('../../dist/index.js', import.meta.url);
const { WebSocketServer } = await import(entry.href);
// DEFLATE_LEVEL sets zlib's level (sockwave's default is 1) for the like-for-like compressed rows.
const level = Number(process.env.DEFLATE_LEVEL ?? NaN);
const perMessageDeflate = mode.deflate && Number.isInteger(level) ? { level } : mode.deflate;
// HEARTBEAT_MS (bench/idle-heap.mjs --heartbeat-ms) shortens the heartbeat to see a socket after ping round trips.
const heartbeatMs = Number(process.env.HEARTBEAT_MS ?? NaN);
const heartbeat = heartbeatMs > 0 ? { heartbeat: { intervalMs: heartbeatMs, timeoutMs: heartbeatMs } } : {};
// OWN_READ_BUFFERS=1: the opt-in large-message read path (run.mjs's 'sockwave own-reads' row).
const ownReads = process.env.OWN_READ_BUFFERS === '1' ? { ownReadBuffers: true } : {};
// HTTP_SERVER=1: attached to a node:http server (`{ server }`, how most apps deploy) instead of standalone.
const httpServer = process.env.HTTP_SERVER === '1' ? http.createServer((req, res) => res.end()) : undefined;
const listenOn = httpServer ? { server: httpServer } : { host: HOST, port: 0 };
const wss = new WebSocketServer({ ...listenOn, maxMessageBytes: MAX_MESSAGE_BYTES, perMessageDeflate, ...heartbeat, ...ownReads });
wss.on('connection', (socket) => {
  socket.on('error', () => {});
  if (mode.broadcast) {
    // The server's own fan-out: encodes the frame once for every receiver.
    socket.on('message', (data, isBinary) => wss.broadcast(data, { binary: isBinary }));
  } else {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  }
});
wss.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
if (httpServer) httpServer.listen(0, HOST, () => ready(httpServer.address().port));
else wss.on('listening', () => ready(wss.address().port));
