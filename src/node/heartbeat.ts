/**
 * Heartbeat and idle timeout for one socket, driven by the shared timer wheel
 * (no Node timer per socket).
 *
 * Heartbeat: when nothing arrived from the peer for `intervalMs`, send a ping;
 * if neither the pong nor any other byte arrives within `timeoutMs`, the peer
 * is gone (half-open TCP, sleeping laptop): terminate the transport. A socket
 * with traffic is never pinged, so busy servers send no extra frames.
 * The round trip of the last answered ping is `latencyMs`.
 *
 * Idle timeout: when no data message went either way for `idleTimeoutMs`,
 * close with 1001 (going away). Pings and pongs do not count as activity,
 * otherwise the heartbeat would keep every idle connection alive forever.
 */
import { sharedWheel, type TimerEntry } from './timer-wheel.js';

export interface HeartbeatOptions {
  /** Time without traffic from the peer before we ping, in ms. */
  intervalMs: number;
  /** Time to wait for the pong (or any traffic), in ms; then terminate. */
  timeoutMs: number;
}

/** What the liveness tracker needs from a socket. */
export interface LivenessTarget {
  sendHeartbeatPing(): void;
  onHeartbeatTimeout(timeoutMs: number): void;
  onIdleTimeout(): void;
}

/**
 * The tracker is itself the heartbeat's wheel entry (`bucket`/`onTimer`), so
 * an idle socket carries one small object, not an entry plus a closure.
 */
export class Liveness implements TimerEntry {
  bucket = -1;
  /** Set by the socket on every chunk received (a field write: cheap). */
  sawTraffic = false;
  /** Set by the socket on every data message sent or received. */
  sawMessage = false;
  latencyMs: number | undefined = undefined;
  readonly #target: LivenessTarget;
  readonly #heartbeat: HeartbeatOptions | false;
  #pingSentAt = -1;
  readonly #idleEntry: TimerEntry | undefined;

  constructor(target: LivenessTarget, heartbeat: HeartbeatOptions | false, idleTimeoutMs: number) {
    this.#target = target;
    this.#heartbeat = heartbeat;
    if (heartbeat !== false) sharedWheel.schedule(this, heartbeat.intervalMs);
    if (idleTimeoutMs !== Infinity) {
      // The timeout lives in this closure, not in a field: with the idle
      // timeout off (the default) a field would hold Infinity, a double V8
      // boxes in a separate heap number on every socket.
      this.#idleEntry = { bucket: -1, onTimer: () => this.#onIdleTimer(idleTimeoutMs) };
      sharedWheel.schedule(this.#idleEntry, idleTimeoutMs);
    }
  }

  /** A pong arrived: measure the round trip of our outstanding ping. */
  onPong(): void {
    if (this.#pingSentAt >= 0) {
      this.latencyMs = performance.now() - this.#pingSentAt;
      this.#pingSentAt = -1;
    }
  }

  stop(): void {
    sharedWheel.cancel(this);
    if (this.#idleEntry !== undefined) sharedWheel.cancel(this.#idleEntry);
  }

  /** The heartbeat deadline (TimerEntry). */
  onTimer(): void {
    const heartbeat = this.#heartbeat as HeartbeatOptions;
    const entry = this;
    if (this.sawTraffic) {
      // Any byte from the peer proves it is alive; a pong still in flight is
      // then no longer needed for liveness (its latency is simply not taken).
      this.sawTraffic = false;
      this.#pingSentAt = -1;
      sharedWheel.schedule(entry, heartbeat.intervalMs);
      return;
    }
    if (this.#pingSentAt >= 0) {
      this.#target.onHeartbeatTimeout(heartbeat.timeoutMs);
      return;
    }
    this.#pingSentAt = performance.now();
    this.#target.sendHeartbeatPing();
    sharedWheel.schedule(entry, heartbeat.timeoutMs);
  }

  #onIdleTimer(idleTimeoutMs: number): void {
    if (this.sawMessage) {
      this.sawMessage = false;
      sharedWheel.schedule(this.#idleEntry as TimerEntry, idleTimeoutMs);
      return;
    }
    this.#target.onIdleTimeout();
  }
}
