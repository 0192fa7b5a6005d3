/**
 * Debian's python3-websockets as a peer, through Debian's /usr/bin/python3
 * only (the pyenv `python3` first on PATH has no websockets); runs the bot
 * scripts in test/peers/python/.
 * Scripts report events as JSON lines on stdout; see python/bot.py.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { CloseInfo } from './endpoint.js';
import type { TlsMaterial } from './tls.js';
import { ClosedById } from './node-peers.js';
import { type DeflateConfig, type PeerClient, type PeerServer, type RunningPeerServer, SERVER_PROTOCOLS } from './targets.js';

const SCRIPTS = fileURLToPath(new URL('./python/', import.meta.url));
/** Debian's interpreter only (the team rule); SOCKWAVE_PYTHON replaces it, e.g. to see the suites skip with their reason. */
const PYTHON = process.env.SOCKWAVE_PYTHON || '/usr/bin/python3';

let cached: string | null | undefined;

/** The interpreter if it imports websockets, or null (the suites then skip with pythonSkipReason()). */
export function findPython(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const candidate of [PYTHON]) {
    const probe = spawnSync(candidate, ['-c', 'import websockets; print(websockets.__version__)'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (probe.status === 0) {
      cached = candidate;
      break;
    }
  }
  return cached;
}

export function pythonSkipReason(): string | undefined {
  return findPython() ? undefined : `${PYTHON} cannot import websockets (apt install python3-websockets)`;
}

export function pythonWebsocketsVersion(): string | null {
  const python = findPython();
  if (!python) return null;
  return spawnSync(python, ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8' }).stdout.trim();
}

export interface PythonEvent {
  event: string;
  id?: number;
  port?: number;
  code?: number | null;
  reason?: string | null;
  protocol?: string;
  extensions?: string;
  error?: string;
}

/** python's factory keyword names for a DeflateConfig. */
function pythonDeflateArgs(deflate: DeflateConfig | false): string[] {
  if (deflate === false) return ['--compression', 'none'];
  const params: Record<string, unknown> = {};
  if (deflate.serverNoContextTakeover) params.server_no_context_takeover = true;
  if (deflate.clientNoContextTakeover) params.client_no_context_takeover = true;
  if (deflate.serverMaxWindowBits !== undefined) params.server_max_window_bits = deflate.serverMaxWindowBits;
  if (deflate.clientMaxWindowBits !== undefined) params.client_max_window_bits = deflate.clientMaxWindowBits;
  return ['--compression', 'deflate', '--deflate-params', JSON.stringify(params)];
}

function spawnScript(script: string, args: string[]): { child: ChildProcess; events: AsyncIterable<PythonEvent>; stderr: () => string } {
  const python = findPython();
  if (!python) throw new Error('no python interpreter can import websockets');
  const child = spawn(python, ['-u', `${SCRIPTS}${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  async function* events(): AsyncIterable<PythonEvent> {
    for await (const line of lines) {
      if (line.trim()) yield JSON.parse(line) as PythonEvent;
    }
  }
  return { child, events: events(), stderr: () => stderr };
}

function closeInfo(event: PythonEvent): CloseInfo {
  return { code: event.code ?? 1006, reason: event.reason ?? '' };
}

function stopChild(child: ChildProcess, ms = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

export interface PythonServerOptions {
  deflate: DeflateConfig | false;
  subprotocols?: string[];
  tls?: TlsMaterial;
}

/** Starts bot_server.py; resolves once it listens. */
export async function startPythonServer(o: PythonServerOptions): Promise<RunningPeerServer & { events: PythonEvent[] }> {
  const { child, events, stderr } = spawnScript('bot_server.py', [
    ...pythonDeflateArgs(o.deflate),
    '--subprotocols',
    (o.subprotocols ?? SERVER_PROTOCOLS).join(','),
    ...(o.tls ? ['--certfile', o.tls.certFile, '--keyfile', o.tls.keyFile] : []),
  ]);
  const closed = new ClosedById();
  const seen: PythonEvent[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python server did not start: ${stderr()}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`python server exited with ${code}: ${stderr()}`)));
    void (async () => {
      for await (const event of events) {
        seen.push(event);
        if (event.event === 'listening') {
          clearTimeout(timer);
          resolve(event.port!);
        } else if (event.event === 'closed') {
          closed.resolve(event.id!, closeInfo(event));
        }
      }
    })();
  });
  return {
    url: `${o.tls ? 'wss' : 'ws'}://127.0.0.1:${port}/`,
    events: seen,
    closed: (id) => closed.get(id),
    stop: () => stopChild(child),
  };
}

export interface PythonClientOptions {
  protocols: string[];
  deflate: DeflateConfig | false;
  origin?: string;
  tls?: TlsMaterial;
}

/** Runs bot_client.py against url; resolves after its handshake with its view of it. */
export async function startPythonClient(
  url: string,
  o: PythonClientOptions,
): Promise<{ open: PythonEvent; closed: Promise<CloseInfo>; stop(): Promise<void> }> {
  const args = [url, ...pythonDeflateArgs(o.deflate), '--subprotocols', o.protocols.join(',')];
  if (o.origin) args.push('--origin', o.origin);
  if (o.tls) args.push('--cafile', o.tls.certFile);
  const { child, events, stderr } = spawnScript('bot_client.py', args);
  let resolveClosed!: (c: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((r) => (resolveClosed = r));
  const open = await new Promise<PythonEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python client did not open: ${stderr()}`)), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python client exited with ${code} before opening: ${stderr()}`));
      resolveClosed({ code: 1006, reason: 'python client exited' });
    });
    void (async () => {
      for await (const event of events) {
        if (event.event === 'open') {
          clearTimeout(timer);
          resolve(event);
        } else if (event.event === 'connect-error') {
          clearTimeout(timer);
          reject(new Error(`python client could not connect: ${event.error}`));
        } else if (event.event === 'closed') {
          resolveClosed(closeInfo(event));
        }
      }
    })();
  });
  return { open, closed, stop: () => stopChild(child, 500) };
}

export const pythonClientPeer: PeerClient = {
  name: 'python-websockets',
  canFragment: true,
  canPing: true,
  isConfigurable: true,
  canDisableDeflate: true,
  async connect(url, { protocols, deflate, tls }) {
    const client = await startPythonClient(url, { protocols, deflate, tls });
    return { closed: client.closed, dispose: () => client.stop() };
  },
};

export const pythonServerPeer: PeerServer = {
  name: 'python-websockets',
  canFragment: true,
  canPing: true,
  isConfigurable: true,
  start: ({ deflate, tls }) => startPythonServer({ deflate, tls }),
};
