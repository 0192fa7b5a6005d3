#!/usr/bin/env node
// `npm start` runs this after `npm run build`: the demo chat room on
// http://localhost:8080/ (flag --port or env PORT; --host or env HOST;
// --deflate turns on permessage-deflate). With REDIS_URL (or --redis URL),
// every demo server on that Redis is one chat: run two on two ports.
import { parseArgs } from 'node:util';
import { startDemoServer } from './demo-server.mjs';

const USAGE = `Usage: node demo/server.mjs [--port N] [--host HOST] [--deflate] [--redis URL] [--name LABEL]
  --port N      port (default: $PORT or 8080; 0 picks a free port)
  --host HOST   address to bind (default: $HOST or 127.0.0.1; 0.0.0.0 to let a phone on your network in)
  --deflate     enable permessage-deflate compression
  --redis URL   share the chat with every demo server on this Redis (default: $REDIS_URL; none: this process only)
  --name LABEL  this server's label shown next to its people (default: $DEMO_SERVER_NAME or host:port)`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT || '8080' },
      host: { type: 'string', default: process.env.HOST || '127.0.0.1' },
      deflate: { type: 'boolean', default: false },
      redis: { type: 'string', default: process.env.REDIS_URL || '' },
      name: { type: 'string', default: process.env.DEMO_SERVER_NAME || '' },
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

if (values.redis && !/^rediss?:\/\//.test(values.redis)) {
  console.error(`error: REDIS_URL must be a redis:// or rediss:// URL, got '${values.redis}'\n\n${USAGE}`);
  process.exit(2);
}

let WebSocketServer;
let TopicHub;
try {
  ({ WebSocketServer, TopicHub } = await import('../dist/index.js'));
} catch (error) {
  console.error(`error: cannot load sockwave from dist/ (${error.message}); run 'npm run build' first, or use 'npm start'`);
  process.exit(1);
}

let shared;
if (values.redis) {
  let RedisBackplane;
  try {
    // @redis/client is an optional peer dependency (installed with the dev dependencies).
    ({ RedisBackplane } = await import('../dist/redis.js'));
  } catch (error) {
    console.error(`error: REDIS_URL needs @redis/client (npm install @redis/client): ${error.message}`);
    process.exit(1);
  }
  shared = {
    TopicHub,
    name: values.name.slice(0, 100),
    // One key prefix for every demo server, apart from other users of the same Redis.
    createBackplane: ({ historySize }) => new RedisBackplane({ url: values.redis, keyPrefix: 'sockwave-demo:', historySize }),
  };
}

let demo;
try {
  demo = await startDemoServer({
    WebSocketServer,
    port,
    host: values.host,
    deflate: values.deflate,
    shared,
    log: (line) => console.log(line),
  });
} catch (error) {
  console.error(`error: cannot listen on ${values.host}:${port}: ${error.message}`);
  process.exit(1);
}

console.log(`sockwave demo: open ${demo.url} in a few tabs (WebSocket endpoint ${demo.url.replace(/^http/, 'ws')}ws)`);
if (shared) console.log(`server ${demo.label}: one chat with every demo server on ${values.redis}`);
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
