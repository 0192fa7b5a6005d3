/**
 * The echo-bot protocol every peer speaks in the interop suite (TS peers via
 * runBot below, python via python/bot.py, Chromium via chromium.ts's page
 * script). Each message is echoed back with its type unchanged, except text
 * messages starting with "#cmd ", which ask the peer to do what only it can:
 *
 *   #cmd info                        -> "#info {id, protocol, extensions}"
 *   #cmd fragments text|binary N S   -> a message of S pattern bytes in N frames
 *   #cmd fragments utf8 N S          -> text of S bytes mixing 1-4 byte UTF-8 sequences, cut into
 *                                       N frames at byte offsets (inside sequences where the peer can)
 *   #cmd fragments-ping N S          -> binary message of S pattern bytes in N frames, with a ping
 *                                       ("mid") after the first frame; "#pong mid" once answered
 *   #cmd ping PAYLOAD                -> ping PAYLOAD, then "#pong PAYLOAD" once answered
 *   #cmd close CODE REASON...        -> start the closing handshake with CODE and REASON
 *   #cmd close-nocode                -> close frame with an empty body
 *
 * What the peer saw at the end (close code and reason) travels out of band,
 * through the peer adapter's `closed` promise.
 */
import type { Endpoint } from './endpoint.js';

export const CMD = '#cmd ';

export interface PeerInfo {
  id: number | string;
  protocol: string;
  extensions: string;
}

/** Deterministic ASCII payload, identical in TS, python and the browser page. */
export function pattern(size: number): string {
  const chars = new Array<string>(size);
  for (let i = 0; i < size; i++) chars[i] = String.fromCharCode(97 + ((i * 7 + Math.floor(i / 26)) % 26));
  return chars.join('');
}

/** Deterministic text of exactly `size` UTF-8 bytes mixing 1, 2, 3 and 4-byte sequences. */
export function utf8Pattern(size: number): string {
  const units = ['a', 'é', '✓', '🎉'];
  let text = '';
  let bytes = 0;
  for (let i = 0; bytes < size; i++) {
    const unit = units[i % 4];
    const length = Buffer.byteLength(unit);
    if (bytes + length > size) {
      text += 'a'.repeat(size - bytes);
      break;
    }
    text += unit;
    bytes += length;
  }
  return text;
}

/** Splits into `count` parts (trailing parts may be empty), like bot.py's split(). */
export function split<T extends string | Buffer>(data: T, count: number): T[] {
  const step = Math.max(1, Math.ceil(data.length / count));
  const parts: T[] = [];
  for (let i = 0; i < data.length; i += step) parts.push(data.slice(i, i + step) as T);
  while (parts.length < count) parts.push(data.slice(0, 0) as T);
  return parts;
}

/** Turns an Endpoint into the echo bot. Returns once installed. */
export function runBot(endpoint: Endpoint, id: number | string): void {
  endpoint.onMessage((message) => {
    if (message.isBinary || !(message.data as string).startsWith(CMD)) {
      try {
        endpoint.send(message.data);
      } catch {
        // closing already; nothing to echo into
      }
      return;
    }
    const words = (message.data as string).slice(CMD.length).split(' ');
    switch (words[0]) {
      case 'info':
        endpoint.send(`#info ${JSON.stringify({ id, protocol: endpoint.protocol(), extensions: endpoint.extensions() })}`);
        break;
      case 'fragments': {
        if (words[1] === 'utf8') {
          // Byte offsets: fragment boundaries fall inside multi-byte sequences (RFC 6455 §5.6:
          // only the whole message must be valid UTF-8). WHATWG sockets cannot fragment at all.
          const parts = split(Buffer.from(utf8Pattern(Number(words[3]))), Number(words[2]));
          parts.forEach((part, i) => endpoint.send(part, { binary: false, fin: i === parts.length - 1 }));
          break;
        }
        const text = pattern(Number(words[3]));
        const data = words[1] === 'binary' ? Buffer.from(text) : text;
        const parts = split(data, Number(words[2]));
        parts.forEach((part, i) => endpoint.send(part, { fin: i === parts.length - 1 }));
        break;
      }
      case 'fragments-ping': {
        const parts = split(Buffer.from(pattern(Number(words[2]))), Number(words[1]));
        endpoint.nextPong().then(
          () => endpoint.send('#pong mid'),
          () => undefined,
        );
        parts.forEach((part, i) => {
          endpoint.send(part, { fin: i === parts.length - 1 });
          if (i === 0) endpoint.ping(Buffer.from('mid'));
        });
        break;
      }
      case 'ping': {
        const payload = words.slice(1).join(' ');
        endpoint.ping(Buffer.from(payload));
        endpoint.nextPong().then(
          () => endpoint.send(`#pong ${payload}`),
          () => undefined,
        );
        break;
      }
      case 'close':
        endpoint.close(Number(words[1]), words.slice(2).join(' '));
        break;
      case 'close-nocode':
        endpoint.close();
        break;
      default:
        endpoint.send(`#error unknown command ${words[0]}`);
    }
  });
}

/** Asks the peer for its view of the handshake. */
export async function askInfo(endpoint: Endpoint): Promise<PeerInfo> {
  endpoint.send(`${CMD}info`);
  const reply = await endpoint.next();
  if (reply.isBinary || !(reply.data as string).startsWith('#info ')) {
    throw new Error(`expected #info, got ${String(reply.data).slice(0, 80)}`);
  }
  return JSON.parse((reply.data as string).slice(6)) as PeerInfo;
}
