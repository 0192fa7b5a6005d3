/**
 * Heartbeat and idle timeout for one socket, driven by the shared timer wheel
 * (no Node timer per socket).
 *
 * Heartbeat: when nothing arrived from the peer for `intervalMs`, send a ping;
 * if neither the pong nor any other byte arrives within `timeoutMs`, the peer
 * is gone (half-open TCP, sleeping laptop): terminate the transport. A socket
 * with traffic is never pinged, so busy servers send no extra frames.
 * The round trip of the last answered ping is `latencyMicros` (the socket's `latencyMs`).
 *
 * Idle timeout: when no data message went either way for `idleTimeoutMs`,
 * close with 1001 (going away). Pings and pongs do not count as activity,
 * otherwise the heartbeat would keep every idle connection alive forever.
 *
 * The functions here work on the socket's own state (socket/state.ts), which
 * is the heartbeat's wheel entry itself: an idle socket carries a few fields
 * for its heartbeat, not a tracker object of its own.
 */
import { sharedWheel, type TimerEntry } from './timer-wheel.js';

export interface HeartbeatOptions {
  /** Time without traffic from the peer before we ping, in ms. */
  intervalMs: number;
  /** Time to wait for the pong (or any traffic), in ms; then terminate. */
  timeoutMs: number;
}

/**
 * What the heartbeat keeps on a socket and asks of it. As a TimerEntry it is
 * the heartbeat's deadline: its `onTimer()` calls `heartbeatTimer()`.
 */
export interface LivenessState extends TimerEntry {
  /** Set by the socket on every chunk received (a bit in its flags: cheap). */
  sawTraffic: boolean;
  /** Set by the socket on every data message sent or received. */
  sawMessage: boolean;
  /**
   * performance.now() when our unanswered ping went out; undefined when none
   * is. (Not -1: a field that starts as a small integer and later holds a
   * fraction makes V8 box a number in every socket, pinged or not.)
   */
  pingSentAt: number | undefined;
  /**
   * Round trip of the last answered ping, in whole microseconds: a small
   * integer, where a fraction of a ms would be a boxed heap number kept on
   * every pinged socket.
   */
  latencyMicros: number | undefined;
  /** The idle timeout's wheel entry; only made when an idle timeout is set. */
  idleEntry: TimerEntry | undefined;
  sendHeartbeatPing(): void;
  onHeartbeatTimeout(timeoutMs: number): void;
  onIdleTimeout(): void;
}

/** Schedules the first heartbeat and the idle timeout (each only when on). */
export function startLiveness(s: LivenessState, heartbeat: HeartbeatOptions | false, idleTimeoutMs: number): void {
  if (heartbeat !== false) sharedWheel.schedule(s, heartbeat.intervalMs);
  if (idleTimeoutMs !== Infinity) {
    // The timeout lives in this closure, not in a field: a field holding
    // Infinity (the default: off) would be a boxed heap number on every socket.
    const entry: TimerEntry = { wheelPrev: undefined, wheelNext: undefined, onTimer: () => idleTimer(s, entry, idleTimeoutMs) };
    s.idleEntry = entry;
    sharedWheel.schedule(entry, idleTimeoutMs);
  }
}

/** Takes the state's fields only, so the socket's close path (below its sink) can call it. */
export function stopLiveness(s: Pick<LivenessState, 'wheelPrev' | 'wheelNext' | 'idleEntry'>): void {
  // The wheel reads only the links to cancel: these fields are the heartbeat's entry.
  sharedWheel.cancel(s as LivenessState);
  if (s.idleEntry !== undefined) sharedWheel.cancel(s.idleEntry);
}

/** A pong arrived: measure the round trip of our outstanding ping. */
export function notePong(s: LivenessState): void {
  const sentAt = s.pingSentAt;
  if (sentAt !== undefined) {
    s.latencyMicros = Math.round((performance.now() - sentAt) * 1000);
    s.pingSentAt = undefined;
  }
}

/** The heartbeat deadline (the state's TimerEntry.onTimer). */
export function heartbeatTimer(s: LivenessState, heartbeat: HeartbeatOptions): void {
  if (s.sawTraffic) {
    // Any byte from the peer proves it is alive; a pong still in flight is
    // then no longer needed for liveness (its latency is simply not taken).
    s.sawTraffic = false;
    s.pingSentAt = undefined;
    sharedWheel.schedule(s, heartbeat.intervalMs);
    return;
  }
  if (s.pingSentAt !== undefined) {
    s.onHeartbeatTimeout(heartbeat.timeoutMs);
    return;
  }
  s.pingSentAt = performance.now();
  s.sendHeartbeatPing();
  sharedWheel.schedule(s, heartbeat.timeoutMs);
}

function idleTimer(s: LivenessState, entry: TimerEntry, idleTimeoutMs: number): void {
  if (s.sawMessage) {
    s.sawMessage = false;
    sharedWheel.schedule(entry, idleTimeoutMs);
    return;
  }
  s.onIdleTimeout();
}
