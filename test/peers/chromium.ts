/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core,
 * which cannot download browsers here) as a WebSocket client peer. The page
 * is served by a small HTTP server on 127.0.0.1 so the browser sends a real
 * Origin and Chromium's Local Network Access checks see a loopback page (a
 * page fulfilled by page.route() counts as public, and its sockets to
 * 127.0.0.1 fail with ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). The echo
 * bot runs in the page and reports open/close through an exposed function.
 */
import { createServer } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import type { CloseInfo } from './endpoint.js';
import type { PeerClient } from './targets.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../support/system-chromium.js';

export { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason };

/** Serves a blank page on 127.0.0.1:0; its address is the page's origin. */
async function servePage(): Promise<{ origin: string; close(): void }> {
  const server = createServer((_, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>sockwave peer</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** `ignoreCertificateErrors`: for wss:// to a throwaway self-signed certificate (tls.ts). */
export async function launchChromium(
  o: { ignoreCertificateErrors?: boolean } = {},
): Promise<{ browser: Browser; page: Page; origin: string; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const args = o.ignoreCertificateErrors ? [...CHROMIUM_ARGS, '--ignore-certificate-errors'] : [...CHROMIUM_ARGS];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args, timeout: 30_000 });
  const page = await browser.newPage();
  const site = await servePage();
  await page.goto(`${site.origin}/`);
  // The page is loaded; nothing else is fetched from it.
  site.close();
  return { browser, page, origin: site.origin, close: () => browser.close() };
}

/** The echo bot, in the page. Serialized by playwright; must not close over Node values. */
function installPageBot(): void {
  type Report = (json: string) => void;
  const w = window as unknown as { __peerEvent: Report; __openBot: unknown; __sockets: Map<number, WebSocket> };
  w.__sockets = new Map();
  w.__openBot = (id: number, url: string, protocols: string[]) => {
    const ws = new WebSocket(url, protocols);
    w.__sockets.set(id, ws);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => w.__peerEvent(JSON.stringify({ event: 'open', id, protocol: ws.protocol, extensions: ws.extensions }));
    ws.onerror = () => w.__peerEvent(JSON.stringify({ event: 'error', id }));
    ws.onclose = (e) => {
      w.__sockets.delete(id);
      w.__peerEvent(JSON.stringify({ event: 'closed', id, code: e.code, reason: e.reason }));
    };
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string' || !e.data.startsWith('#cmd ')) {
        ws.send(e.data);
        return;
      }
      const words = e.data.slice(5).split(' ');
      if (words[0] === 'info') ws.send('#info ' + JSON.stringify({ id, protocol: ws.protocol, extensions: ws.extensions }));
      else if (words[0] === 'close') ws.close(Number(words[1]), words.slice(2).join(' '));
      else if (words[0] === 'close-nocode') ws.close();
      else ws.send('#error unsupported ' + words[0]);
    };
  };
}

interface PageEvent {
  event: string;
  id: number;
  code?: number;
  reason?: string;
}

export function chromiumClientPeer(o: { ignoreCertificateErrors?: boolean } = {}): PeerClient {
  let launched: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let nextId = 1;
  const waiting = new Map<number, { open: (e: PageEvent) => void; fail: (e: Error) => void; closed: (c: CloseInfo) => void }>();
  return {
    name: 'chromium',
    canFragment: false,
    canPing: false,
    isConfigurable: false,
    canDisableDeflate: false,
    async start() {
      if (launched) return;
      launched = await launchChromium(o);
      await launched.page.exposeFunction('__peerEvent', (json: string) => {
        const event = JSON.parse(json) as PageEvent;
        const entry = waiting.get(event.id);
        if (!entry) return;
        if (event.event === 'open') entry.open(event);
        else if (event.event === 'error') entry.fail(new Error('chromium reported an error event'));
        else if (event.event === 'closed') {
          entry.fail(new Error(`chromium closed before open (${event.code})`));
          entry.closed({ code: event.code ?? 1006, reason: event.reason ?? '' });
          waiting.delete(event.id);
        }
      });
      await launched.page.evaluate(installPageBot);
    },
    async stop() {
      await launched?.close();
      launched = undefined;
    },
    async connect(url, { protocols }) {
      if (!launched) throw new Error('chromium not started');
      const id = nextId++;
      let resolveClosed!: (c: CloseInfo) => void;
      const closed = new Promise<CloseInfo>((r) => (resolveClosed = r));
      const opened = new Promise<void>((resolve, reject) => {
        waiting.set(id, { open: () => resolve(), fail: reject, closed: resolveClosed });
      });
      await launched.page.evaluate(
        ([i, u, p]) => (window as unknown as { __openBot: (i: number, u: string, p: string[]) => void }).__openBot(i, u, p),
        [id, url, protocols] as [number, string, string[]],
      );
      await opened;
      const page = launched.page;
      return {
        closed,
        async dispose() {
          await page
            .evaluate((i) => (window as unknown as { __sockets: Map<number, WebSocket> }).__sockets.get(i)?.close(), id)
            .catch(() => undefined);
        },
      };
    },
  };
}
