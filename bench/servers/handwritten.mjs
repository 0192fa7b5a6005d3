// A minimal hand-written WebSocket echo server on node:net: the reference for
// "what Node allows" with message-level semantics (whole messages handed to
// a handler, as a library must). Not a library: no options, no timers. It
// still does the work a correct server must do: checks masking and RSV bits,
// validates UTF-8 of text messages, reassembles fragments, answers ping and
// close. What makes it fast:
//   - unmasks in place, a 32-bit word at a time, no copy for whole frames;
//   - frames produced while handling one read are copied into a shared slab
//     and written with one write() per connection per tick;
//   - a broadcast frame is encoded once and copied per receiver.
// Assumes a little-endian CPU (x86/arm64) for the word-wise unmask.
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import net from 'node:net';
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from './common.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const SMALL = 4096; // frames up to this size are copied into the slab, bigger ones written as they are
const conns = new Set();

// --- output: per-connection batch, flushed once per tick ---------------------
let slab = Buffer.allocUnsafe(256 * 1024);
let slabUsed = 0;
const dirty = [];
let flushScheduled = false;

function reserve(n) {
  if (slabUsed + n > slab.length) {
    slab = Buffer.allocUnsafe(Math.max(256 * 1024, n));
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += n;
  return at;
}

function writeHeader(buf, at, opcode, len) {
  buf[at] = 0x80 | opcode;
  if (len < 126) {
    buf[at + 1] = len;
    return at + 2;
  }
  if (len < 65536) {
    buf[at + 1] = 126;
    buf.writeUInt16BE(len, at + 2);
    return at + 4;
  }
  buf[at + 1] = 127;
  buf.writeUInt32BE(0, at + 2);
  buf.writeUInt32BE(len, at + 6);
  return at + 10;
}

function headerLength(len) {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

function flushAll() {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) dirty[i].flush();
  dirty.length = 0;
}

class Conn {
  constructor(socket) {
    this.socket = socket;
    this.parts = []; // pending output: slab ranges and large payloads
    this.runStart = -1; // current contiguous range in `slab`
    this.runSlab = null;
    this.isDirty = false;
    // input state
    this.head = null; // < 14 bytes of an incomplete frame header
    this.big = null; // payload of a frame spanning reads
    this.bigFill = 0;
    this.bigOpcode = 0;
    this.bigFin = false;
    this.bigMask = Buffer.allocUnsafe(4);
    this.fragments = null;
    this.fragmentOpcode = 0;
    this.fragmentBytes = 0;
    this.closing = false;
  }

  markDirty() {
    if (!this.isDirty) {
      this.isDirty = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    }
  }

  /** Appends `n` bytes in the slab to this connection's pending run, returns the offset to write at. */
  append(n) {
    const before = slab;
    const at = reserve(n);
    if (this.runSlab !== slab || before !== slab || this.runEnd !== at) {
      this.closeRun();
      this.runSlab = slab;
      this.runStart = at;
    }
    this.runEnd = at + n;
    this.markDirty();
    return at;
  }

  closeRun() {
    if (this.runSlab) this.parts.push(this.runSlab.subarray(this.runStart, this.runEnd));
    this.runSlab = null;
  }

  send(opcode, payload) {
    const len = payload.length;
    if (len <= SMALL) {
      const at = this.append(headerLength(len) + len); // may switch to a new slab: read `slab` after
      payload.copy(slab, writeHeader(slab, at, opcode, len));
    } else {
      this.closeRun();
      const h = Buffer.allocUnsafe(headerLength(len));
      writeHeader(h, 0, opcode, len);
      this.parts.push(h, payload);
      this.markDirty();
    }
  }

  /** Sends an already-encoded frame (broadcast). */
  sendFrame(frame) {
    if (frame.length <= SMALL) {
      const at = this.append(frame.length); // may switch to a new slab: read `slab` after
      frame.copy(slab, at);
    }
    else {
      this.closeRun();
      this.parts.push(frame);
      this.markDirty();
    }
  }

  flush() {
    this.isDirty = false;
    this.closeRun();
    const parts = this.parts;
    if (parts.length === 1) this.socket.write(parts[0]);
    else {
      this.socket.cork();
      for (let i = 0; i < parts.length; i++) this.socket.write(parts[i]);
      this.socket.uncork();
    }
    this.parts = [];
    if (this.closing) this.socket.end();
  }

  fail(code) {
    if (this.closing) return;
    const payload = Buffer.from([code >> 8, code & 0xff]);
    this.send(0x8, payload);
    this.closing = true;
  }

  // --- input ----------------------------------------------------------------
  onData(chunk) {
    if (this.closing) return;
    let i = 0;
    if (this.big) {
      const m = Math.min(this.big.length - this.bigFill, chunk.length);
      chunk.copy(this.big, this.bigFill, 0, m);
      this.bigFill += m;
      i = m;
      if (this.bigFill < this.big.length) return;
      const payload = this.big;
      this.big = null;
      const k = this.bigMask;
      unmask(payload, 0, payload.length, k[0], k[1], k[2], k[3]);
      this.onFrame(this.bigOpcode, this.bigFin, payload);
    }
    if (this.head) {
      chunk = Buffer.concat([this.head, chunk.subarray(i)]);
      this.head = null;
      i = 0;
    }
    const n = chunk.length;
    while (i < n && !this.closing) {
      if (n - i < 2) break;
      const b0 = chunk[i];
      const b1 = chunk[i + 1];
      if ((b1 & 0x80) === 0 || (b0 & 0x70) !== 0) return this.fail(1002); // RFC 6455 §5.1, §5.2
      let len = b1 & 0x7f;
      let p = i + 2;
      if (len === 126) {
        if (n - i < 4) break;
        len = chunk.readUInt16BE(p);
        p += 2;
      } else if (len === 127) {
        if (n - i < 10) break;
        if (chunk.readUInt32BE(p) !== 0) return this.fail(1009);
        len = chunk.readUInt32BE(p + 4);
        p += 8;
      }
      if (n - p < 4) break;
      const opcode = b0 & 0x0f;
      if (len > MAX_MESSAGE_BYTES) return this.fail(1009);
      if (opcode >= 8 && (len > 125 || (b0 & 0x80) === 0)) return this.fail(1002);
      const k0 = chunk[p], k1 = chunk[p + 1], k2 = chunk[p + 2], k3 = chunk[p + 3];
      p += 4;
      if (n - p < len) {
        // The payload spans reads: collect it in its own buffer.
        this.big = Buffer.allocUnsafe(len);
        this.bigFill = chunk.copy(this.big, 0, p, n);
        this.bigOpcode = opcode;
        this.bigFin = (b0 & 0x80) !== 0;
        this.bigMask[0] = k0;
        this.bigMask[1] = k1;
        this.bigMask[2] = k2;
        this.bigMask[3] = k3;
        return;
      }
      unmask(chunk, p, len, k0, k1, k2, k3);
      this.onFrame(opcode, (b0 & 0x80) !== 0, chunk.subarray(p, p + len));
      i = p + len;
    }
    if (i < n && !this.closing) this.head = Buffer.from(chunk.subarray(i));
  }

  onFrame(opcode, fin, payload) {
    if (opcode === 0x1 || opcode === 0x2) {
      if (this.fragments) return this.fail(1002);
      if (fin) return this.onMessage(opcode, payload);
      this.fragments = [Buffer.from(payload)];
      this.fragmentOpcode = opcode;
      this.fragmentBytes = payload.length;
    } else if (opcode === 0x0) {
      if (!this.fragments) return this.fail(1002);
      this.fragments.push(Buffer.from(payload));
      this.fragmentBytes += payload.length;
      if (this.fragmentBytes > MAX_MESSAGE_BYTES) return this.fail(1009);
      if (fin) {
        const data = Buffer.concat(this.fragments, this.fragmentBytes);
        this.fragments = null;
        this.onMessage(this.fragmentOpcode, data);
      }
    } else if (opcode === 0x9) this.send(0xa, payload);
    else if (opcode === 0xa) return;
    else if (opcode === 0x8) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1000;
      this.send(0x8, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0));
      this.closing = true;
      void code;
    } else this.fail(1002);
  }

  onMessage(opcode, data) {
    if (opcode === 0x1 && !isUtf8(data)) return this.fail(1007);
    if (mode.broadcast) {
      const frame = Buffer.allocUnsafe(headerLength(data.length) + data.length);
      data.copy(frame, writeHeader(frame, 0, opcode, data.length));
      for (const c of conns) c.sendFrame(frame);
    } else {
      this.send(opcode, data);
    }
  }
}

