// Shared by the permessage-deflate compressor tests: parameters, the zlib
// placement modes, promise wrappers and a message set with repeats.
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { DeflateCompressor } from '../../../src/node/deflate/compressor.js';
import type { DeflateParams, PerMessageDeflateOptions } from '../../../src/core/deflate/index.js';

export const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export function params(overrides: Partial<DeflateParams> = {}): DeflateParams {
  return { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, ...overrides };
}

/**
 * Where zlib runs: small inputs on the main thread (zlib-sync.ts), larger
 * ones on libuv's thread pool. Behaviour must not depend on it, so the tests
 * below run in each mode.
 */
export const MODES: Array<{ name: string; options: PerMessageDeflateOptions }> = [
  { name: 'default (inline up to 16 KiB)', options: {} },
  { name: 'all inline', options: { inlineMaxBytes: Infinity } },
  { name: 'all on the thread pool', options: { inlineMaxBytes: 0 } },
];

/**
 * Inflates one small message, so the context has done its first job (always
 * on the thread pool: see deflate.ts) and later ones follow the mode.
 */
export async function warmInflater(c: DeflateCompressor): Promise<void> {
  const payload = zlib.deflateRawSync(Buffer.from('warm up'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.deepEqual(await decompress(c, payload, true, 1024), Buffer.from('warm up'));
}

export function compress(c: DeflateCompressor, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => c.compress(data, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

export function decompress(c: DeflateCompressor, data: Buffer, isFinal = true, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.decompress(data, isFinal, maxBytes, (error, result) => (error ? reject(error) : resolve(Buffer.concat(result as Buffer[])))),
  );
}

/** Messages that exercise boundaries and context takeover (repeats of earlier messages). */
export function messages(): Buffer[] {
  const text = Buffer.from('{"type":"update","user":"alice","items":[1,2,3],"ok":true}'.repeat(40));
  return [
    text,
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.alloc(125, 0x61),
    text,
    randomBytes(65_536),
    Buffer.alloc(65_536, 0x20),
    text,
  ];
}
