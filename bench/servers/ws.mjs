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
const wss = new WebSocketServer({ host: HOST, port: 0, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: mode.deflate });
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
