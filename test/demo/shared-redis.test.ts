/**
 * The demo with REDIS_URL: two demo server processes (`node demo/server.mjs`,
 * from dist/) on one real redis-server form one chat. Clients on different
 * servers exchange messages, and every message and person carries the label of
 * the server it came through; the page shows it (headless Chromium).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { freePort, RedisServer, redisSkipReason } from '../support/redis.js';
import { chromiumSkipReason, launchChromium, newPage } from './chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip =
  (existsSync(`${ROOT}dist/redis.js`) ? undefined : 'dist/ is not built (npm test builds it; or run npm run build)') ?? redisSkipReason();
if (skip) console.log(`# skipping the demo-on-Redis tests: ${skip}`);

interface Demo {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startDemo(redisUrl: string, env: Record<string, string>): Promise<Demo> {
  const child = spawn(process.execPath, [`${ROOT}demo/server.mjs`, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, ...env },
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const started = Date.now();
  while (Date.now() - started < 15_000) {
    const match = /open (http:\/\/localhost:\d+\/)/.exec(out);
    if (match && /one chat with every demo server/.test(out)) return { child, url: match[1], output: () => out };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`demo server did not start: ${out}`);
}

interface Json {
  type: string;
  [key: string]: any;
}

class Person {
  readonly messages: Json[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.messages.push(JSON.parse(String(data)) as Json);
    });
  }
  static async join(demo: Demo, name: string): Promise<Person> {
    const ws = new WebSocket(`${demo.url.replace('http', 'ws')}ws?name=${name}`, { origin: demo.url.slice(0, -1) });
    const person = new Person(ws);
    await once(ws, 'open');
    await person.waitFor((m) => m.type === 'welcome');
    return person;
  }
  async waitFor(match: (m: Json) => boolean, what = 'message'): Promise<Json> {
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const found = this.messages.find(match);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${what}; got ${JSON.stringify(this.messages)}`);
  }
  say(text: string): void {
    this.ws.send(JSON.stringify({ type: 'text', text }));
  }
}

describe('demo with REDIS_URL: two servers, one chat', { skip, timeout: 90_000 }, () => {
  let redis: RedisServer;
  let alpha: Demo;
  let beta: Demo;

  before(async () => {
    redis = await RedisServer.start();
    // One server named by DEMO_SERVER_NAME, one labelled by its address.
    alpha = await startDemo(redis.url, { DEMO_SERVER_NAME: 'alpha' });
    beta = await startDemo(redis.url, { DEMO_SERVER_NAME: '' });
  });

  after(async () => {
    for (const demo of [alpha, beta]) {
      if (demo && demo.child.exitCode === null) {
        demo.child.kill('SIGTERM');
        await once(demo.child, 'close');
      }
    }
    await redis?.dispose();
  });

  test('people on different servers see each other with their server, and each other\'s messages', async () => {
    const betaLabel = `127.0.0.1:${new URL(beta.url).port}`;
    const ann = await Person.join(alpha, 'Ann');
    const bo = await Person.join(beta, 'Bo');
    assert.equal(ann.messages[0].server, 'alpha');
    assert.equal(bo.messages[0].server, betaLabel);

    // Presence spans both servers, each person labelled with theirs.
    const hasBoth = (m: Json) => m.type === 'presence' && m.peers.length === 2;
    for (const person of [ann, bo]) {
      const presence = await person.waitFor(hasBoth, 'presence with both');
      const byName = Object.fromEntries(presence.peers.map((p: Json) => [p.name, p.server]));
      assert.deepEqual(byName, { Ann: 'alpha', Bo: betaLabel });
    }

    ann.say('hello from alpha');
    bo.say('hello from beta');
    const atBo = await bo.waitFor((m) => m.type === 'text', 'text at Bo');
    const atAnn = await ann.waitFor((m) => m.type === 'text', 'text at Ann');
    assert.deepEqual([atBo.text, atBo.from.name, atBo.from.server], ['hello from alpha', 'Ann', 'alpha']);
    assert.deepEqual([atAnn.text, atAnn.from.name, atAnn.from.server], ['hello from beta', 'Bo', betaLabel]);
    // Nobody gets their own message back.
    assert.equal(ann.messages.filter((m) => m.type === 'text').length, 1);
    assert.equal(bo.messages.filter((m) => m.type === 'text').length, 1);

    // Closing on one server reaches the other with the code and reason.
    ann.ws.close(4000, 'gone home');
    const left = await bo.waitFor((m) => m.type === 'left', 'left');
    assert.deepEqual([left.peer.name, left.peer.server, left.code, left.reason], ['Ann', 'alpha', 4000, 'gone home']);
    await bo.waitFor((m) => m.type === 'presence' && m.peers.length === 1 && m.peers[0].name === 'Bo', 'presence without Ann');
    bo.ws.close();
    await once(bo.ws, 'close');
  });

  test('in Chromium, the page shows which server each person and message came through', { skip: chromiumSkipReason() }, async () => {
    const browser = await launchChromium();
    try {
      const open = async (demo: Demo, name: string) => {
        const page = await newPage(browser);
        // The demo keeps the typed name per tab (sessionStorage; issue #12).
        await page.addInitScript((n) => sessionStorage.setItem('sockwave-demo-name', n), name);
        await page.goto(demo.url);
        await page.waitForSelector('#status[data-state="open"]', { timeout: 10_000 });
        return page;
      };
      const cleo = await open(alpha, 'Cleo');
      const dan = await open(beta, 'Dan');
      assert.equal(await cleo.textContent('#fact-server'), 'alpha');
      await cleo.waitForFunction(() => document.querySelectorAll('#peers li').length === 2, undefined, { timeout: 10_000 });
      const rows = await cleo.$$eval('#peers li', (items) =>
        items.map((li) => `${li.querySelector('.name')?.textContent}@${li.querySelector('.server')?.textContent}`),
      );
      assert.deepEqual(rows.sort(), ['Cleo@alpha', `Dan@127.0.0.1:${new URL(beta.url).port}`]);

      await cleo.fill('#text', 'across servers');
      await cleo.press('#text', 'Enter');
      await dan.waitForSelector('.entry.theirs .text', { timeout: 10_000 });
      assert.equal(await dan.textContent('.entry.theirs .text'), 'across servers');
      assert.equal(await dan.textContent('.entry.theirs .meta .server'), 'alpha');
    } finally {
      await browser.close();
    }
  });
});

describe('demo with REDIS_URL while Redis is down', { skip, timeout: 30_000 }, () => {
  test('the page and the chat endpoint still come up, and Ctrl+C still stops it', async () => {
    const nobody = `redis://127.0.0.1:${await freePort()}`;
    const demo = await startDemo(nobody, { DEMO_SERVER_NAME: 'lonely' });
    try {
      assert.equal((await fetch(demo.url)).status, 200);
      const ann = await Person.join(demo, 'Ann');
      assert.equal(ann.messages[0].server, 'lonely');
      // The backplane reports 'down' only after having been up, so a Redis that never
      // answered leaves no log line; the server must still serve and stop.
      assert.doesNotMatch(demo.output(), /redis: connected/);
      const closed = once(ann.ws, 'close');
      demo.child.kill('SIGINT');
      assert.equal((await closed)[0], 1001);
      assert.deepEqual(await once(demo.child, 'close'), [0, null]);
    } finally {
      demo.child.kill('SIGKILL');
    }
  });
});
