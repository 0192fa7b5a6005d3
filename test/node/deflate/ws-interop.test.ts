// Our permessage-deflate against ws's, message by message at the byte level:
// each side negotiates with the other's offer and inflates what the other deflated.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createDeflateCompressor } from '../../../src/node/deflate/compressor.js';
import { acceptServerResponse, buildClientOffer, negotiateServer, type PerMessageDeflateOptions } from '../../../src/core/deflate/index.js';
import { compress, decompress, messages } from './support.js';

// ws's own permessage-deflate (lib/permessage-deflate.js), loaded by file path
// because the package's `exports` map does not expose it.
interface WsPerMessageDeflate {
  accept(configurations: Array<Record<string, unknown[]>>): Record<string, unknown>;
  offer(): Record<string, unknown>;
  compress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  cleanup(): void;
}
const requireFromHere = createRequire(import.meta.url);
const wsLib = join(process.cwd(), 'node_modules', 'ws', 'lib');
const WsPmd = requireFromHere(join(wsLib, 'permessage-deflate.js')) as new (options: Record<string, unknown>) => WsPerMessageDeflate;
const wsExtension = requireFromHere(join(wsLib, 'extension.js')) as {
  parse(header: string): Record<string, Array<Record<string, unknown[]>>>;
  format(extensions: Record<string, unknown>): string;
};

function wsCall(pmd: WsPerMessageDeflate, method: 'compress' | 'decompress', data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => pmd[method](data, true, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

describe('interop with ws permessage-deflate at the byte level', () => {
  const configs: Array<{ ours: PerMessageDeflateOptions; theirs: Record<string, unknown> }> = [
    { ours: {}, theirs: {} },
    { ours: { serverNoContextTakeover: true, clientNoContextTakeover: true }, theirs: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
    { ours: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 }, theirs: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 } },
  ];

  for (const [index, { ours, theirs }] of configs.entries()) {
    test(`our client and a ws server agree and exchange messages (config ${index})`, async () => {
      const wsServer = new WsPmd({ ...theirs, isServer: true, maxPayload: 0 });
      const offers = wsExtension.parse(buildClientOffer(ours))['permessage-deflate'];
      const response = wsExtension.format({ 'permessage-deflate': [wsServer.accept(offers)] });
      const agreed = acceptServerResponse(response, ours);
      assert.ok(agreed, response);
      const client = createDeflateCompressor(agreed, 'client', ours);
      try {
        for (const message of messages()) {
          assert.deepEqual(await wsCall(wsServer, 'decompress', await compress(client, message)), message);
          assert.deepEqual(await decompress(client, await wsCall(wsServer, 'compress', message)), message);
        }
      } finally {
        client.close();
        wsServer.cleanup();
      }
    });

    test(`a ws client and our server agree and exchange messages (config ${index})`, async () => {
      const wsClient = new WsPmd({ ...theirs, isServer: false, maxPayload: 0 });
      const offer = wsExtension.format({ 'permessage-deflate': [wsClient.offer()] });
      const answer = negotiateServer(offer, ours);
      assert.ok(answer, offer);
      wsClient.accept(wsExtension.parse(answer.responseHeader)['permessage-deflate']);
      const server = createDeflateCompressor(answer.params, 'server', ours);
      try {
        for (const message of messages()) {
          assert.deepEqual(await wsCall(wsClient, 'decompress', await compress(server, message)), message);
          assert.deepEqual(await decompress(server, await wsCall(wsClient, 'compress', message)), message);
        }
      } finally {
        server.close();
        wsClient.cleanup();
      }
    });
  }
});
