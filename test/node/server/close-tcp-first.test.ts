/**
 * The server's end of a completed closing handshake (RFC 6455 §7.1.1: the
 * server closes the TCP connection first), seen from a raw TCP client that
 * keeps its own half open (allowHalfOpen): the server must close without
 * waiting for the client's FIN, without a reset, and without dropping a byte
 * it had queued before the close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { clientFrame, startServer, upgradeRequest, within } from './helpers.js';

/** Far longer than any wait below: a server that waits for our FIN shows up as a timeout, not as a slow pass. */
const CLOSE_TIMEOUT_MS = 60_000;

interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Splits unmasked server frames (after the 101 head) out of everything received. */
function serverFrames(bytes: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const opcode = bytes[at] & 0x0f;
    let length = bytes[at + 1] & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    assert.ok(start + length <= bytes.length, `a frame cut short at byte ${at}`);
    frames.push({ opcode, payload: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return frames;
}

/** A raw client that never sends its FIN unless told to; resolves once the 101 head is in. */
async function openRawClient(port: number): Promise<{ socket: net.Socket; received: () => Buffer; errors: Error[] }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const errors: Error[] = [];
  socket.on('error', (error) => errors.push(error));
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  let headEnd = -1;
  const headSeen = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (headEnd === -1) {
        headEnd = Buffer.concat(chunks).indexOf('\r\n\r\n');
        if (headEnd !== -1) resolve();
      }
    });
  });
  socket.write(upgradeRequest());
  await within(headSeen, 3000, 'the 101 head');
  assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 101 /);
  return { socket, received: () => Buffer.concat(chunks).subarray(headEnd + 4), errors };
}

const CLOSE_1000_BYE = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')]);

test("a client's close is answered and the TCP connection closed at once, without waiting for the client's FIN", async () => {
  const { wss, port } = await startServer({ closeTimeoutMs: CLOSE_TIMEOUT_MS });
  const serverClose = new Promise<[number, string]>((resolve) => {
    wss.on('connection', (ws: NodeWebSocket) => ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])));
  });
  try {
    const client = await openRawClient(port);
    client.socket.write(clientFrame(0x8, CLOSE_1000_BYE));
    await within(once(client.socket, 'end'), 3000, "the server's FIN");
    // Our half is still open: the server did not wait for it.
    assert.equal(client.socket.writable, true);
    assert.deepEqual(await within(serverClose, 3000, "the server socket's 'close' event"), [1000, 'bye']);
    const frames = serverFrames(client.received());
    assert.equal(frames.length, 1);
    assert.equal(frames[0].opcode, 0x8);
    assert.equal(frames[0].payload.readUInt16BE(0), 1000, 'the status code echoed (RFC 6455 §5.5.1)');
    assert.deepEqual(client.errors, [], 'a FIN, not a reset');
    client.socket.end();
    await within(once(client.socket, 'close'), 3000, 'the client closing');
  } finally {
    await wss.close();
  }
});

test("the server's own close: after the client's answer the server closes TCP at once and reports a clean close", async () => {
  const { wss, port } = await startServer({ closeTimeoutMs: CLOSE_TIMEOUT_MS });
  const serverClose = new Promise<[number, string]>((resolve) => {
    wss.on('connection', (ws: NodeWebSocket) => {
      ws.on('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]));
      ws.close(4001, 'server says bye');
    });
  });
  try {
    const client = await openRawClient(port);
    await within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (client.received().length >= 2 + 2 + 'server says bye'.length) resolve();
          else client.socket.once('data', check);
        };
        check();
      }),
      3000,
      "the server's close frame",
    );
    const [closeFrame] = serverFrames(client.received());
    assert.equal(closeFrame.opcode, 0x8);
    assert.equal(closeFrame.payload.readUInt16BE(0), 4001);
    client.socket.write(clientFrame(0x8, closeFrame.payload.subarray(0, 2)));
    await within(once(client.socket, 'end'), 3000, "the server's FIN");
    assert.equal(client.socket.writable, true);
    // The code the peer's close frame carried (ws reports the received one).
    assert.deepEqual(await within(serverClose, 3000, "the server socket's 'close' event"), [4001, '']);
    assert.deepEqual(client.errors, []);
    client.socket.end();
  } finally {
    await wss.close();
  }
});

test('bytes still queued when the closing handshake completes all reach the client before the FIN', async () => {
  const MESSAGE_BYTES = 8 * 1024 * 1024;
  const { wss, port } = await startServer({ closeTimeoutMs: CLOSE_TIMEOUT_MS });
  const sent = new Promise<void>((resolve) => {
    wss.on('connection', (ws: NodeWebSocket) => {
      // More than the kernel's socket buffers hold while the client is not reading.
      ws.send(Buffer.alloc(MESSAGE_BYTES, 0x5a));
      resolve();
    });
  });
  try {
    const client = await openRawClient(port);
    client.socket.pause();
    await sent;
    // The close arrives while most of the message still waits in Node's queue.
    client.socket.write(clientFrame(0x8, CLOSE_1000_BYE));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const ended = once(client.socket, 'end');
    client.socket.resume();
    await within(ended, 10_000, "the server's FIN after the whole message");
    const frames = serverFrames(client.received());
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.payload.length]),
      [
        [0x2, MESSAGE_BYTES],
        [0x8, 2],
      ],
    );
    assert.ok(frames[0].payload.every((byte) => byte === 0x5a));
    assert.deepEqual(client.errors, []);
    client.socket.end();
  } finally {
    await wss.close();
  }
});
