/**
 * Spawns the CLI from src through tsx (no build needed) and collects its
 * output. Every run is bounded by a timeout that kills the child.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `pattern` in stderr (rejects after timeoutMs). */
  waitForStderr: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  waitForStdout: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  done: Promise<CliResult>;
}

export function startCli(args: string[], { timeoutMs = 20_000, env = {} as Record<string, string> } = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const waitFor = (read: () => string, pattern: RegExp, ms = 10_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const match = read().match(pattern);
        if (match) {
          clearInterval(poll);
          resolve(match);
        } else if (Date.now() - started > ms || child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`timed out waiting for ${pattern}; stdout: ${out} stderr: ${err}`));
        }
      }, 20);
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForStderr: (p, ms) => waitFor(() => err, p, ms),
    waitForStdout: (p, ms) => waitFor(() => out, p, ms),
    done,
  };
}

/** Runs the CLI to completion with `input` on stdin (stdin is closed after it). */
export async function runCli(
  args: string[],
  { input = '', timeoutMs = 20_000, env = {} as Record<string, string> } = {},
): Promise<CliResult> {
  const cli = startCli(args, { timeoutMs, env });
  cli.child.stdin.end(input);
  return cli.done;
}

/** Starts `sockwave listen` and resolves with its ws:// URL once it is listening. */
export async function startListen(args: string[]): Promise<CliProcess & { url: string; port: number }> {
  const cli = startCli(['listen', '--port', '0', ...args], { timeoutMs: 50_000 });
  const match = await cli.waitForStderr(/listening on (wss?:\/\/[^\s]+:(\d+))\//);
  return Object.assign(cli, { url: match[1], port: Number(match[2]) });
}
