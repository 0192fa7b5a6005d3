// Interop: sockwave server <- headless Chromium's WebSocket (always offers permessage-deflate; client_max_window_bits).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { behaviourSuite } from './behaviour.js';
import { launchChromium } from './chromium.js';
import { loadSockwave } from './subjects.js';
import { peers, serverTargets } from './sockwave-targets.js';

// One peer object; each target launches its own browser in before() and closes it in after().
for (const target of serverTargets(peers.chromiumClient(), undefined, peers.chromiumSkip())) behaviourSuite(target);

// Cross-site WebSocket hijacking (issue 6): a real browser sends its page's
// Origin; a server whose allowedOrigins does not list it answers 403 and the
// page only sees error + close 1006, while the listed origin connects.

test('sockwave server with allowedOrigins: Chromium from a foreign origin gets 403 (error, close 1006); from a listed origin it connects', { skip: peers.chromiumSkip(), timeout: 60_000 }, async (t) => {
  const { WebSocketServer } = await loadSockwave('node/server/server');
  const browser = await launchChromium();
  const rejected: Array<{ status: number; origin?: string }> = [];
  const servers: Array<{ close(): unknown }> = [];
  try {
    const open = async (allowedOrigins: string[]) => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, allowedOrigins });
      servers.push(server);
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      server.on('connection', (socket: { send(d: string): void; on(e: string, f: (d: Buffer) => void): void }) =>
        socket.on('message', (d) => socket.send(String(d))),
      );
      return `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
    };
    const diagnostics = await import('node:diagnostics_channel');
    const onRejected = (message: unknown) => rejected.push(message as { status: number });
    diagnostics.subscribe('sockwave:handshake-rejected', onRejected);
    t.after(() => diagnostics.unsubscribe('sockwave:handshake-rejected', onRejected));

    const tryFromPage = (url: string) =>
      browser.page.evaluate(
        (u) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(u);
            const events: string[] = [];
            ws.onopen = () => {
              events.push('open');
              ws.send('hi');
            };
            ws.onmessage = (e) => {
              events.push(`message ${e.data}`);
              ws.close(1000);
            };
            ws.onerror = () => events.push('error');
            ws.onclose = (e) => {
              events.push(`close ${e.code}`);
              resolve(events.join(', '));
            };
          }),
        url,
      );
    const foreign = await tryFromPage(await open(['https://app.example']));
    const listed = await tryFromPage(await open([browser.origin]));
    t.diagnostic(`page origin ${browser.origin}: foreign server -> "${foreign}"; listing it -> "${listed}"`);
    assert.equal(foreign, 'error, close 1006');
    assert.equal(listed, 'open, message hi, close 1000');
    assert.equal(rejected.filter((r) => r.status === 403).length, 1, 'the 403 was published on sockwave:handshake-rejected');
  } finally {
    for (const server of servers) server.close();
    await browser.close();
  }
});
