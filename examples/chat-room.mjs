// A multi-room chat: ws://localhost:8080/room/NAME?name=YOU joins room NAME.
//
//   node examples/chat-room.mjs
//   sockwave connect 'ws://localhost:8080/room/lobby?name=ann'
//   sockwave connect 'ws://localhost:8080/room/lobby?name=bob'
//
// Each line typed is sent to everyone in the same room as JSON
// {"from","text"}; joins and leaves are announced. Uses the server's
// broadcast() with a filter, so rooms are just a property on the socket.
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'sockwave';

const ROOM_PATH = /^\/room\/([a-z0-9-]{1,32})$/;

export async function startChatRoom({ port = 8080, host = '127.0.0.1' } = {}) {
  const wss = new WebSocketServer({
    port,
    host,
    maxMessageBytes: 64 * 1024, // chat lines, not files: a small limit is a cheap defence
    verify: ({ request }) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const room = ROOM_PATH.exec(url.pathname)?.[1];
      if (!room) return { accept: false, status: 404, body: 'use /room/NAME\n' };
      const name = (url.searchParams.get('name') ?? '').trim().slice(0, 32) || 'anonymous';
      return { accept: true, data: { room, name } };
    },
  });

  const inRoom = (room) => (socket) => socket.data.room === room;
  const say = (room, message, except) => wss.broadcast(JSON.stringify(message), { filter: inRoom(room), except });

  wss.on('connection', (socket) => {
    const { room, name } = socket.data;
    const members = [...wss.clients].filter(inRoom(room)).map((s) => s.data.name);
    socket.send(JSON.stringify({ type: 'joined', room, members }));
    say(room, { type: 'join', name }, socket);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return; // text only in this room
      say(room, { type: 'text', from: name, text: data.toString('utf8') });
    });
    socket.on('close', () => say(room, { type: 'leave', name }));
  });
  await once(wss, 'listening');
  return { wss, url: `ws://${host}:${wss.address().port}`, close: () => wss.close({ code: 1001, timeoutMs: 1000 }) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url } = await startChatRoom({ port: Number(process.env.PORT ?? 8080) });
  console.log(`chat rooms at ${url}/room/NAME?name=YOU`);
}