/** XOR-unmasks buf[off, off+len) in place, a 32-bit word at a time where aligned. */
function unmask(buf, off, len, k0, k1, k2, k3) {
  let i = 0;
  if (len >= 32) {
    const abs = buf.byteOffset + off;
    const lead = (4 - (abs & 3)) & 3;
    for (; i < lead; i++) buf[off + i] ^= i === 0 ? k0 : i === 1 ? k1 : k2;
    const words = (len - lead) >>> 2;
    const key = [k0, k1, k2, k3];
    const w = (key[lead & 3] | (key[(lead + 1) & 3] << 8) | (key[(lead + 2) & 3] << 16) | (key[(lead + 3) & 3] << 24)) >>> 0;
    const u32 = new Uint32Array(buf.buffer, abs + lead, words);
    for (let j = 0; j < words; j++) u32[j] ^= w;
    i = lead + words * 4;
  }
  for (; i < len; i++) {
    const r = i & 3;
    buf[off + i] ^= r === 0 ? k0 : r === 1 ? k1 : r === 2 ? k2 : k3;
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  let head = '';
  socket.on('error', () => {});
  const onHead = (chunk) => {
    head += chunk.toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16384) socket.destroy();
      return;
    }
    const m = /\r\nsec-websocket-key:[ \t]*([A-Za-z0-9+/=]{24})[ \t]*\r\n/i.exec(head);
    if (!head.startsWith('GET ') || !m || !/\r\nupgrade:[ \t]*websocket[ \t]*\r\n/i.test(head)) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(m[1] + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.removeListener('data', onHead);
    const conn = new Conn(socket);
    conns.add(conn);
    socket.on('data', (d) => conn.onData(d));
    socket.on('close', () => conns.delete(conn));
    const rest = Buffer.from(head.slice(end + 4), 'latin1');
    if (rest.length) conn.onData(rest);
  };
  socket.on('data', onHead);
});
server.listen(0, HOST, () => ready(server.address().port));
