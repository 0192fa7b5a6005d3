// ws (the baseline). With bufferutil installed ws uses it for (un)masking;
// WS_NO_BUFFER_UTIL=1 gives the pure-JS variant.
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from './common.mjs';

let bufferutil = 'off';
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    createRequire(import.meta.url)('bufferutil');
    bufferutil = 'on';
  } catch {
    bufferutil = 'missing';
  }
}
// DEFLATE_LEVEL sets zlib's level (ws's default is zlib's, 6) for the like-for-like compressed rows.
const level = Number(process.env.DEFLATE_LEVEL ?? NaN);
const perMessageDeflate = mode.deflate && Number.isInteger(level) ? { zlibDeflateOptions: { level } } : mode.deflate;
const wss = new WebSocketServer({ host: HOST, port: 0, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate });
wss.on('connection', (socket) => {
  socket.on('error', () => {});
  if (mode.broadcast) {
    socket.on('message', (data, isBinary) => {
      for (const client of wss.clients) client.send(data, { binary: isBinary });
    });
  } else {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  }
});
wss.on('listening', () => ready(wss.address().port, `bufferutil=${bufferutil}`));
