// The load generator's minimal frame reader. It checks every byte the server
// sends against what it must send, streaming: a payload is compared chunk by
// chunk with the expected message, never buffered (except compressed
// messages, which are inflated whole and then compared). Any difference, a
// masked server frame, unexpected RSV bits, a close frame or a length
// mismatch is a failure with a precise reason.
import { inflateMessage } from './wire.mjs';

export class EchoReader {
  /**
   * @param {object} o
   * @param {Buffer[]} o.payloads  expected messages, in the order they must arrive (cyclic)
   * @param {number} o.start       index of the first expected message
   * @param {number} o.opcode      1 (text) or 2 (binary)
   * @param {boolean} [o.allowDeflate]  RSV1 allowed on the first frame (permessage-deflate negotiated)
   * @param {(parts: Buffer[]) => Buffer} [o.inflateWithContext]
   *   inflates one compressed message keeping the context (server context takeover); default: each message alone
   * @param {(n: number) => void} o.onMessages  called once per chunk with the number of complete messages
   * @param {(err: Error) => void} o.onError
   */
  constructor(o) {
    this.payloads = o.payloads;
    this.count = o.payloads.length;
    this.index = o.start % this.count;
    this.opcode = o.opcode;
    this.allowDeflate = !!o.allowDeflate;
    this.inflateWithContext = o.inflateWithContext;
    this.onMessages = o.onMessages;
    this.onError = o.onError;
    this.hdr = Buffer.allocUnsafe(14);
    this.hdrLen = 0;
    this.remaining = 0; // payload bytes left in the current frame
    this.inPayload = false;
    this.isControl = false;
    this.isFin = false;
    this.inMessage = false; // inside a fragmented message
    this.msgOff = 0;
    this.compressedParts = null;
    this.failed = false;
    this.received = 0; // total complete messages
  }

  fail(reason) {
    if (this.failed) return;
    this.failed = true;
    this.onError(new Error(reason));
  }

  /** Parses a header starting at chunk[i]; returns the new offset, or -1 if more bytes are needed. */
  header(chunk, i) {
    let b0, b1, len, p, src;
    const avail = chunk.length - i;
    if (this.hdrLen === 0 && avail >= 2) {
      src = chunk;
      p = i;
    } else {
      // Slow path: the header straddles chunks; gather it in this.hdr.
      while (this.hdrLen < 2 && i < chunk.length) this.hdr[this.hdrLen++] = chunk[i++];
      if (this.hdrLen < 2) return -1;
      const need = 2 + ((this.hdr[1] & 0x7f) === 126 ? 2 : (this.hdr[1] & 0x7f) === 127 ? 8 : 0) + (this.hdr[1] & 0x80 ? 4 : 0);
      while (this.hdrLen < need && i < chunk.length) this.hdr[this.hdrLen++] = chunk[i++];
      if (this.hdrLen < need) return -1;
      src = this.hdr;
      p = 0;
    }
    b0 = src[p];
    b1 = src[p + 1];
    len = b1 & 0x7f;
    let hl = 2;
    if (len === 126) hl = 4;
    else if (len === 127) hl = 10;
    if (b1 & 0x80) return this.fail('server sent a masked frame'), -1;
    if (src === chunk && avail < hl) {
      // Not enough for the extended length: gather.
      for (let k = 0; k < avail; k++) this.hdr[this.hdrLen++] = chunk[i + k];
      return -1;
    }
    if (len === 126) len = src.readUInt16BE(p + 2);
    else if (len === 127) len = src.readUInt32BE(p + 2) * 2 ** 32 + src.readUInt32BE(p + 6);
    const next = src === chunk ? i + hl : i;
    this.hdrLen = 0;
    const opcode = b0 & 0x0f;
    const rsv = b0 & 0x70;
    this.isFin = (b0 & 0x80) !== 0;
    this.remaining = len;
    this.inPayload = true;
    if (opcode >= 8) {
      if (opcode === 8) {
        const code = len >= 2 && src === chunk && chunk.length >= next + 2 ? chunk.readUInt16BE(next) : 'unknown';
        return this.fail(`server sent a close frame (code ${code})`), -1;
      }
      if (opcode !== 9 && opcode !== 10) return this.fail(`server sent opcode ${opcode}`), -1;
      this.isControl = true; // ping/pong: skipped
      return next;
    }
    this.isControl = false;
    if (opcode === 0) {
      if (!this.inMessage) return this.fail('continuation frame outside a message'), -1;
      if (rsv) return this.fail('RSV bits on a continuation frame'), -1;
    } else {
      if (this.inMessage) return this.fail('new message inside a fragmented message'), -1;
      if (opcode !== this.opcode) return this.fail(`expected opcode ${this.opcode}, got ${opcode}`), -1;
      if (rsv & 0x30 || (rsv & 0x40 && !this.allowDeflate)) return this.fail(`unexpected RSV bits 0x${rsv.toString(16)}`), -1;
      this.inMessage = true;
      this.msgOff = 0;
      this.compressedParts = rsv & 0x40 ? [] : null;
    }
    if (!this.compressedParts && this.msgOff + len > this.payloads[this.index].length) {
      return this.fail(`message ${this.received} longer than sent (${this.msgOff + len} > ${this.payloads[this.index].length})`), -1;
    }
    return next;
  }

