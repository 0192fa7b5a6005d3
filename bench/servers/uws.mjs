// uWebSockets.js (native, C++): the bar set by a native server.
import { createRequire } from 'node:module';
import { HOST, MAX_MESSAGE_BYTES, mode, ready } from './common.mjs';

const uWS = createRequire(import.meta.url)('uwebsockets');
const app = uWS.App();
app.ws('/*', {
  maxPayloadLength: MAX_MESSAGE_BYTES,
  // Default 64 KiB would drop 1 MiB echoes and broadcast bursts; ws queues without limit.
  maxBackpressure: 256 * 1024 * 1024,
  idleTimeout: 0,
  compression: mode.deflate ? uWS.SHARED_COMPRESSOR : uWS.DISABLED,
  open: (ws) => {
    if (mode.broadcast) ws.subscribe('all');
  },
  message: mode.broadcast
    ? (ws, message, isBinary) => app.publish('all', message, isBinary)
    : (ws, message, isBinary) => ws.send(message, isBinary),
});
app.listen(HOST, 0, (token) => {
  if (!token) {
    console.error('uWS listen failed');
    process.exit(1);
  }
  ready(uWS.us_socket_local_port(token));
});
