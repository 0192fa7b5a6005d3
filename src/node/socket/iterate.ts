/**
 * `for await (const message of socket)`: the Node socket's messages as an
 * async iterator, as python-websockets offers `async for message in ws`.
 *
 * - Text messages come out as strings, binary ones as the socket's
 *   binaryType makes them (a Buffer by default).
 * - Backpressure: the iterator buffers at most `ITERATOR_HIGH_WATER_MARK`
 *   messages; past that it pauses the socket (TCP pushes back on the peer)
 *   and resumes it once the loop has taken them.
 * - The loop ends after a normal close (1000, 1001, or no code) and throws
 *   ConnectionClosedError after any other, with the code and reason
 *   received, once the messages that arrived before it were consumed.
 * - Leaving the loop early (break, return, throw) stops listening and
 *   resumes the socket if the iterator paused it; it does not close the
 *   socket, which may still be used (or iterated again).
 */
import { ConnectionClosedError } from '../../core/errors.js';
import { ReadyState } from '../../core/events.js';
import type { SocketEmitter } from './state.js';

/** Messages buffered before the iterator pauses the socket: enough to ride out a slow loop body, bounded. */
export const ITERATOR_HIGH_WATER_MARK = 16;

export type IteratedMessage = string | Buffer | ArrayBuffer | Buffer[];

/** What the iterator needs from the socket (websocket.ts), typed here so this file does not import it. */
export interface IterableSocket extends SocketEmitter {
  readonly readyState: number;
  readonly isPaused: boolean;
  pause(): void;
  resume(): void;
}

const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);

export function iterateMessages(socket: IterableSocket): AsyncIterableIterator<IteratedMessage> {
  const queue: IteratedMessage[] = [];
  let waiter: { resolve: (result: IteratorResult<IteratedMessage>) => void; reject: (error: unknown) => void } | undefined;
  let end: { error: Error | undefined } | undefined = socket.readyState === ReadyState.CLOSED ? { error: undefined } : undefined;
  let isPausedByUs = false;
  let lastError: Error | undefined;

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    const message = isBinary ? data : textOf(data);
    if (waiter !== undefined) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve({ value: message, done: false });
      return;
    }
    queue.push(message);
    if (queue.length >= ITERATOR_HIGH_WATER_MARK && !socket.isPaused) {
      isPausedByUs = true;
      socket.pause();
    }
  };
  const onError = (error: Error): void => {
    lastError = error;
  };
  const onClose = (code: number, reason: Buffer): void => {
    const text = reason.toString('utf8');
    const error = NORMAL_CLOSE_CODES.has(code)
      ? undefined
      : new ConnectionClosedError(
          `the connection closed with ${code}${text ? ` ${text}` : ''}${lastError ? `: ${lastError.message}` : ''}`,
          null,
          code === 1006 ? null : { code, reason: text },
        );
    end = { error };
    detach();
    if (waiter !== undefined) {
      const { resolve, reject } = waiter;
      waiter = undefined;
      if (error) reject(error);
      else resolve({ value: undefined, done: true });
    }
  };
  const detach = (): void => {
    socket.off('message', onMessage);
    socket.off('error', onError);
    socket.off('close', onClose);
    if (isPausedByUs) {
      isPausedByUs = false;
      socket.resume();
    }
  };
  if (end === undefined) {
    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  const iterator: AsyncIterableIterator<IteratedMessage> = {
    next(): Promise<IteratorResult<IteratedMessage>> {
      if (queue.length > 0) {
        const value = queue.shift() as IteratedMessage;
        if (isPausedByUs && queue.length < ITERATOR_HIGH_WATER_MARK / 2) {
          isPausedByUs = false;
          socket.resume();
        }
        return Promise.resolve({ value, done: false });
      }
      if (end !== undefined) {
        const { error } = end;
        // Report an abnormal close once; later calls just say the loop is over.
        end = { error: undefined };
        return error ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve, reject) => {
        waiter = { resolve, reject };
      });
    },
    return(): Promise<IteratorResult<IteratedMessage>> {
      detach();
      end = { error: undefined };
      queue.length = 0;
      if (waiter !== undefined) {
        waiter.resolve({ value: undefined, done: true });
        waiter = undefined;
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

function textOf(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
