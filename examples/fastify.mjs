// sockwave with Fastify, using `noServer` and handleUpgrade(): you decide
// which upgrade requests sockwave gets (here: /ws after a token check), the
// pattern that also works for several WebSocket servers on one port.
//
//   node examples/fastify.mjs      (needs `npm install fastify`)
//   sockwave connect 'ws://localhost:8080/ws?token=demo'
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { WebSocketServer } from 'sockwave';

export async function startFastifyApp({ port = 8080, host = '127.0.0.1' } = {}) {
  const app = Fastify({ logger: false });
  const wss = new WebSocketServer({ noServer: true });
  app.get('/health', async () => ({ ok: true, sockets: wss.clients.size }));

  wss.on('connection', (socket, request) => {
    socket.send(`hello from fastify, you asked for ${request.url}`);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });

  app.server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws' || url.searchParams.get('token') !== 'demo') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  await app.listen({ port, host });
  const { port: actual } = app.server.address();
  return {
    app,
    wss,
    httpUrl: `http://${host}:${actual}`,
    url: `ws://${host}:${actual}/ws?token=demo`,
    async close() {
      await wss.close({ code: 1001, timeoutMs: 1000 });
      await app.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { httpUrl, url } = await startFastifyApp({ port: Number(process.env.PORT ?? 8080) });
  console.log(`Fastify on ${httpUrl}/health, WebSocket echo on ${url}`);
}
