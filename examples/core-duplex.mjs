// Bring your own transport: a complete WebSocket adapter made from
// sockwave/core over any Node Duplex stream (a TCP socket, a TLS socket, a
// pipe, an in-memory pair). It shows the whole contract: the handshake
// objects, feeding bytes to the Connection, writing what it hands the sink
// (with backpressure), and following its shutdown instructions.
//
// Run `node examples/core-duplex.mjs`: a server and a client on loopback,
// both made from the core, exchange a message and close cleanly.
import { EventEmitter, once } from 'node:events';
import { createServer, connect as netConnect } from 'node:net';
import { ClientHandshake, Connection, DEFAULTS, ServerHandshake } from 'sockwave/core';

/**
 * One WebSocket over a Duplex. Events: 'message' (data: Buffer, isBinary),
 * 'close' (code, reason, wasClean), 'error' (a peer fault; 'close' follows).
 */
export class DuplexWebSocket extends EventEmitter {
  #duplex;
  #connection;
  #closeTimer;
  #isWaitingForDrain = false;

  constructor(duplex, role, firstBytes) {
    super();
    this.#duplex = duplex;
    this.#connection = new Connection(
      { role },
      {
        // Bytes for the wire, in order. The core never waits for `cb`: it is
        // only for the caller of send(). When the duplex is full, stop
        // reading until it drains, so a peer that does not read cannot make
        // us buffer without bound.
        write: (data, cb) => {
          if (!duplex.write(data, cb) && !this.#isWaitingForDrain) {
            this.#isWaitingForDrain = true;
            duplex.pause();
            duplex.once('drain', () => {
              this.#isWaitingForDrain = false;
              duplex.resume();
            });
          }
        },
        event: (event) => this.#onEvent(event),
      },
    );
    duplex.on('data', (chunk) => this.#connection.receive(chunk));
    duplex.on('end', () => this.#connection.receiveEof());
    duplex.on('close', () => {
      clearTimeout(this.#closeTimer);
      this.#connection.transportClosed();
    });
    duplex.on('error', () => {}); // 'close' follows, and the core reports 1006
    // The bytes that arrived behind the handshake are the first frames.
    if (firstBytes.length > 0) this.#connection.receive(firstBytes);
  }

  /** 'client' or 'server'. */
  get role() {
    return this.#connection.role;
  }

  send(data) {
    this.#connection.send(data);
  }

  close(code = 1000, reason = '') {
    this.#connection.close(code, reason);
  }

  #onEvent(event) {
    switch (event.type) {
      case 'message':
        this.emit('message', event.data, event.isBinary);
        break;
      case 'error':
        if (this.listenerCount('error') > 0) this.emit('error', event.error);
        break;
      case 'shutdown':
        // 'end': half-close now (a server closes TCP first, RFC 6455 §7.1.1).
        // 'await-peer-close': the peer should close; do not wait forever.
        if (event.mode === 'end') this.#duplex.end();
        this.#closeTimer = setTimeout(() => this.#duplex.destroy(), DEFAULTS.closeTimeoutMs).unref();
        break;
      case 'closed':
        this.emit('close', event.code, event.reason, event.wasClean);
        break;
      // 'ping' (the core already answered it), 'pong', 'close-frame': nothing to do here.
    }
  }
}

/** Reads from `duplex` until `handshake.receive()` decides; the rest goes to the Connection. */
function decide(duplex, handshake) {
  return new Promise((resolve, reject) => {
    const onData = (chunk) => {
      const result = handshake.receive(chunk);
      if (result === null) return;
      cleanup();
      resolve(result);
    };
    const onEnd = () => {
      cleanup();
      reject(new Error('the transport ended during the opening handshake'));
    };
    const cleanup = () => {
      duplex.off('data', onData);
      duplex.off('end', onEnd);
      duplex.pause(); // no data event until the Connection listens
    };
    duplex.on('data', onData);
    duplex.on('end', onEnd);
  });
}

/** Server side: answers the opening handshake on `duplex`; resolves with the socket, or rejects with the HandshakeError after sending the refusal. */
export async function accept(duplex, options = {}) {
  const result = await decide(duplex, new ServerHandshake(options));
  duplex.write(result.response);
  if (!result.isAccepted) {
    duplex.end();
    throw result.error;
  }
  const socket = new DuplexWebSocket(duplex, 'server', result.rest);
  duplex.resume();
  return Object.assign(socket, { protocol: result.protocol, url: result.url });
}

/** Client side: sends the opening handshake on `duplex`; resolves with the socket, or rejects with the HandshakeError. */
export async function connect(duplex, options) {
  const handshake = new ClientHandshake(options);
  duplex.write(handshake.request);
  const result = await decide(duplex, handshake);
  if (!result.isAccepted) {
    duplex.destroy();
    throw result.error;
  }
  const socket = new DuplexWebSocket(duplex, 'client', result.rest);
  duplex.resume();
  return Object.assign(socket, { protocol: result.protocol });
}

/** An echo server on loopback, made from the core; `close()` stops it. */
export async function startEchoServer({ port = 0, protocols } = {}) {
  const sockets = new Set();
  const server = createServer(async (tcp) => {
    sockets.add(tcp);
    tcp.on('close', () => sockets.delete(tcp));
    tcp.on('error', () => {});
    try {
      const ws = await accept(tcp, { protocols });
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : data.toString()));
    } catch {
      // Refused: the refusal was written and the socket ended.
    }
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    close: () => {
      for (const tcp of sockets) tcp.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startEchoServer();
  const tcp = netConnect(server.port, '127.0.0.1');
  await once(tcp, 'connect');
  const ws = await connect(tcp, { host: `127.0.0.1:${server.port}`, path: '/' });
  ws.send('hello from the core');
  const [data] = await once(ws, 'message');
  console.log(`echo: ${data.toString()}`);
  ws.close(1000, 'done');
  const [code, reason, wasClean] = await once(ws, 'close');
  console.log(`closed: ${code} ${reason} (clean: ${wasClean})`);
  await server.close();
}
