// A Node client, two ways: the ws-style `connect()` (events with Buffers,
// send callbacks, backpressure) and the browser-standard `WebSocket` class.
//
//   node examples/node-client.mjs ws://localhost:8080 "hello"
//
// Sends each message, prints each reply, and closes when every message has
// been answered (or after 5 seconds).
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { connect, WebSocket } from 'sockwave';

/** ws-style: resolves with the replies, one per message sent. */
export async function exchange(url, messages, { timeoutMs = 5000 } = {}) {
  const socket = connect(url, { headers: { 'User-Agent': 'sockwave-example' } });
  await once(socket, 'open'); // rejects if 'error' comes first (refused, bad handshake)
  const replies = [];
  const done = new Promise((resolve) => {
    socket.on('message', (data, isBinary) => {
      replies.push(isBinary ? data : data.toString('utf8'));
      if (replies.length === messages.length) resolve();
    });
  });
  for (const message of messages) {
    // send() returns false when the message was queued: wait for 'drain'
    // before sending more, so a slow server cannot make us buffer without bound.
    if (!socket.send(message)) await once(socket, 'drain');
  }
  const timer = setTimeout(() => socket.close(1000, 'timeout'), timeoutMs);
  await Promise.race([done, once(socket, 'close')]);
  clearTimeout(timer);
  if (socket.readyState === 1) socket.close(1000, 'done');
  if (socket.readyState !== 3) await once(socket, 'close');
  return replies;
}

/** Browser-standard: the same code runs in a page. Resolves with the first reply. */
export function firstReply(url, message) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => ws.send(message);
    ws.onmessage = (event) => {
      resolve(event.data);
      ws.close(1000);
    };
    ws.onerror = () => reject(new Error(`could not talk to ${url}`));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [url = 'ws://localhost:8080', ...messages] = process.argv.slice(2);
  try {
    for (const reply of await exchange(url, messages.length ? messages : ['hello'])) console.log(reply);
    console.log(`WebSocket class: ${await firstReply(url, 'one more')}`);
  } catch (error) {
    // One line, not a stack trace: the usual cause is that no server is running at url.
    console.error(`error: could not talk to ${url}: ${error.message} (is a server running? try: npx sockwave listen --echo)`);
    process.exitCode = 1;
  }
}
