// The floor of a handshake cycle on node:net: what any server that keeps a
// net.Socket per connection pays, whatever its WebSocket code. It finds the
// key with a regex, answers the 101, and answers the first bytes after it
// (the client's close frame) with a fixed close frame and its FIN. No head
// validation, no framing, no state, no events for an app: not a server, a
// measuring stick for the handshake-close workloads (issue 16 target 1).
import { createHash } from 'node:crypto';
import net from 'node:net';
import { HOST, ready } from './common.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);
const KEY = /\r\nsec-websocket-key:[ \t]*([A-Za-z0-9+/=]+)/i;

function onHead(chunk) {
  const m = KEY.exec(chunk.toString('latin1'));
  if (m === null) return this.destroy();
  const accept = createHash('sha1').update(m[1] + GUID).digest('base64');
  this.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  this.removeListener('data', onHead);
  this.on('data', onClose);
}
// Written, then closed at once: close(2) sends it and the FIN, with no
// half-close and no waiting for the client's FIN (as sockwave does after a
// completed closing handshake since session 8), so this stays the floor.
function onClose() {
  this.write(CLOSE_1000);
  this.destroy();
}
function ignore() {}
const server = net.createServer((socket) => {
  socket.on('data', onHead);
  socket.on('error', ignore);
});
server.listen(0, HOST, () => ready(server.address().port));