  push(chunk) {
    if (this.failed) return;
    let i = 0;
    let done = 0;
    const n = chunk.length;
    const fastFirst = 0x80 | this.opcode;
    while (i < n) {
      // Fast path: a whole small unfragmented frame in this chunk, compared in JS
      // (cheaper than a native call for a few dozen bytes).
      if (!this.inPayload && this.hdrLen === 0 && !this.inMessage && n - i >= 2 && chunk[i] === fastFirst) {
        const len = chunk[i + 1];
        if (len < 126 && n - i - 2 >= len) {
          const expected = this.payloads[this.index];
          if (len !== expected.length) return this.fail(`message ${this.received} has ${len} bytes, sent ${expected.length}`);
          const p = i + 2;
          for (let j = 0; j < len; j++) {
            if (chunk[p + j] !== expected[j]) return this.fail(`message ${this.received} differs from what was sent (byte ${j})`);
          }
          i = p + len;
          this.index = this.index + 1 === this.count ? 0 : this.index + 1;
          this.received++;
          done++;
          continue;
        }
      }
      if (!this.inPayload) {
        i = this.header(chunk, i);
        if (i < 0) break;
      }
      const m = Math.min(this.remaining, n - i);
      if (!this.isControl && m > 0) {
        if (this.compressedParts) this.compressedParts.push(Buffer.from(chunk.subarray(i, i + m)));
        else {
          const expected = this.payloads[this.index];
          if (chunk.compare(expected, this.msgOff, this.msgOff + m, i, i + m) !== 0) {
            return this.fail(`message ${this.received} differs from what was sent (bytes ${this.msgOff}..${this.msgOff + m})`);
          }
          this.msgOff += m;
        }
      }
      i += m;
      this.remaining -= m;
      if (this.remaining === 0) {
        this.inPayload = false;
        if (!this.isControl && this.isFin) {
          const expected = this.payloads[this.index];
          if (this.compressedParts) {
            let inflated;
            try {
              inflated = this.inflateWithContext ? this.inflateWithContext(this.compressedParts) : inflateMessage(this.compressedParts);
            } catch (err) {
              return this.fail(`message ${this.received} does not inflate: ${err.message}`);
            }
            if (!inflated.equals(expected)) return this.fail(`message ${this.received} inflates to different bytes`);
            this.compressedParts = null;
          } else if (this.msgOff !== expected.length) {
            return this.fail(`message ${this.received} shorter than sent (${this.msgOff} < ${expected.length})`);
          }
          this.inMessage = false;
          this.index = this.index + 1 === this.count ? 0 : this.index + 1;
          this.received++;
          done++;
        }
      }
    }
    if (this.failed) return;
    if (done > 0) this.onMessages(done);
  }
}

/**
 * For the raw `net` echo server, which returns the client's masked frames
 * untouched: the received byte stream must equal the sent byte stream.
 */
export class RawStreamReader {
  constructor({ pool, start, onMessages, onError }) {
    this.frames = pool.frames;
    this.starts = pool.starts;
    this.count = pool.count;
    this.index = start % this.count; // message being received
    this.off = this.starts[this.index];
    this.onMessages = onMessages;
    this.onError = onError;
    this.failed = false;
    this.received = 0;
  }

  push(chunk) {
    if (this.failed) return;
    let i = 0;
    let done = 0;
    const total = this.frames.length;
    while (i < chunk.length) {
      const m = Math.min(chunk.length - i, total - this.off);
      if (chunk.compare(this.frames, this.off, this.off + m, i, i + m) !== 0) {
        this.failed = true;
        this.onError(new Error(`raw echo differs at message ${this.received}`));
        return;
      }
      i += m;
      this.off += m;
      // Invariant: starts[index] <= off < starts[index + 1]; count the frames whose last byte arrived.
      while (this.index < this.count && this.starts[this.index + 1] <= this.off) {
        this.index++;
        this.received++;
        done++;
      }
      if (this.off === total) {
        this.off = 0;
        this.index = 0;
      }
    }
    if (done > 0) this.onMessages(done);
  }
}
