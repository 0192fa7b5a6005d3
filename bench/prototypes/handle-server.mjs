// PROTOTYPE, not shipped (issue 16 item 3): a WebSocket echo server with no
// net.Socket per connection. Each connection is a bare libuv TCP handle
// (`process.binding('tcp_wrap')`, Node's own primitive under net.Socket)
// driven directly: no stream objects, no EventEmitter, no ReadableState or
// WritableState. The protocol is sockwave's own sans-I/O core from dist/
// (ServerHandshake-equivalent pieces: RequestHeadParser, validateUpgradeRequest,
// buildAcceptResponse; then a core Connection), so every check the real
// server does on the head and on frames still happens here.
//
// What this is for: measuring how much of a connection's cost is net.Socket
// (idle memory, handshake cycle) before deciding whether an "engine" without
// it is worth shipping. See bench/RESULTS.md, "Issue 16".
//
// Unsupported API: process.binding() is deprecated (DEP0111) and
// tcp_wrap/stream_wrap are internals: their shape may change in any Node
// major (it has: onread's signature and streamBaseState moved in v12/v14).
//
// Not handled (a prototype): TLS, backpressure beyond what libuv queues,
// pause/resume, permessage-deflate, the handshake timeout, limits other than
// the head limits and maxMessageBytes, shutdown of the listening server.
import { pathToFileURL } from 'node:url';
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from '../servers/common.mjs';

if (mode.broadcast || mode.deflate) {
  console.error('handle-server prototype: echo, handshakes and idle memory only');
  process.exit(2);
}
process.noDeprecation = true; // process.binding() warns once (DEP0111)
const { TCP, constants: TCPConstants } = process.binding('tcp_wrap');
const { WriteWrap, ShutdownWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = process.binding('stream_wrap');

const dist = new URL('../../dist/', import.meta.url);
const { Connection } = await import(new URL('core/connection.js', dist).href);
const { RequestHeadParser } = await import(new URL('core/handshake/request-head.js', dist).href);
const { validateUpgradeRequest, buildAcceptResponse } = await import(new URL('core/handshake/rules.js', dist).href);
void pathToFileURL;

const UV_EOF = -4095;
const LIMITS = { maxHeaderBytes: 16384, maxHeaderCount: 100 };

/** One connection: the handle, and the state the handshake or the core needs. Also the core's sink. */
class Conn {
  constructor(handle) {
    this.handle = handle;
    /** RequestHeadParser until the 101, then the core Connection. */
    this.head = new RequestHeadParser(LIMITS);
    this.conn = undefined;
    this.closed = false;
    handle.owner = this;
    handle.onread = onRead;
    handle.readStart();
  }

  // --- ConnectionSink (core/events.ts) ---
  write(data, cb) {
    writeBuffer(this, data);
    cb?.();
  }

  event(event) {
    if (event.type === 'message') this.conn.send(event.data, { binary: event.isBinary });
    else if (event.type === 'shutdown') {
      if (event.mode === 'end') shutdown(this);
    } else if (event.type === 'closed') destroy(this);
  }

  onData(buf) {
    if (this.conn !== undefined) {
      // receive() takes ownership (unmasks in place): the read buffer is the handle's own, fresh per read.
      this.conn.receive(buf);
      return;
    }
    let parsed;
    try {
      parsed = this.head.push(buf);
      if (parsed === null) return;
      const validated = validateUpgradeRequest(parsed);
      writeString(this, buildAcceptResponse({ key: validated.key }));
    } catch (error) {
      const status = error.status ?? 400;
      writeString(this, `HTTP/1.1 ${status} Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      shutdown(this);
      return;
    }
    this.head = undefined;
    this.conn = new Connection({ role: 'server', maxMessageBytes: MAX_MESSAGE_BYTES, isOpen: true }, this);
    if (parsed.rest.length > 0) this.conn.receive(Buffer.from(parsed.rest));
  }
}

function onRead(arrayBuffer) {
  const c = this.owner;
  const nread = streamBaseState[kReadBytesOrError];
  if (nread === 0 || c === undefined) return;
  if (nread < 0) {
    // EOF or an error: the core reports 'closed' (1006 unless the closing handshake finished).
    if (c.conn !== undefined) {
      if (nread === UV_EOF) c.conn.receiveEof();
      c.conn.transportClosed();
    }
    destroy(c);
    return;
  }
  c.onData(Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], nread));
}

function afterWrite() {}

function writeString(c, text) {
  if (c.closed) return;
  const req = new WriteWrap();
  req.handle = c.handle;
  req.oncomplete = afterWrite;
  req.async = false;
  const err = c.handle.writeLatin1String(req, text);
  if (err !== 0) destroy(c);
  else req.async = streamBaseState[kLastWriteWasAsync] !== 0;
}

function writeBuffer(c, buf) {
  if (c.closed) return;
  const req = new WriteWrap();
  req.handle = c.handle;
  req.oncomplete = afterWrite;
  req.async = false;
  // libuv may keep the buffer until the write completes: it must stay alive.
  req.buffer = buf;
  const err = c.handle.writeBuffer(req, buf);
  if (err !== 0) destroy(c);
  else req.async = streamBaseState[kLastWriteWasAsync] !== 0;
}

function afterShutdown() {}

function shutdown(c) {
  if (c.closed) return;
  const req = new ShutdownWrap();
  req.handle = c.handle;
  req.oncomplete = afterShutdown;
  c.handle.shutdown(req);
}

function destroy(c) {
  if (c.closed) return;
  c.closed = true;
  c.handle.owner = undefined;
  c.handle.close();
}

const server = new TCP(TCPConstants.SERVER);
let err = server.bind(HOST, 0);
if (err === 0) err = server.listen(511);
if (err !== 0) {
  console.error(`listen failed: ${err}`);
  process.exit(1);
}
server.onconnection = (status, handle) => {
  if (status !== 0 || handle === undefined) return;
  handle.setNoDelay(true);
  new Conn(handle);
};
const address = {};
server.getsockname(address);
ready(address.port);
