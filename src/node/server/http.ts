/**
 * Attaching to a server: the listeners that connect an http(s).Server's
 * 'upgrade' (`{ server }` mode), or our own net.Server's 'listening' and
 * 'error' (`{ port }` mode, see net.ts), to the WebSocket server.
 */
import type { IncomingMessage } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';

export interface AttachedServerEvents {
  onListening(): void;
  onError(error: Error): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Subscribes to `server`; returns the function that unsubscribes again. */
export function attachToHttpServer(server: NetServer, events: AttachedServerEvents): () => void {
  const onListening = (): void => events.onListening();
  const onError = (error: Error): void => events.onError(error);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => events.onUpgrade(req, socket, head);
  server.on('listening', onListening);
  server.on('error', onError);
  server.on('upgrade', onUpgrade);
  return () => {
    server.removeListener('listening', onListening);
    server.removeListener('error', onError);
    server.removeListener('upgrade', onUpgrade);
  };
}
