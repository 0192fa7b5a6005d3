// net-floor.mjs with Node's user-buffer reads (every read into one shared
// buffer, handed to a callback; no Readable machinery, no buffer per read),
// as sockwave's standalone server reads since session 9 (src/node/socket/scratch-reads.ts).
// The floor of a net.Socket server that reads this way: a measuring stick, not a server.
// It accepts through Node's own onconnection, which makes hidden classes for every socket;
// sockwave's servers no longer do (src/node/server/lean-accept.ts, session 11), so they can cost less.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { HOST, ready } from './common.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);
const KEY = /\r\nsec-websocket-key:[ \t]*([A-Za-z0-9+/=]+)/i;
const scratch = Buffer.allocUnsafeSlow(64 * 1024);
const isUpgraded = Symbol('upgraded');
let symbols;

const symbolOf = (socket, description) => Object.getOwnPropertySymbols(socket).find((s) => s.description === description);

function onRead(nread, buffer) {
  if (this[isUpgraded]) {
    // The client's close frame: a fixed reply, then close at once (as net-floor.mjs).
    this.write(CLOSE_1000);
    this.destroy();
    return true;
  }
  const m = KEY.exec(buffer.latin1Slice(0, nread));
  if (m === null) {
    this.destroy();
    return true;
  }
  const accept = createHash('sha1').update(m[1] + GUID).digest('base64');
  this.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  this[isUpgraded] = true;
  return true;
}
function ignore() {}
const server = net.createServer((socket) => {
  symbols ??= { kBuffer: symbolOf(socket, 'kBuffer'), kBufferCb: symbolOf(socket, 'kBufferCb') };
  socket[isUpgraded] = false;
  socket[symbols.kBufferCb] = onRead;
  socket[symbols.kBuffer] = scratch;
  socket._handle.useUserBuffer(scratch);
  socket.on('error', ignore);
});
server.listen(0, HOST, () => ready(server.address().port));
