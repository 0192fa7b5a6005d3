/**
 * The client's side of RFC 7692 §5 and §7: building the offer and checking
 * the server's response (anything not offered or not acceptable fails).
 */
import { DEFLATE_DEFAULTS } from '../options.js';
import { HandshakeError } from '../errors.js';
import { parseParameterizedList } from '../handshake/header-tokens.js';
import { EXTENSION_NAME, MAX_PARAMS, parseWindowBits, toParsedExtension } from './extension-header.js';
import {
  isResolved,
  resolveDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
} from './options.js';

/**
 * The client's offer (RFC 7692 §5, §7.1). Default, like browsers:
 * `permessage-deflate; client_max_window_bits`.
 */
export function buildClientOffer(o: PerMessageDeflateOptions | ResolvedDeflateOptions = {}): string {
  const r = isResolved(o) ? o : resolveDeflateOptions(o);
  let out = EXTENSION_NAME;
  if (r.serverNoContextTakeover) out += '; server_no_context_takeover';
  if (r.clientNoContextTakeover) out += '; client_no_context_takeover';
  if (r.serverMaxWindowBits !== undefined) out += `; server_max_window_bits=${r.serverMaxWindowBits}`;
  if (typeof r.clientMaxWindowBits === 'number') out += `; client_max_window_bits=${r.clientMaxWindowBits}`;
  else if (r.clientMaxWindowBits !== false) out += '; client_max_window_bits';
  return out;
}

/**
 * The client's check of the server's Sec-WebSocket-Extensions (RFC 7692
 * §5, §7.1): returns the agreed parameters, null when the server declined
 * (no header), and throws a HandshakeError (status 101: the server did
 * answer 101) for anything we did not offer or cannot accept, so the
 * connection fails.
 */
export function acceptServerResponse(
  header: string | undefined,
  o: PerMessageDeflateOptions | ResolvedDeflateOptions,
): DeflateParams | null {
  if (header === undefined || header.trim() === '') return null;
  const r = isResolved(o) ? o : resolveDeflateOptions(o);
  const fail = (message: string): never => {
    throw new HandshakeError(`invalid Sec-WebSocket-Extensions response: ${message}`, 101);
  };
  let list: ReturnType<typeof parseParameterizedList> | undefined;
  try {
    list = parseParameterizedList(header, EXTENSION_NAME, MAX_PARAMS);
  } catch (error) {
    fail((error as Error).message);
  }
  const { elements, firstSkippedName } = list!;
  if (firstSkippedName !== undefined) fail(`extension ${JSON.stringify(firstSkippedName)} was not offered`);
  if (elements.length > 1) fail('permessage-deflate accepted more than once');
  const response = toParsedExtension(elements[0]);
  if (response.duplicateParams.length > 0) fail(`duplicate parameter ${response.duplicateParams[0]}`);

  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: r.clientNoContextTakeover,
    serverMaxWindowBits: DEFLATE_DEFAULTS.maxWindowBits,
    clientMaxWindowBits: typeof r.clientMaxWindowBits === 'number' ? r.clientMaxWindowBits : DEFLATE_DEFAULTS.maxWindowBits,
  };
  let hasServerBits = false;
  for (const [name, value] of response.params) {
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) fail('server_no_context_takeover has a value');
        params.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        // §7.1.1.2: the server may require this even if not offered.
        if (value !== true) fail('client_no_context_takeover has a value');
        params.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = parseWindowBits(value);
        if (bits === null) fail(`server_max_window_bits=${String(value)} is not 8..15`);
        if (r.serverMaxWindowBits !== undefined && bits! > r.serverMaxWindowBits) {
          fail(`server_max_window_bits=${bits!} exceeds the offered ${r.serverMaxWindowBits}`);
        }
        params.serverMaxWindowBits = bits!;
        hasServerBits = true;
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: only allowed if offered, and the response must carry a value.
        if (r.clientMaxWindowBits === false) fail('client_max_window_bits was not offered');
        const bits = parseWindowBits(value);
        if (bits === null) fail(`client_max_window_bits=${String(value)} is not 8..15`);
        // Our offered value is a limit we stated; a larger answer is not what we offered.
        if (typeof r.clientMaxWindowBits === 'number' && bits! > r.clientMaxWindowBits) {
          fail(`client_max_window_bits=${bits!} exceeds the offered ${r.clientMaxWindowBits}`);
        }
        params.clientMaxWindowBits = bits!;
        break;
      }
      default:
        fail(`unknown parameter ${name}`);
    }
  }
  // §7.1.1.1 / §7.1.2.1: the server accepts these requests by echoing them; without the echo it did not agree.
  if (r.serverNoContextTakeover && !params.serverNoContextTakeover) fail('server_no_context_takeover was requested but not accepted');
  if (r.serverMaxWindowBits !== undefined && !hasServerBits) fail('server_max_window_bits was requested but not accepted');
  return params;
}
