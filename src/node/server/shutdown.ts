/**
 * Graceful shutdown of a server's connections: send a close frame to every
 * socket, wait for the closing handshakes up to a deadline, then terminate
 * whatever is left. Resolves once every socket emitted 'close', so no
 * socket, and no timer, outlives the returned promise.
 */
import { validateCloseArguments } from '../../core/close.js';
import { validateLimit } from '../../core/options.js';
import { NODE_DEFAULTS } from '../options.js';
import type { NodeWebSocket } from '../socket/websocket.js';

export interface ShutdownOptions {
  /** Close code sent to every client. Default 1001 (going away, RFC 6455 §7.4.1). */
  code?: number;
  /** Close reason (at most 123 UTF-8 bytes). Default ''. */
  reason?: string;
  /** How long to wait for closing handshakes before terminating, ms. Default 10 s. */
  timeoutMs?: number;
}

export interface ResolvedShutdownOptions {
  code: number;
  reason: string;
  timeoutMs: number;
}

/** Applies defaults; throws RangeError/TypeError for a bad code, reason or timeout. */
export function resolveShutdownOptions(options: ShutdownOptions): ResolvedShutdownOptions {
  const code = options.code ?? NODE_DEFAULTS.shutdown.code;
  const reason = options.reason ?? '';
  validateCloseArguments(code, reason);
  const timeoutMs = validateLimit('timeoutMs', options.timeoutMs ?? NODE_DEFAULTS.shutdown.timeoutMs, { allowZero: true });
  return { code, reason, timeoutMs };
}

export function gracefulShutdown(sockets: ReadonlySet<NodeWebSocket>, options: ResolvedShutdownOptions): Promise<void> {
  const { code, reason, timeoutMs } = options;
  const open = [...sockets];
  if (open.length === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let remaining = open.length;
    let timer: NodeJS.Timeout | undefined;
    const onClose = (): void => {
      if (--remaining > 0) return;
      if (timer !== undefined) clearTimeout(timer);
      resolve();
    };
    for (const ws of open) {
      ws.once('close', onClose);
      ws.close(code, reason);
    }
    if (remaining > 0 && timeoutMs !== Infinity) {
      timer = setTimeout(() => {
        timer = undefined;
        for (const ws of open) ws.terminate();
      }, timeoutMs);
    }
  });
}
