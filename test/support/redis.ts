/**
 * Real redis-server processes for tests: started on free loopback ports in
 * temporary directories, stopped gracefully (SIGTERM: Redis writes its AOF and
 * exits), killed (SIGKILL), and restarted on the same port and directory.
 * Also a three-master Redis Cluster on loopback.
 *
 * Tests call `redisSkipReason()` first and skip with that reason when no
 * redis-server is installed (CI installs Debian's redis-server via apt).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const CLI = process.env.REDIS_CLI ?? '/usr/bin/redis-cli';

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisSkipReason(): string | undefined {
  if (!existsSync(SERVER)) return `redis-server not found at ${SERVER} (apt-get install redis-server, or set REDIS_SERVER)`;
  if (!existsSync(CLI)) return `redis-cli not found at ${CLI}`;
  return undefined;
}

/** A free TCP port on 127.0.0.1 (and, for cluster nodes, its bus port +10000 free too). */
export async function freePort(needsBusPort = false): Promise<number> {
  for (;;) {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    server.close();
    await once(server, 'close');
    if (!needsBusPort) return port;
    if (port + 10000 > 65535) continue;
    const bus = net.createServer();
    const isFree = await new Promise<boolean>((resolve) => {
      bus.once('error', () => resolve(false));
      bus.listen(port + 10000, '127.0.0.1', () => resolve(true));
    });
    if (isFree) {
      bus.close();
      await once(bus, 'close');
      return port;
    }
  }
}

export interface RedisOptions {
  /** appendonly yes with fsync every second (a graceful shutdown writes everything). Default false: no persistence at all. */
  isPersistent?: boolean;
  /** Start as a cluster node. */
  isClusterNode?: boolean;
}

/** Every redis-server this process started and has not stopped: killed on exit, so none outlives a crashed test. */
const running = new Set<ChildProcess>();
function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.once('exit', killRunning);
// The test runner stops a timed-out file with a signal, which skips 'exit' handlers.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    killRunning();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly options: RedisOptions;
  #child: ChildProcess | undefined;
  #log = '';

  private constructor(port: number, dir: string, options: RedisOptions) {
    this.port = port;
    this.dir = dir;
    this.options = options;
  }

  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    const port = await freePort(options.isClusterNode);
    const server = new RedisServer(port, mkdtempSync(join(tmpdir(), 'sockwave-redis-')), options);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return this.#child !== undefined;
  }

  /** (Re)starts on the same port and directory; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error('redis-server is already running');
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--save', '',
      '--appendonly', this.options.isPersistent ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--daemonize', 'no',
      '--loglevel', 'warning',
      '--protected-mode', 'no',
    ];
    if (this.options.isClusterNode) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(this.dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
    }
    this.#log = '';
    const child = spawn(SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
    this.#child = child;
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      if (this.#child === child) this.#child = undefined;
    });
    await this.#waitForPing();
  }

  /** Graceful: SIGTERM makes Redis flush its AOF (when on) and exit. */
  async stop(): Promise<void> {
    await this.#signal('SIGTERM');
  }

  /** Abrupt: nothing is flushed. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  /** Stops (if running) and removes the directory. */
  async dispose(): Promise<void> {
    if (this.#child !== undefined) await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs redis-cli against this server; returns its stdout. */
  cli(...args: string[]): string {
    const result = spawnSync(CLI, ['-h', '127.0.0.1', '-p', String(this.port), ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  async #waitForPing(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.#child === undefined) throw new Error(`redis-server exited at start:\n${this.#log}`);
      if (await ping(this.port)) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${this.port}:\n${this.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** One PING over a raw socket: true on +PONG (or -LOADING, the server is up but loading). */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^\+PONG/.test(data.toString())));
  });
}

/** Three masters (no replicas) on loopback, slots spread by redis-cli --cluster create. */
export class RedisCluster {
  readonly nodes: RedisServer[];

  private constructor(nodes: RedisServer[]) {
    this.nodes = nodes;
  }

  static async start(masters = 3, options: Omit<RedisOptions, 'isClusterNode'> = {}): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < masters; i++) nodes.push(await RedisServer.start({ ...options, isClusterNode: true }));
    const cluster = new RedisCluster(nodes);
    const create = spawnSync(
      CLI,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) {
      await cluster.dispose();
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    }
    await cluster.waitForOk();
    return cluster;
  }

  get rootNodes(): { url: string }[] {
    return this.nodes.map((n) => ({ url: n.url }));
  }

  /** Waits until every running node reports cluster_state:ok. */
  async waitForOk(ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const states = this.nodes.filter((n) => n.isRunning).map((n) => /cluster_state:ok/.test(n.cli('cluster', 'info')));
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The node serving the key's slot. */
  nodeFor(key: string): RedisServer {
    const slot = Number(this.nodes[0].cli('cluster', 'keyslot', key).trim());
    for (const line of this.nodes[0].cli('cluster', 'nodes').trim().split('\n')) {
      const fields = line.split(' ');
      const port = Number(fields[1].split(':')[1].split('@')[0]);
      for (const range of fields.slice(8)) {
        const [from, to = from] = range.split('-').map(Number);
        if (slot >= from && slot <= to) return this.nodes.find((n) => n.port === port)!;
      }
    }
    throw new Error(`no node serves slot ${slot}`);
  }

  async dispose(): Promise<void> {
    for (const node of this.nodes) await node.dispose();
  }
}
