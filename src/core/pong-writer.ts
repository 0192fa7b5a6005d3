/**
 * Automatic pongs for a sink that calls every write callback
 * (sink.callsWriteCallbacks). RFC 6455 §5.5.3: "If an endpoint receives a
 * Ping frame and has not yet sent Pong frame(s) in response to previous Ping
 * frame(s), the endpoint MAY elect to send a Pong frame for only the most
 * recently processed Ping frame." While our last pong has not been written
 * out (its callback has not run), later pings only replace the payload of one
 * deferred pong, so a peer that floods pings and never reads cannot grow our
 * output. Issue 11: the core used to wait for callbacks from every sink, and a
 * sink that ignored them answered one ping, ever.
 *
 * A Connection makes one on the first ping it answers (issue 16: an idle
 * connection carries none of this bookkeeping).
 */
import { Opcode } from './frame.js';
import { ReadyState, type ConnectionSink, type MaskSource } from './events.js';
import { writeFrame, type WriteCallback } from './frame-writer.js';

export class PongWriter {
  private readonly sink: ConnectionSink;
  private readonly maskSource: MaskSource | undefined;
  /** The connection: a deferred pong goes out only while it is still OPEN. */
  private readonly owner: { readonly readyState: ReadyState };
  private isInFlight = false;
  private deferred: Buffer | undefined = undefined;
  private readonly onWritten: WriteCallback;

  constructor(sink: ConnectionSink, maskSource: MaskSource | undefined, owner: { readonly readyState: ReadyState }) {
    this.sink = sink;
    this.maskSource = maskSource;
    this.owner = owner;
    this.onWritten = () => this.afterWrite();
  }

  /** Answers a ping with the same payload, or defers it behind the pong in flight. */
  answer(payload: Buffer): void {
    if (this.isInFlight) {
      this.deferred = Buffer.from(payload); // the payload is a view of the socket chunk
      return;
    }
    this.isInFlight = true;
    writeFrame(this.sink, Opcode.PONG, payload, true, false, this.maskSource, this.onWritten);
  }

  private afterWrite(): void {
    this.isInFlight = false;
    const deferred = this.deferred;
    if (deferred === undefined) return;
    this.deferred = undefined;
    if (this.owner.readyState === ReadyState.OPEN) this.answer(deferred);
  }
}
