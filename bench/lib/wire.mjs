// Wire helpers for the load generator: the client side of the opening
// handshake on a raw net.Socket, pre-masked frame pools, and the frame bytes
// the load generator writes. Nothing here is sockwave code: the load
// generator must not share code with any server it measures.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function acceptFor(key) {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A pool of handshake keys with their expected Sec-WebSocket-Accept, so the hot loop does no SHA-1. */
export function makeKeyPool(n = 256) {
  const pool = [];
  for (let i = 0; i < n; i++) {
    const key = randomBytes(16).toString('base64');
    pool.push({ key, accept: acceptFor(key) });
  }
  return pool;
}

export function buildRequest({ host, port, key, extensions }) {
  return (
    `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    '\r\n'
  );
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Checks a response head (the bytes before CRLFCRLF). Returns the negotiated
 * extensions header, or throws with a precise reason.
 */
export function checkResponseHead(head, expectedAccept) {
  const lines = head.toString('latin1').split('\r\n');
  if (!/^HTTP\/1\.1 101 /.test(lines[0] + ' ')) throw new Error(`handshake: expected 101, got "${lines[0]}"`);
  let accept, upgrade, connection, extensions;
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i].indexOf(':');
    if (c < 0) continue;
    const name = lines[i].slice(0, c).trim().toLowerCase();
    const value = lines[i].slice(c + 1).trim();
    if (name === 'sec-websocket-accept') accept = value;
    else if (name === 'upgrade') upgrade = value;
    else if (name === 'connection') connection = value;
    else if (name === 'sec-websocket-extensions') extensions = value;
  }
  if (accept !== expectedAccept) throw new Error(`handshake: bad Sec-WebSocket-Accept ${accept}`);
  if (!upgrade || upgrade.toLowerCase() !== 'websocket') throw new Error(`handshake: bad Upgrade ${upgrade}`);
  if (!connection || !/\bupgrade\b/i.test(connection)) throw new Error(`handshake: bad Connection ${connection}`);
  return extensions;
}

// One read buffer shared by every load-generator socket (net's `onread`):
// no allocation and no stream machinery per read. Safe because each read is
// consumed synchronously and the readers never keep a reference to it.
export const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Opens a WebSocket over a raw socket. Resolves { socket, rest, extensions,
 * setOnData } where `rest` holds bytes that arrived after the 101 head and
 * `setOnData(fn)` routes later reads to fn(chunk) (chunk is only valid
 * during the call).
 */
export function openWebSocket({ host = '127.0.0.1', port, localAddress, keyEntry, extensions, timeoutMs = 10_000 }) {
  return new Promise((resolve, reject) => {
    let onData = null;
    const socket = net.connect({
      host,
      port,
      localAddress,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n, buf) => void onData(buf.subarray(0, n)) },
    });
    let acc = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('handshake: timed out'));
    }, timeoutMs);
    const onError = (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`handshake: ${err.code || err.message}`));
    };
    socket.on('error', onError);
    socket.on('close', () => onError(new Error('closed before 101')));
    socket.on('connect', () => socket.write(buildRequest({ host, port, key: keyEntry.key, extensions })));
    onData = (chunk) => {
      acc = acc ? Buffer.concat([acc, chunk]) : Buffer.from(chunk);
      const end = acc.indexOf(CRLFCRLF);
      if (end < 0) {
        if (acc.length > 16384) onError(new Error('response head too large'));
        return;
      }
      onData = () => {}; // until the caller routes reads
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      clearTimeout(timer);
      let ext;
      try {
        ext = checkResponseHead(acc.subarray(0, end), keyEntry.accept);
      } catch (err) {
        socket.destroy();
        reject(err);
        return;
      }
      resolve({ socket, rest: acc.subarray(end + 4), extensions: ext, setOnData: (fn) => (onData = fn) });
    };
  });
}

/** Client frame header + 4-byte masking key + masked payload, appended at `out[o]`. Returns the new offset. */
export function writeMaskedFrame(out, o, firstByte, payload) {
  const len = payload.length;
  out[o++] = firstByte;
  if (len < 126) out[o++] = 0x80 | len;
  else if (len < 65536) {
    out[o++] = 0x80 | 126;
    out.writeUInt16BE(len, o);
    o += 2;
  } else {
    out[o++] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), o);
    out.writeUInt32BE(len >>> 0, o + 4);
    o += 8;
  }
  const mask = randomBytes(4);
  mask.copy(out, o);
  o += 4;
  for (let i = 0; i < len; i++) out[o + i] = payload[i] ^ mask[i & 3];
  return o + len;
}

export function maskedFrameLength(len) {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4 + len;
}

/**
 * A pool of `count` distinct messages laid out as consecutive pre-masked
 * frames in one Buffer, so sending k consecutive messages is one
 * zero-copy subarray. `payloadOf(i)` gives message i's bytes (what the echo
 * must contain, after inflating when compressed).
 */
export function makeMessagePool({ count, size, text = false, deflate = false }) {
  const payloads = [];
  for (let i = 0; i < count; i++) payloads.push(text ? makeJsonText(size, i) : randomBytes(size));
  const wire = payloads.map((p) => (deflate ? deflateMessage(p) : p));
  const starts = new Uint32Array(count + 1);
  let total = 0;
  for (let i = 0; i < count; i++) {
    starts[i] = total;
    total += maskedFrameLength(wire[i].length);
  }
  starts[count] = total;
  const frames = Buffer.allocUnsafe(total);
  const firstByte = 0x80 | (deflate ? 0x40 : 0) | (text ? 0x1 : 0x2);
  for (let i = 0; i < count; i++) writeMaskedFrame(frames, starts[i], firstByte, wire[i]);
  return { count, payloads, frames, starts, opcode: text ? 1 : 2 };
}

/** RFC 7692 §7.2.1: compress, then drop the trailing 00 00 ff ff of the sync flush. */
export function deflateMessage(payload) {
  const out = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Inflates one message compressed without context takeover. */
export function inflateMessage(parts) {
  return zlib.inflateRawSync(Buffer.concat([...parts, TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/**
 * A per-connection inflater that keeps the LZ77 window across messages (the
 * server uses context takeover); returns the inflated message, throws on bad
 * data. Node's only public API that keeps a context is the async stream,
 * whose thread-pool round trip per message made this load generator the
 * bottleneck of the compressed echo; so it drives the stream's native handle
 * synchronously, as node:zlib's own sync functions do (written here rather
 * than imported from src/, so the load generator does not lean on code under
 * test).
 */
export function contextInflater() {
  const stream = zlib.createInflateRaw();
  const handle = stream._handle;
  const state = stream._writeState;
  if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array)) {
    throw new Error('this Node has no zlib handle to drive synchronously');
  }
  const out = Buffer.allocUnsafe(64 * 1024);
  return (parts) => {
    const input = Buffer.concat([...parts, TAIL]);
    const pieces = [];
    let offset = 0;
    for (;;) {
      handle.writeSync(zlib.constants.Z_SYNC_FLUSH, input, offset, input.length - offset, out, 0, out.length);
      if (stream.destroyed) throw stream.errored ?? new Error('inflater closed');
      const produced = out.length - state[0];
      offset = input.length - state[1];
      if (produced > 0) pieces.push(Buffer.from(out.subarray(0, produced)));
      if (state[0] !== 0) break;
    }
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  };
}

/** Realistic compressible text: a JSON array of small records, exactly `size` bytes. */
function makeJsonText(size, seed) {
  let s = '[';
  let i = 0;
  while (s.length < size) {
    s += JSON.stringify({ id: seed * 1000 + i, user: `user${(seed * 7 + i) % 97}`, event: i % 3 ? 'update' : 'create', value: (seed * 31 + i * 17) % 1000, ok: i % 2 === 0 }) + ',';
    i++;
  }
  return Buffer.from(s.slice(0, size - 1) + ']');
}

/** A masked close frame with code 1000 and no reason. */
export function closeFrame() {
  const out = Buffer.allocUnsafe(8);
  const payload = Buffer.from([0x03, 0xe8]);
  writeMaskedFrame(out, 0, 0x88, payload);
  return out;
}
