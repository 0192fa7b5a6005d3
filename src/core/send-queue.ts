/**
 * Frames waiting their turn behind a message that is being compressed.
 * Data frames leave in send() order (RFC 6455 §5.4 forbids reordering a
 * message's fragments, and applications expect message order); our close
 * frame waits behind them too so no accepted message is lost. Ping and pong
 * do not queue: §5.4 lets control frames overtake.
 *
 * Exists only while something waits, so idle connections carry none.
 */
import type { CloseFrameInfo } from './errors.js';
import type { ConnectionSink } from './events.js';
import { writeBuffers, type WriteCallback } from './frame-writer.js';

export interface QueuedFrame {
  /** The encoded frame, or undefined while compression runs. */
  buffers: Buffer[] | undefined;
  /** Payload bytes counted in `pendingBytes`. */
  bytes: number;
  cb: WriteCallback | undefined;
  /** Set when this is our close frame. */
  close: CloseFrameInfo | undefined;
  isCancelled: boolean;
}

export class SendQueue {
  private readonly items: QueuedFrame[] = [];
  /** Bytes accepted but not yet handed to the sink. */
  pendingBytes = 0;

  get isEmpty(): boolean {
    return this.items.length === 0;
  }

  /** Adds a frame; leave `buffers` undefined and fill it in when compression answers. */
  push(buffers: Buffer[] | undefined, bytes: number, cb: WriteCallback | undefined, close?: CloseFrameInfo): QueuedFrame {
    const item: QueuedFrame = { buffers, bytes, cb, close, isCancelled: false };
    this.items.push(item);
    this.pendingBytes += bytes;
    return item;
  }

  /**
   * Writes every ready frame from the head, in order, stopping at the first
   * one still compressing. Returns our close frame if it went out.
   */
  flush(sink: ConnectionSink): CloseFrameInfo | undefined {
    const items = this.items;
    let close: CloseFrameInfo | undefined;
    // Shift before writing: a write callback may re-enter send() or flush().
    while (items.length > 0 && items[0].buffers !== undefined) {
      const item = items.shift() as QueuedFrame;
      this.pendingBytes -= item.bytes;
      writeBuffers(sink, item.buffers as Buffer[], item.cb);
      if (item.close !== undefined) close = item.close;
    }
    return close;
  }

  /** Drops everything; each waiting callback gets `error`. */
  cancel(error: () => Error): void {
    const items = this.items.splice(0);
    this.pendingBytes = 0;
    for (const item of items) {
      item.isCancelled = true;
      item.cb?.(error());
    }
  }
}
