// The load of each workload, as loadgen.mjs takes it (run.mjs, ab.mjs and
// profile.mjs share them, so a workload means the same thing in all three).
export const LOADS = {
  'small-echo': { kind: 'echo', size: 32, conns: 100, inflight: 16, poolCount: 4096 },
  'echo-64k': { kind: 'echo', size: 65536, conns: 16, inflight: 2, poolCount: 16 },
  'echo-1m': { kind: 'echo', size: 1048576, conns: 8, inflight: 2, poolCount: 4 },
  // Issue 16's large-message runs: 10 connections from a C generator (bench/native/echo-large.c), one message each in flight.
  'echo-64k-c': { kind: 'echo-c', size: 65536, conns: 10, inflight: 1 },
  'echo-1m-c': { kind: 'echo-c', size: 1048576, conns: 10, inflight: 1 },
  handshakes: { kind: 'handshakes', concurrency: 64 },
  'handshake-close': { kind: 'handshakes', concurrency: 32, serverClosesFirst: true },
  'handshake-close-c': { kind: 'handshakes-c', concurrency: 32 },
  broadcast: { kind: 'broadcast', conns: 1000, size: 32, window: 128 },
  'deflate-echo': { kind: 'echo', size: 2048, text: true, deflate: true, conns: 50, inflight: 4, poolCount: 256 },
};
