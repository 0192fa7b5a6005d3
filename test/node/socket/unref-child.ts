/**
 * Child process for lifetime.test.ts: opens a client in the mode given on
 * the command line and prints 'ready'; whether the process then exits on its
 * own is what the test checks.
 *   socket <url> unref|ref          connect(), unref() while CONNECTING (or not)
 *   reconnecting <url> unref|ref    a ReconnectingWebSocket retrying a closed port
 */
import { connect } from '../../../src/node/socket/connect.js';
import { ReconnectingWebSocket } from '../../../src/node/reconnect/reconnecting-websocket.js';

const [mode, url, refMode] = process.argv.slice(2);
if (mode === 'socket') {
  const socket = connect(url);
  if (refMode === 'unref') socket.unref();
  socket.on('open', () => console.log('ready'));
} else {
  const client = new ReconnectingWebSocket(url, { minDelayMs: 50, maxDelayMs: 100 });
  if (refMode === 'unref') client.unref();
  client.once('disconnect', () => console.log('ready'));
}
