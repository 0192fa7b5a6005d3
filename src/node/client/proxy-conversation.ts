/**
 * The part every proxy protocol shares (HTTP CONNECT in proxy.ts, SOCKS in
 * socks.ts): listen to the proxy's connection until the tunnel is up or has
 * failed, then step aside. On success the socket is handed over paused, with
 * any bytes the proxy sent past its answer put back, so the WebSocket
 * handshake reads them first; on failure the socket is destroyed and the
 * error names the proxy (a TCP or TLS failure here is the proxy's, not the
 * WebSocket server's).
 */
import type net from 'node:net';
import { ProxyError } from './errors.js';

export interface ProxyConversation {
  /** Ends the conversation once: with an error, or with the bytes that came after the proxy's answer. */
  finish(error: Error | null, rest?: Buffer): void;
  readonly isDone: boolean;
}

export interface ProxyConversationHooks {
  /** The proxy's bytes while the conversation lasts. */
  onData(chunk: Buffer, conversation: ProxyConversation): void;
  /** Sends the opening request once the connection is up (TCP, or TLS for an https: proxy). */
  onConnected(conversation: ProxyConversation): void;
  /** The error when the proxy closes before the tunnel is up. */
  closedEarly(): ProxyError;
}

/** Runs the conversation on `socket`; `done` is called exactly once. */
export function converseWithProxy(
  socket: net.Socket,
  proxyName: string,
  connectEvent: 'connect' | 'secureConnect',
  hooks: ProxyConversationHooks,
  done: (error: Error | null, socket?: net.Socket) => void,
): ProxyConversation {
  let isDone = false;
  const conversation: ProxyConversation = {
    get isDone() {
      return isDone;
    },
    finish(error, rest) {
      if (isDone) return;
      isDone = true;
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      if (error) {
        socket.destroy();
        done(error);
        return;
      }
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      done(null, socket);
    },
  };
  const onData = (chunk: Buffer): void => hooks.onData(chunk, conversation);
  const onError = (error: Error): void =>
    conversation.finish(new ProxyError(proxyName, `could not be reached: ${error.message}`, { cause: error }));
  const onClose = (): void => conversation.finish(hooks.closedEarly());
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.once(connectEvent, () => hooks.onConnected(conversation));
  return conversation;
}
