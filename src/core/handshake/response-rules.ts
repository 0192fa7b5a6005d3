/**
 * The client's side of the opening handshake's answer: RFC 6455 §4.1's checks
 * of the server's 101, and the subprotocol/extension check that HTTP/2's
 * extended CONNECT (RFC 8441, extended-connect.ts) shares with it.
 * Sans-I/O: a parsed head in, the negotiated values or a HandshakeError out.
 */
import { HandshakeError } from '../errors.js';
import { computeAcceptKey } from './accept-key.js';
import { groupHeaderPairs } from './header-groups.js';
import { listHasToken } from './header-tokens.js';
import type { ParsedResponseHead } from './response-head.js';
import { acceptServerResponse, type DeflateParams, type PerMessageDeflateOptions } from '../deflate/index.js';

export interface ValidatedServerResponse {
  /** The chosen subprotocol, '' when none. */
  protocol: string;
  /** The Sec-WebSocket-Extensions value as received, '' when none. */
  extensions: string;
  /** Negotiated permessage-deflate parameters, null when not in use. */
  deflate: DeflateParams | null;
}

/**
 * RFC 6455 §4.1 (the client's checks of the server's handshake). Throws a
 * HandshakeError whose `status` is the response's status code and whose
 * message names the first mismatch.
 */
export function validateServerResponse(
  head: ParsedResponseHead,
  o: { key: string; protocols: readonly string[]; deflate?: PerMessageDeflateOptions | false },
): ValidatedServerResponse {
  const status = head.status;
  const fail = (message: string): never => {
    throw new HandshakeError(message, status);
  };
  if (status !== 101) fail(`server answered ${status}${head.statusText ? ` ${head.statusText}` : ''}`);

  const headers = groupHeaderPairs(head.headers);

  // §4.1 item 2: Upgrade must be "websocket", case-insensitively.
  const upgrade = headers.get('upgrade');
  if (!upgrade) fail('response lacks the Upgrade header');
  if (upgrade!.length > 1 || upgrade![0].toLowerCase() !== 'websocket') {
    fail(`Upgrade header is ${JSON.stringify(upgrade!.join(', '))}, expected "websocket"`);
  }
  // §4.1 item 3: Connection must contain the token "Upgrade".
  const connection = headers.get('connection');
  if (!connection) fail('response lacks the Connection header');
  if (!connection!.some((value) => listHasToken(value, 'upgrade'))) {
    fail(`Connection header is ${JSON.stringify(connection!.join(', '))}, expected "Upgrade"`);
  }
  // §4.1 item 4: the accept value proves the server read our key.
  const accept = headers.get('sec-websocket-accept');
  if (!accept) fail('response lacks the Sec-WebSocket-Accept header');
  if (accept!.length > 1) fail('duplicate Sec-WebSocket-Accept header');
  if (accept![0] !== computeAcceptKey(o.key)) fail('Sec-WebSocket-Accept does not match the key sent');

  const extensionLines = headers.get('sec-websocket-extensions');
  const extensions = extensionLines ? extensionLines.filter((v) => v.length > 0).join(', ') : '';
  return acceptNegotiation(headers.get('sec-websocket-protocol'), extensions, o, fail);
}

/**
 * The tail both opening handshakes share (RFC 6455 §4.1 items 5-6 over
 * HTTP/1.1, RFC 8441 §5 over HTTP/2): the subprotocol and the extensions the
 * server accepted must be ones the client offered. `protocolLines` holds every
 * Sec-WebSocket-Protocol field received; `extensions` the joined extension list.
 */
export function acceptNegotiation(
  protocolLines: readonly string[] | undefined,
  extensions: string,
  o: { protocols: readonly string[]; deflate?: PerMessageDeflateOptions | false },
  fail: (message: string) => never,
): ValidatedServerResponse {
  // §4.1 item 6: a subprotocol must be one we offered; none offered means none allowed.
  let protocol = '';
  if (protocolLines) {
    if (protocolLines.length > 1) fail('duplicate Sec-WebSocket-Protocol header');
    protocol = protocolLines[0];
    if (o.protocols.length === 0) fail(`server chose subprotocol ${JSON.stringify(protocol)} but none was offered`);
    if (!o.protocols.includes(protocol)) fail(`server chose subprotocol ${JSON.stringify(protocol)} that was not offered`);
  }
  // §4.1 item 5: only extensions we offered; permessage-deflate is the only one we offer.
  let deflate: DeflateParams | null = null;
  if (extensions !== '') {
    if (!o.deflate) fail(`server accepted extensions ${JSON.stringify(extensions)} but none were offered`);
    try {
      deflate = acceptServerResponse(extensions, o.deflate as PerMessageDeflateOptions);
    } catch (error) {
      if (error instanceof HandshakeError) fail(error.message);
      throw error;
    }
  }
  return { protocol, extensions, deflate };
}
