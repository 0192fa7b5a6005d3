// sockwave next to an Express app on one port: Express answers HTTP,
// sockwave takes the WebSocket upgrades on /ws.
//
//   node examples/express.mjs      (needs `npm install express`)
//   curl http://localhost:8080/health
//   sockwave connect ws://localhost:8080/ws
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { WebSocketServer } from 'sockwave';

export async function startExpressApp({ port = 8080, host = '127.0.0.1' } = {}) {
  const app = express();
  app.get('/health', (_req, res) => res.json({ ok: true, sockets: wss.clients.size }));

  const server = app.listen(port, host);
  await once(server, 'listening');
  // `server` mode: sockwave listens to the HTTP server's 'upgrade' event; other
  // paths get a 400, plain requests keep going to Express.
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });

  const { port: actual } = server.address();
  return {
    app,
    wss,
    httpUrl: `http://${host}:${actual}`,
    url: `ws://${host}:${actual}/ws`,
    async close() {
      await wss.close({ code: 1001, timeoutMs: 1000 });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { httpUrl, url } = await startExpressApp({ port: Number(process.env.PORT ?? 8080) });
  console.log(`Express on ${httpUrl}/health, WebSocket echo on ${url}`);
}
