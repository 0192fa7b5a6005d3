/**
 * `sockwave connect` at a real terminal: util-linux `script` gives the CLI a
 * pseudo-terminal (stdin and stdout are TTYs), so the interactive mode runs
 * as a person sees it: a `> ` prompt, incoming messages printed above it with
 * `< `, and Ctrl+D / Ctrl+C closing with 1000. The peer is a `ws` server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const skip = hasScript ? undefined : "util-linux 'script' is not installed, cannot give the CLI a terminal";
if (skip) console.log(`# skipping connect TTY tests: ${skip}`);

/** Runs the CLI inside a pseudo-terminal; `type` writes keystrokes, `screen` is everything printed (escapes removed). */
function inTerminal(args: string[]) {
  const command = [process.execPath, '--import', 'tsx', `${ROOT}src/cli/main.ts`, ...args].map((a) => `'${a}'`).join(' ');
  // -e: exit with the child's code; -f: flush output at once; /dev/null: no typescript file.
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, TERM: 'dumb' } });
  let raw = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (raw += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (raw += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const done = once(child, 'close').then(([code]) => {
    clearTimeout(killer);
    return code as number | null;
  });
  const screen = () => raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');
  const waitFor = async (pattern: RegExp) => {
    const started = Date.now();
    while (!pattern.test(screen())) {
      if (Date.now() - started > 10_000 || child.exitCode !== null) throw new Error(`no ${pattern} on screen:\n${screen()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { type: (keys: string) => child.stdin.write(keys), screen, waitFor, done };
}

describe('sockwave connect at a terminal', { skip, timeout: 55_000 }, () => {
  let wss: WebSocketServer;
  let url: string;
  const closes: Array<{ code: number; reason: string }> = [];
  const peers: WebSocket[] = [];

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
    wss.on('connection', (socket: WebSocket) => {
      peers.push(socket);
      socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo: ${data}`, { binary: isBinary }));
      socket.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    });
  });

  after(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  test('prompts, prints replies and server pushes with "< ", and Ctrl+D closes with 1000 (exit 0)', async () => {
    const term = inTerminal(['connect', url, '--json']);
    await term.waitFor(/type a message and press Enter; Ctrl\+C or Ctrl\+D to close\n> /);
    term.type('hello\r');
    await term.waitFor(/< echo: hello\n/);
    // A message the server pushes on its own lands above the prompt, JSON pretty-printed.
    peers[peers.length - 1].send('{"news":[1]}');
    await term.waitFor(/< \{\n  "news": \[\n    1\n  \]\n\}\n/);
    term.type('\x04'); // Ctrl+D
    assert.equal(await term.done, 0, term.screen());
    assert.match(term.screen(), /closed: 1000\n/);
    assert.deepEqual(closes[closes.length - 1], { code: 1000, reason: '' });
  });

  test('Ctrl+C closes with 1000 and exits 0; --ping commands work at the prompt', async () => {
    const term = inTerminal(['connect', url, '--ping']);
    await term.waitFor(/\n> /);
    term.type('/ping are you there\r');
    await term.waitFor(/< pong are you there\n/);
    term.type('\x03'); // Ctrl+C
    assert.equal(await term.done, 0, term.screen());
    assert.deepEqual(closes[closes.length - 1], { code: 1000, reason: '' });
  });
});
