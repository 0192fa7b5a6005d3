/**
 * The server's side of RFC 7692 §5 and §7: reading the client's offers and
 * answering the first acceptable one (or none).
 */
import { DEFLATE_DEFAULTS } from '../options.js';
import { parseParameterizedList, type ParameterizedElement } from '../handshake/header-tokens.js';
import { EXTENSION_NAME, MAX_PARAMS, parseWindowBits, toParsedExtension, type ParsedExtension } from './extension-header.js';
import {
  isResolved,
  resolveDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
} from './options.js';

function formatResponse(p: DeflateParams, includeServerBits: boolean, includeClientBits: boolean): string {
  let out = EXTENSION_NAME;
  if (p.serverNoContextTakeover) out += '; server_no_context_takeover';
  if (p.clientNoContextTakeover) out += '; client_no_context_takeover';
  if (includeServerBits) out += `; server_max_window_bits=${p.serverMaxWindowBits}`;
  if (includeClientBits) out += `; client_max_window_bits=${p.clientMaxWindowBits}`;
  return out;
}

/**
 * The server's answer to one offer, or null to decline it (RFC 7692 §5.1, §7):
 * unknown, duplicate or malformed parameters, or a configuration we will not
 * honour, decline the offer.
 */
function answerOffer(offer: ParsedExtension, o: ResolvedDeflateOptions): { params: DeflateParams; responseHeader: string } | null {
  if (offer.duplicateParams.length > 0) return null;
  let serverNoContextTakeover = o.serverNoContextTakeover;
  let clientNoContextTakeover = o.clientNoContextTakeover;
  let offeredServerBits: number | undefined;
  let offersClientBits = false;
  let offeredClientBits: number | undefined;
  for (const [name, value] of offer.params) {
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) return null;
        // §7.1.1.1: the client asks us to reset; we always can.
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) return null;
        // §7.1.1.2: a hint that the client resets; echoing it makes it binding.
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = parseWindowBits(value);
        if (bits === null) return null;
        offeredServerBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        offersClientBits = true;
        if (value !== true) {
          const bits = parseWindowBits(value);
          if (bits === null) return null;
          offeredClientBits = bits;
        }
        break;
      }
      default:
        // §7: a parameter not defined for use in an offer.
        return null;
    }
  }
  // Our compressor: at most what we configured and at most what the client allows.
  const ourServerBits = o.serverMaxWindowBits ?? DEFLATE_DEFAULTS.maxWindowBits;
  const serverMaxWindowBits = Math.min(ourServerBits, offeredServerBits ?? DEFLATE_DEFAULTS.maxWindowBits);
  // §7.1.2.1: accepting server_max_window_bits means answering it; we may also announce a smaller window.
  const includeServerBits = offeredServerBits !== undefined || serverMaxWindowBits < DEFLATE_DEFAULTS.maxWindowBits;

  // §7.1.2.2: we may limit the client's window only if it offered client_max_window_bits.
  const wantedClientBits = typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : undefined;
  if (wantedClientBits !== undefined && wantedClientBits < DEFLATE_DEFAULTS.maxWindowBits && !offersClientBits) {
    // The operator bounded inflate memory; this client cannot be bounded.
    return null;
  }
  let clientMaxWindowBits: number = DEFLATE_DEFAULTS.maxWindowBits;
  let includeClientBits = false;
  if (offersClientBits) {
    const limit = Math.min(wantedClientBits ?? DEFLATE_DEFAULTS.maxWindowBits, offeredClientBits ?? DEFLATE_DEFAULTS.maxWindowBits);
    if (limit < DEFLATE_DEFAULTS.maxWindowBits || offeredClientBits !== undefined) {
      clientMaxWindowBits = limit;
      includeClientBits = true;
    }
  }
  const params: DeflateParams = { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits };
  return { params, responseHeader: formatResponse(params, includeServerBits, includeClientBits) };
}

/**
 * The server's side of RFC 7692 §5: considers the permessage-deflate offers
 * in `header` in order and accepts the first it can honour. Returns null
 * (no compression) when there is no acceptable offer, including when the
 * header is syntactically malformed (we cannot tell where offers start, so
 * none is accepted; the handshake itself proceeds uncompressed).
 */
export function negotiateServer(
  header: string | undefined,
  o: PerMessageDeflateOptions | ResolvedDeflateOptions,
): { params: DeflateParams; responseHeader: string } | null {
  if (header === undefined || header === '') return null;
  const resolved = isResolved(o) ? o : resolveDeflateOptions(o);
  let offers: ParameterizedElement[];
  try {
    // Other extensions are syntax-checked but not materialised.
    offers = parseParameterizedList(header, EXTENSION_NAME, MAX_PARAMS).elements;
  } catch {
    return null;
  }
  for (const offer of offers) {
    const answer = answerOffer(toParsedExtension(offer), resolved);
    if (answer) return answer;
  }
  return null;
}
