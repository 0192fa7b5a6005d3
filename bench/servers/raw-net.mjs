// Upper bound: answers the opening handshake, then echoes bytes untouched
// (the client's masked frames come back as they are; the load generator checks
// the byte stream). No framing work at all: what one Node core can move.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { HOST, mode, ready } from './common.mjs';

if (mode.broadcast) {
  console.error('raw-net has no framing: it cannot broadcast');
  process.exit(2);
}
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const server = net.createServer({ noDelay: true }, (socket) => {
  let head = '';
  const onHead = (chunk) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const m = /\r\nsec-websocket-key:\s*([^\r\n]+)/i.exec(head);
    if (!m) return socket.destroy();
    const accept = createHash('sha1').update(m[1].trim() + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.removeListener('data', onHead);
    socket.on('data', (d) => socket.write(d));
  };
  socket.on('data', onHead);
  socket.on('error', () => {});
});
server.listen(0, HOST, () => ready(server.address().port));
