// One server socket and its ws client, for the socket tests.
import { once } from 'node:events';
import type WS from 'ws';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { openClient, startServer, within } from '../server/helpers.js';

/** A server (test/node/server/helpers.ts) with one connected `ws` client and the server side of that connection. */
export async function serverAndClient(options = {}, clientOptions: WS.ClientOptions = {}) {
  const started = await startServer(options);
  const connected = once(started.wss, 'connection');
  const client = await openClient(started.url, clientOptions);
  const [socket] = (await within(connected)) as [NodeWebSocket];
  return { ...started, client, socket };
}

/** The next `count` messages `client` receives. */
export function collect(client: WS, count: number): Promise<Array<{ data: Buffer; isBinary: boolean }>> {
  const out: Array<{ data: Buffer; isBinary: boolean }> = [];
  return new Promise((resolve) => {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      out.push({ data, isBinary });
      if (out.length === count) resolve(out);
    });
  });
}
