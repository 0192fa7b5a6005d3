import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { Readable, Writable } from 'node:stream';
import { exitCodeForClose, parseHeaders, UsageError, type CliIo } from '../../src/cli/args.js';
import { main } from '../../src/cli/cli.js';
import { formatMessage } from '../../src/cli/format.js';
import { runCli } from './run-cli.js';

/** Runs the CLI function in this process (fast); the bin itself is spawned in a few tests below. */
async function runHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const io: CliIo = {
    stdin: Readable.from([]),
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('sockwave command line', { timeout: 55_000 }, () => {
  test('no command prints the usage and exits 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^Usage: sockwave <command>/);
  });

  test('an unknown command is one error line plus usage, exit 2', async () => {
    const r = await runHere(['dance']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], "error: unknown command 'dance'");
  });

  test('--version prints the package version', async () => {
    const r = await runHere(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(r.stdout, `${pkg.version}\n`);
    assert.equal(r.code, 0);
  });

  test('the built bin (dist/cli/main.js) starts with a node shebang and runs', async (t) => {
    const bin = new URL('../../dist/cli/main.js', import.meta.url);
    const { existsSync } = await import('node:fs');
    if (!existsSync(bin)) {
      t.skip('dist/ is not built (npm test builds it)');
      return;
    }
    assert.equal(readFileSync(bin, 'utf8').split('\n')[0], '#!/usr/bin/env node');
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [bin.pathname, 'listen', '--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: sockwave listen/);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(pkg.bin.sockwave, 'dist/cli/main.js');
  });

  for (const command of ['connect', 'listen', 'autobahn']) {
    test(`${command} --help prints its usage on stdout and exits 0`, async () => {
      const r = await runHere([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^Usage: sockwave ${command}`));
      assert.equal(r.stderr, '');
    });
  }

  const bad: Array<[string[], RegExp]> = [
    [['connect'], /^error: missing URL$/],
    [['connect', 'ws://a', 'ws://b'], /^error: unexpected argument 'ws:\/\/b'$/],
    [['connect', 'ftp://host'], /^error: URL scheme must be ws, wss, http or https, got 'ftp'$/],
    [['connect', 'ws://a', '--nope'], /^error: unknown option '--nope'/],
    [['connect', 'ws://a', '--binary-as', 'octal'], /^error: --binary-as must be hex, base64 or utf8, got 'octal'$/],
    [['connect', 'ws://a', '-H', 'no colon'], /^error: header must look like 'Name: value', got 'no colon'$/],
    [['connect', 'ws://a', '--wait', 'soon'], /^error: --wait must be an integer, got 'soon'$/],
    [['connect', 'ws://a', '--proxy', 'gopher://p:70'], /^error: --proxy: unsupported proxy scheme gopher; use http, https, socks5, socks5h, socks4 or socks4a$/],
    [['connect', 'ws://a', '--max-message', '0'], /^error: --max-message must be between 1 and 2147483648, got 0$/],
    [['listen', '--port', '70000'], /^error: --port must be between 0 and 65535, got 70000$/],
    [['listen', '--echo', '--broadcast'], /^error: --echo and --broadcast cannot be combined$/],
    [['listen', '--tls-cert', 'c.pem'], /^error: --tls-cert and --tls-key must be given together$/],
    [['autobahn', 'ws://127.0.0.1:9001'], /^error: missing --agent NAME$/],
    [['autobahn', 'ws://x', '--agent', 'a', '--cases', '5-2'], /^error: --cases range '5-2' is empty or starts below 1$/],
  ];
  for (const [args, message] of bad) {
    test(`'sockwave ${args.join(' ')}' is a usage error with exit 2`, async () => {
      const r = await runHere(args);
      assert.equal(r.code, 2, r.stderr);
      // Issue 12: the error and a one-line hint, not the whole usage that would scroll it away.
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0], message);
      assert.match(lines[0], /^error: (?![A-Z][a-z])/, 'errors start in lower case (acronyms aside)');
      assert.equal(lines[1], `Run 'sockwave ${args[0]} --help' for its options.`);
    });
  }

  test('a port that is taken is one error line and exit 1', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const { port } = blocker.address() as { port: number };
    try {
      const r = await runCli(['listen', '--port', String(port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`));
    } finally {
      blocker.close();
    }
  });
});

describe('cli helpers', () => {
  test('repeated headers are joined and names are checked', () => {
    assert.deepEqual(parseHeaders(['X-A: 1', 'x-a: 2', 'Authorization: Bearer a:b']), { 'X-A': '1, 2', Authorization: 'Bearer a:b' });
    assert.throws(() => parseHeaders([': x']), UsageError);
  });

  test('binary is shown as hex, base64 or utf8 and JSON is pretty-printed on request', () => {
    const bytes = Buffer.from([0x68, 0x69, 0x00, 0xff]);
    assert.equal(formatMessage(bytes, true, { binaryAs: 'hex', isJson: false }), '68 69 00 ff');
    assert.equal(formatMessage(bytes, true, { binaryAs: 'base64', isJson: false }), 'aGkA/w==');
    assert.equal(formatMessage(Buffer.from('{"a":[1]}'), false, { binaryAs: 'hex', isJson: true }), '{\n  "a": [\n    1\n  ]\n}');
    assert.equal(formatMessage(Buffer.from('{not json'), false, { binaryAs: 'hex', isJson: true }), '{not json');
  });

  test('close codes map to exit codes', () => {
    assert.deepEqual([1000, 1001, 1005, 1006, 1011, 4000].map(exitCodeForClose), [0, 0, 0, 3, 3, 3]);
  });
});
