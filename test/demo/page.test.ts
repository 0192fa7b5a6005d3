/**
 * The seed scenario in headless Chromium: the demo page served by sockwave's
 * own server (from src), two tabs in one browser talking through it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startDemoServer, type DemoServer } from '../../demo/demo-server.mjs';
import { WebSocketServer } from '../../src/index.js';
import { chromiumSkipReason, launchChromium, newPage } from './chromium.js';

const skip = chromiumSkipReason();
if (skip) console.log(`# skipping demo page tests: ${skip}`);

describe('demo page', { skip, timeout: 55_000 }, () => {
  let demo: DemoServer;
  let browser: Browser;
  let alice: Page;
  let bob: Page;

  const openTab = async (name: string): Promise<Page> => {
    const page = await newPage(browser, { viewport: { width: 1200, height: 800 } });
    page.on('pageerror', (error) => console.log(`# page error in ${name}: ${error.message}`));
    await page.addInitScript((n) => sessionStorage.setItem('sockwave-demo-name', n), name);
    await page.goto(demo.url);
    await page.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
    return page;
  };

  before(async () => {
    demo = await startDemoServer({ WebSocketServer, port: 0 });
    browser = await launchChromium();
    alice = await openTab('Alice');
    bob = await openTab('Bob');
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  test('page goes from connecting to open and shows the endpoint', async () => {
    const states = await alice.evaluate(() => (window as any).demo.states);
    assert.deepEqual(states.slice(0, 2), ['connecting', 'open']);
    assert.match(await alice.textContent('#fact-url') ?? '', /^ws:\/\/localhost:\d+\/ws\?name=Alice$/);
    assert.equal(await alice.textContent('#status-text'), 'open');
  });

  test('the presence list shows both tabs by the names they chose', async () => {
    await bob.waitForFunction(() => document.querySelectorAll('#peers li').length === 2);
    const names = await alice.$$eval('#peers li .name', (items) => items.map((li) => li.textContent));
    assert.deepEqual(names.sort(), ['Alice', 'Bob']);
    assert.equal(await alice.textContent('#peers li.me .name'), 'Alice');
    assert.equal(await alice.textContent('#peer-count'), '2');
  });

  test('text sent in one tab appears in the other', async () => {
    await alice.fill('#text', 'hello Bob <b>not bold</b>');
    await alice.press('#text', 'Enter');
    const bubble = await bob.waitForSelector('.entry.theirs .text');
    assert.equal(await bubble.textContent(), 'hello Bob <b>not bold</b>');
    assert.equal(await bob.$('.entry.theirs .text b'), null, 'text is shown as text, not HTML');
    assert.match((await bob.textContent('.entry.theirs .meta')) ?? '', /^Alice/);
  });

  test('a 5 MiB file sent from one tab arrives byte-identical in the other', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const expected = createHash('sha256').update(bytes).digest('hex');
    // Record every progress text both pages show, to check progress is reported along the way.
    for (const page of [alice, bob]) {
      await page.evaluate(() => {
        const seen: string[] = ((window as any).progressSeen = []);
        new MutationObserver(() => {
          for (const detail of Array.from(document.querySelectorAll('.detail'))) seen.push(detail.textContent ?? '');
        }).observe(document.getElementById('messages')!, { subtree: true, childList: true, characterData: true });
      });
    }
    await alice.setInputFiles('#file', { name: 'random-bytes-with-a-name-longer-than-32-characters.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await bob.waitForSelector('li[data-file-id][data-state="done"]', { timeout: 30_000 });
    const received = await bob.evaluate(() => {
      const [file] = [...(window as any).demo.files.values()];
      return { name: file.name, size: file.size, sha256: file.sha256, from: file.from.name };
    });
    assert.deepEqual(received, { name: 'random-bytes-with-a-name-longer-than-32-characters.bin', size: bytes.length, sha256: expected, from: 'Alice' });
    await alice.waitForSelector('.entry.mine[data-state="done"]', { timeout: 10_000 });
    const link = await bob.getAttribute('li[data-file-id] a.download', 'download');
    assert.equal(link, 'random-bytes-with-a-name-longer-than-32-characters.bin');
    const isPartial = (text: string) => /^(sending|receiving) ([1-9]|[1-9]\d)%$/.test(text);
    assert.ok((await alice.evaluate(() => (window as any).progressSeen as string[])).some(isPartial), 'sender showed progress');
    assert.ok((await bob.evaluate(() => (window as any).progressSeen as string[])).some(isPartial), 'receiver showed progress');
  });

  test('the page fits a 360 px phone screen without horizontal scrolling', async () => {
    const phone = await newPage(browser, { viewport: { width: 360, height: 740 } });
    try {
      await phone.goto(demo.url);
      await phone.waitForSelector('#status[data-state="open"]');
      // A long unbroken word must wrap instead of widening the page.
      await alice.fill('#text', 'x'.repeat(300));
      await alice.press('#text', 'Enter');
      await phone.waitForSelector('.entry.theirs .text');
      const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
      assert.ok(widths.page <= widths.viewport, `page is ${widths.page} px wide on a ${widths.viewport} px screen`);
      const columns = await phone.evaluate(() => getComputedStyle(document.querySelector('.layout')!).gridTemplateColumns.split(' ').length);
      assert.equal(columns, 1, 'one column on a phone');
    } finally {
      await phone.close();
    }
  });

  test('an invalid close code shows the browser error and keeps the connection', async () => {
    await bob.fill('#close-code', '999');
    await bob.click('#close');
    assert.match((await bob.textContent('#close-error')) ?? '', /InvalidAccessError/);
    assert.equal(await bob.getAttribute('#status', 'data-state'), 'open');
  });

  test('closing with a code and reason is seen by both sides', async () => {
    await alice.fill('#close-code', '4000');
    await alice.fill('#close-reason', 'bye from Alice');
    await alice.click('#close');
    await alice.waitForSelector('#status[data-state="closed"]');
    // Issue 12: the pill shows the reason typed here, then what the server echoed (it may send none).
    assert.match((await alice.textContent('#status-text')) ?? '', /^closed · you: 4000 · bye from Alice · server: 4000 · (bye from Alice · )?clean$/);
    assert.match((await alice.textContent('.entry.system:last-child')) ?? '', /^you closed with 4000 · bye from Alice; the server answered 4000/);
    const states = await alice.evaluate(() => (window as any).demo.states);
    assert.deepEqual(states, ['connecting', 'open', 'closing', 'closed']);
    const left = await bob.waitForSelector('.entry.system[data-close-code="4000"]');
    assert.equal(await left.textContent(), 'Alice left · 4000 · bye from Alice');
    assert.ok(demo.events.some((e) => e.type === 'close' && e.name === 'Alice' && e.code === 4000 && e.reason === 'bye from Alice'));
    await bob.waitForFunction(() => document.querySelectorAll('#peers li').length === 1);
  });

  test('issue 12: a second tab in the same browser starts as its own guest, not under the first tab\'s name', async () => {
    const context = await browser.newContext();
    try {
      const first = await context.newPage();
      await first.goto(demo.url);
      await first.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
      await first.fill('#name', 'Carol');
      await first.press('#name', 'Enter');
      await first.waitForFunction(() => document.querySelector('#peers li.me .name')?.textContent === 'Carol');
      const second = await context.newPage();
      await second.goto(demo.url);
      await second.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
      await second.waitForFunction(() => Boolean(document.querySelector('#peers li.me .name')?.textContent));
      assert.match((await second.textContent('#peers li.me .name')) ?? '', /^guest-/);
      assert.equal(await second.inputValue('#name'), '');
      // A reload of the first tab keeps its name.
      await first.reload();
      await first.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
      assert.equal(await first.inputValue('#name'), 'Carol');
    } finally {
      await context.close();
    }
  });

  test('reconnect (offered right under the close notice) opens a new connection that the other tab sees', async () => {
    await alice.click('.entry.system:last-child button.inline-action');
    await alice.waitForSelector('#status[data-state="open"]');
    assert.equal(await alice.$('.inline-action'), null, 'the inline Reconnect goes away once open');
    await bob.waitForFunction(() => document.querySelectorAll('#peers li').length === 2);
    await alice.fill('#text', 'back again');
    await alice.press('#text', 'Enter');
    await bob.waitForFunction(() => Array.from(document.querySelectorAll('.entry.theirs .text')).some((e) => e.textContent === 'back again'));
  });

  test('a server shutdown closes the page with 1001', async () => {
    await demo.close();
    await bob.waitForSelector('#status[data-state="closed"]', { timeout: 5000 });
    assert.equal(await bob.textContent('#status-text'), 'closed · 1001 · server shutting down · clean');
    // With the server gone, reconnecting fails visibly: 1006, not clean.
    await bob.click('#reconnect');
    await bob.waitForFunction(() => /^closed · 1006/.test(document.getElementById('status-text')?.textContent ?? ''), null, { timeout: 5000 });
    assert.equal(await bob.textContent('#status-text'), 'closed · 1006 · not clean');
    assert.equal(await bob.isDisabled('#send'), true, 'sending is disabled while closed');
  });
});
