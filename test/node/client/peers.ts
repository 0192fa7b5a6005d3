/**
 * Real peers for the client tests: a `ws` server, a python3-websockets
 * server, raw TCP servers that answer handshakes badly, a CONNECT proxy and
 * a self-signed certificate. All listen on loopback port 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type ServerOptions } from 'ws';

export interface Peer {
  url: string;
  close(): Promise<void>;
}

/**
 * A `ws` echo server. Text "close <code> <reason>" makes it close with that
 * code; `onConnection` can replace the echo.
 */
export async function startWsServer(
  options: ServerOptions = {},
  onConnection?: (socket: import('ws').WebSocket, request: import('node:http').IncomingMessage) => void,
): Promise<Peer & { server: WebSocketServer }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024, ...options });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  server.on('connection', (socket, request) => {
    if (onConnection) return onConnection(socket, request);
    socket.on('message', (data, isBinary) => {
      if (!isBinary && data.toString().startsWith('close ')) {
        const [, code, ...reason] = data.toString().split(' ');
        socket.close(Number(code), reason.join(' '));
        return;
      }
      socket.send(data, { binary: isBinary });
    });
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    server,
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server whose connections are handled by `onSocket` (e.g. a hand-written bad 101). */
export async function startRawServer(onSocket: (socket: net.Socket, request: string) => void): Promise<Peer & { port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let received = '';
    let isHandled = false;
    socket.on('data', (chunk) => {
      if (isHandled) return;
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        isHandled = true;
        onSocket(socket, received);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The Sec-WebSocket-Key of a raw request. */
export function requestKey(request: string): string {
  return /sec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? '';
}

/** An HTTP CONNECT proxy on loopback; counts tunnels and can refuse them. */
export async function startConnectProxy(
  options: { refuseWith?: number; expectAuthorization?: string; established?: string; tls?: { key: string; cert: string } } = {},
): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const onClient = (client: net.Socket): void => {
    track(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.removeListener('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      const rest = head.subarray(end + 4);
      const [method, authority] = text.split(' ');
      if (options.refuseWith) {
        client.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const auth = /proxy-authorization:\s*(.+)/i.exec(text)?.[1]?.trim();
      if (options.expectAuthorization !== undefined && auth !== options.expectAuthorization) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (method !== 'CONNECT') {
        client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      tunnels.push(authority);
      const url = new URL(`tcp://${authority}`);
      const upstream = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) }, () => {
        client.write(options.established ?? 'HTTP/1.1 200 Connection Established\r\n\r\n');
        if (rest.length) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    };
    client.on('data', onData);
  };
  const server = options.tls ? tls.createServer(options.tls, onClient) : net.createServer(onClient);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The interpreter that can `import websockets` (Debian's /usr/bin/python3), or null with the reason. */
export function findPythonWithWebsockets(): { python: string } | { skip: string } {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(candidate, ['-c', 'import websockets'], { timeout: 10_000 });
    if (probe.status === 0) return { python: candidate };
  }
  return { skip: 'no python3 interpreter can import websockets (apt-get install python3-websockets)' };
}

/** Starts python-server.py; resolves once it prints its port. */
export async function startPythonServer(python: string, args: string[] = []): Promise<Peer> {
  const script = fileURLToPath(new URL('./python-server.py', import.meta.url));
  const child: ChildProcess = spawn(python, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('python server did not start within 10 s')), 10_000);
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString().trim()));
    });
    child.once('exit', (code) => reject(new Error(`python server exited with ${code}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
        setTimeout(() => child.kill(), 3000).unref();
      }),
  };
}

/** A self-signed certificate for 127.0.0.1/localhost made with openssl, or a skip reason. */
export function makeSelfSignedCertificate(
  subjectAltName = 'DNS:localhost,IP:127.0.0.1',
  commonName = 'localhost',
): { key: string; cert: string } | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-cert-'));
  try {
    const result = spawnSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '1',
        '-subj', `/CN=${commonName}`,
        '-addext', `subjectAltName=${subjectAltName}`,
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { timeout: 30_000 },
    );
    if (result.error || result.status !== 0) {
      return { skip: `openssl could not make a certificate: ${result.error?.message ?? result.stderr.toString()}` };
    }
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A `ws` echo server on an https server with the given certificate. */
export async function startSecureWsServer(credentials: { key: string; cert: string }): Promise<Peer & { servernames: string[] }> {
  const servernames: string[] = [];
  const server = https.createServer({
    ...credentials,
    SNICallback: (name, cb) => {
      servernames.push(name);
      cb(null, undefined);
    },
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    servernames,
    url: `wss://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Like events.once, but an 'error' event does not reject: failing
 * connections emit 'error' before the 'close' the tests wait for.
 */
export function nextEvent(emitter: import('node:events').EventEmitter, name: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(name, (...args: unknown[]) => resolve(args)));
}

/** A ws:// URL on a loopback port that was free a moment ago and has nothing listening: connections are refused. */
export async function closedPortUrl(): Promise<string> {
  const spare = net.createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const { port } = spare.address() as net.AddressInfo;
  await new Promise((resolve) => spare.close(resolve));
  return `ws://127.0.0.1:${port}/`;
}
