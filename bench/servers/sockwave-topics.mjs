// sockwave topics (bench/topics-fanout.mjs): every connection subscribes to the
// topic 'all'; a message received from any connection is `wss.publish()`ed to it
// (framed once, written to each subscriber). Loaded from dist/.
//   REDIS_URL=redis://...   topics on the Redis backplane (several processes, one fan-out)
//   SUBSCRIBE=manual        do not subscribe on connect; stdin `subscribe K` subscribes
//                           every open socket to K topics and answers `SUBSCRIBED n`
//                           (memory per subscription)
//   CONTEXT_TAKEOVER=compress|uncompressed   the topics option, with --deflate
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from './common.mjs';

const { WebSocketServer } = await import(new URL('../../dist/index.js', import.meta.url).href);
let backplane;
if (process.env.REDIS_URL) {
  const { RedisBackplane } = await import(new URL('../../dist/redis.js', import.meta.url).href);
  // No history: the bench measures live fan-out, not the recovery store.
  backplane = new RedisBackplane({ url: process.env.REDIS_URL, keyPrefix: `bench${process.env.BENCH_PREFIX ?? ''}:`, historySize: 0 });
}
const wss = new WebSocketServer({
  host: HOST,
  port: 0,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  perMessageDeflate: mode.deflate,
  topics: { backplane, contextTakeover: process.env.CONTEXT_TAKEOVER || undefined },
});
const isManual = process.env.SUBSCRIBE === 'manual';
wss.on('connection', (socket) => {
  socket.on('error', () => {});
  if (!isManual) socket.subscribe('all').catch((err) => console.error(`subscribe: ${err.message}`));
  socket.on('message', (data, isBinary) => {
    wss.publish('all', data, { binary: isBinary }).catch((err) => console.error(`publish: ${err.message}`));
  });
});
wss.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
wss.on('listening', () =>
  ready(wss.address().port, backplane ? 'redis' : 'embedded', {
    subscribe: async ([k]) => {
      const pending = [];
      for (const socket of wss.clients) {
        for (let t = 0; t < Number(k); t++) pending.push(socket.subscribe(`t/${t}`));
      }
      await Promise.all(pending);
      return `SUBSCRIBED ${pending.length}`;
    },
  }),
);
