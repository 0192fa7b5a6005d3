#!/usr/bin/env node
// `npm start` runs this after `npm run build`: the demo chat room on
// http://localhost:8080/ (flag --port or env PORT; --host or env HOST;
// --deflate turns on permessage-deflate).
import { parseArgs } from 'node:util';
import { startDemoServer } from './demo-server.mjs';

const USAGE = `Usage: node demo/server.mjs [--port N] [--host HOST] [--deflate]
  --port N      port (default: $PORT or 8080; 0 picks a free port)
  --host HOST   address to bind (default: $HOST or 127.0.0.1; 0.0.0.0 to let a phone on your network in)
  --deflate     enable permessage-deflate compression`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT || '8080' },
      host: { type: 'string', default: process.env.HOST || '127.0.0.1' },
      deflate: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`error: ${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65535) {
  console.error(`error: port must be an integer from 0 to 65535, got '${values.port}'\n\n${USAGE}`);
  process.exit(2);
}

let WebSocketServer;
try {
  ({ WebSocketServer } = await import('../dist/index.js'));
} catch (error) {
  console.error(`error: cannot load sockwave from dist/ (${error.message}); run 'npm run build' first, or use 'npm start'`);
  process.exit(1);
}

let demo;
try {
  demo = await startDemoServer({
    WebSocketServer,
    port,
    host: values.host,
    deflate: values.deflate,
    log: (line) => console.log(line),
  });
} catch (error) {
  console.error(`error: cannot listen on ${values.host}:${port}: ${error.message}`);
  process.exit(1);
}

console.log(`sockwave demo: open ${demo.url} in a few tabs (WebSocket endpoint ${demo.url.replace(/^http/, 'ws')}ws)`);
console.log('Ctrl+C stops the server');

let isStopping = false;
const stop = async () => {
  if (isStopping) process.exit(1);
  isStopping = true;
  console.log('stopping: closing clients with 1001');
  await demo.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
