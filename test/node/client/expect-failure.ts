/** Assertions shared by the connect() tests. */
import assert from 'node:assert/strict';
import type { connect } from '../../../src/node/socket/connect.js';
import { nextEvent } from './peers.js';

type ClientSocket = ReturnType<typeof connect>;

/** Collects the error/close sequence of a connection that must fail. */
export async function expectFailure(socket: ClientSocket): Promise<{ events: string[]; error: Error; code: number }> {
  const events: string[] = [];
  let error: Error | undefined;
  socket.on('open', () => events.push('open'));
  socket.on('error', (e: Error) => {
    events.push('error');
    error ??= e;
  });
  const [code] = (await nextEvent(socket, 'close')) as [number];
  events.push('close');
  assert.ok(error, 'an error event precedes close');
  return { events, error, code };
}
