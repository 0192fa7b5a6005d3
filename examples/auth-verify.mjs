// Authentication with sockwave's `verify` hook and an Origin allowlist.
//
//   node examples/auth-verify.mjs        (after `npm run build`)
//   sockwave connect ws://localhost:8080 -H 'Authorization: Bearer alice-token'
//
// Browsers cannot set headers on a WebSocket, so the token may also come in
// the query string (?token=...). The Origin allowlist stops other sites from
// opening sockets with your users' cookies (cross-site WebSocket hijacking).
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'sockwave';

/** Stand-in for a session store or a JWT check. */
const SESSIONS = new Map([
  ['alice-token', { user: 'alice', role: 'admin' }],
  ['bob-token', { user: 'bob', role: 'reader' }],
]);

async function lookUpSession(token) {
  await new Promise((resolve) => setTimeout(resolve, 5)); // a database would be async too
  return token ? SESSIONS.get(token) : undefined;
}

function tokenFrom(request) {
  const header = request.headers.authorization ?? '';
  if (header.startsWith('Bearer ')) return header.slice('Bearer '.length);
  return new URL(request.url ?? '/', 'http://localhost').searchParams.get('token') ?? undefined;
}

export async function startAuthServer({ port = 8080, host = '127.0.0.1' } = {}) {
  const wss = new WebSocketServer({
    port,
    host,
    // Exact origins and patterns; anything else gets 403 before `verify` runs.
    allowedOrigins: ['http://localhost:8080', /^https:\/\/([a-z0-9-]+\.)?example\.com$/],
    // Requests without Origin come from non-browser clients (CLI, servers): allowed,
    // but they still need a token below.
    allowMissingOrigin: true,
    verify: async ({ request }) => {
      const session = await lookUpSession(tokenFrom(request));
      if (!session) {
        return { accept: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: 'missing or unknown token\n' };
      }
      // Whatever `data` holds is available as `socket.data` in 'connection'.
      return { accept: true, data: session };
    },
  });
  wss.on('connection', (socket) => {
    const { user, role } = socket.data;
    socket.send(JSON.stringify({ type: 'welcome', user, role }));
    socket.on('message', (data, isBinary) => {
      if (role !== 'admin') {
        socket.close(1008, 'read-only user'); // 1008: policy violation
        return;
      }
      socket.send(data, { binary: isBinary });
    });
  });
  await once(wss, 'listening');
  const url = `ws://${host}:${wss.address().port}`;
  return { wss, url, close: () => wss.close({ code: 1001, reason: 'bye', timeoutMs: 1000 }) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url } = await startAuthServer({ port: Number(process.env.PORT ?? 8080) });
  console.log(`auth example listening on ${url} (tokens: alice-token, bob-token)`);
}
