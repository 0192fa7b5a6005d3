// The WebSocket servers the WPT websockets tests talk to: WPT's own handlers
// (websockets/handlers/*_wsh.py) served by pywebsocket3, once over ws: and
// once over wss: with a throwaway self-signed certificate, on loopback only.
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A key and a certificate for WPT's host names (web-platform.test and subdomains), written to `dir`. */
export function makeCertificate(dir) {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=web-platform.test',
    '-addext', 'subjectAltName=DNS:web-platform.test,DNS:*.web-platform.test,DNS:not-web-platform.test,DNS:*.not-web-platform.test',
  ], { stdio: 'ignore' });
  return { key, cert };
}

async function waitForPort(port, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pywebsocket3 exited with ${child.exitCode} before listening on ${port}`);
    const isOpen = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (isOpen) return;
    await sleep(100);
  }
  throw new Error(`pywebsocket3 did not listen on ${port} within ${deadlineMs} ms`);
}

/**
 * Starts pywebsocket3 (its package folder on `pywebsocketPath`, or installed)
 * with the handlers of `wptRoot`. Returns the ports and a stop() that ends both.
 */
export async function startHandlers({ wptRoot, pywebsocketPath, python = 'python3', tls, log }) {
  const handlers = join(wptRoot, 'websockets', 'handlers');
  // No __pycache__ written into the WPT and pywebsocket3 copies the runner was pointed at.
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: [pywebsocketPath, process.env.PYTHONPATH].filter(Boolean).join(':') };
  const children = [];
  const start = async (useTls) => {
    const port = await freePort();
    const args = ['-m', 'pywebsocket3.standalone', '-H', '127.0.0.1', '-p', String(port), '-w', handlers, '-d', handlers, '--log-level', 'error'];
    if (useTls) args.push('-t', '-k', tls.key, '-c', tls.cert);
    const child = spawn(python, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk) => log(`[pywebsocket3${useTls ? ' tls' : ''}] ${chunk}`));
    children.push(child);
    await waitForPort(port, child, 15_000);
    return port;
  };
  const stop = async () => {
    await Promise.all(children.map((child) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    })));
  };
  try {
    const ws = await start(false);
    const wss = await start(true);
    return { ports: { ws, wss }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
