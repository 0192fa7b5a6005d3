/**
 * `createWebSocketStream(socket)`: a Duplex over a Node WebSocket, as `ws`
 * offers, so stream code (`pipeline(file, stream)`) works on a connection.
 * Each written chunk becomes one message; each message read becomes one
 * chunk. Backpressure both ways: a full readable side pauses the socket
 * (TCP pushes back on the peer), and a write completes when send()'s
 * callback runs, i.e. once its bytes are handed to the transport.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { ReadyState } from '../../core/events.js';
import type { NodeWebSocket } from './websocket.js';

const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;

export function createWebSocketStream(socket: NodeWebSocket, options: DuplexOptions = {}): Duplex {
  let terminateOnDestroy = true;
  const stream = new Duplex({
    ...options,
    objectMode: false,
    read() {
      if (socket.isPaused) socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.readyState === ReadyState.CONNECTING) {
        socket.once('open', () => stream._write(chunk, _encoding, callback));
        return;
      }
      if (socket.readyState !== ReadyState.OPEN) {
        // ws's text: the state's number and name.
        callback(new Error(`WebSocket is not open: readyState ${socket.readyState} (${READY_STATE_NAMES[socket.readyState]})`));
        return;
      }
      socket.send(chunk, callback);
    },
    final(callback) {
      // Ending the writable side starts the closing handshake; while the
      // handshake runs, once the socket is open (or closed, if it fails).
      if (socket.readyState === ReadyState.CONNECTING) {
        const onOpen = (): void => {
          socket.removeListener('close', onClose);
          stream._final(callback);
        };
        const onClose = (): void => {
          socket.removeListener('open', onOpen);
          callback();
        };
        socket.once('open', onOpen);
        socket.once('close', onClose);
        return;
      }
      if (socket.readyState === ReadyState.CLOSED) return callback();
      socket.once('close', () => callback());
      if (socket.readyState === ReadyState.OPEN) socket.close();
    },
    destroy(error, callback) {
      if (terminateOnDestroy && socket.readyState !== ReadyState.CLOSED) socket.terminate();
      callback(error);
    },
  });
  // ws: a readable side in object mode reads text messages as strings.
  const isTextAsString = stream.readableObjectMode;
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!stream.push(isTextAsString && !isBinary ? bytes.toString() : bytes)) socket.pause();
  });
  // Destroyed as soon as both sides are done, as ws does, so that an 'end'
  // listener already sees `destroyed` (autoDestroy would wait a tick).
  stream.on('end', () => {
    if (!stream.destroyed && stream.writableFinished) stream.destroy();
  });
  socket.once('close', () => {
    if (!stream.destroyed) stream.push(null);
  });
  socket.on('error', (error: Error) => {
    // The socket closes itself after an error (a protocol error sends its
    // close frame first): terminate() now could cut that frame off.
    terminateOnDestroy = false;
    stream.destroy(error);
  });
  return stream;
}
