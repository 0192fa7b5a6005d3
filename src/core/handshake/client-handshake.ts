/**
 * The client's opening handshake as one object (RFC 6455 §4.1): the request
 * bytes (with a fresh Sec-WebSocket-Key), then bytes of the response head in
 * and a decision out: accepted (the subprotocol and permessage-deflate
 * parameters the server chose, and the bytes that followed the head) or
 * refused (a HandshakeError whose `status` is the server's status, 0 when
 * the response could not be read). Peer faults never throw; invalid options
 * do (TypeError, RangeError), at construction.
 *
 * It composes buildClientRequest, ResponseHeadParser and
 * validateServerResponse from this folder and buildClientOffer from deflate/.
 */
import { HandshakeError } from '../errors.js';
import { buildClientOffer } from '../deflate/negotiate-client.js';
import { resolveDeflateOptions, type DeflateParams, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../deflate/options.js';
import { generateKey } from './accept-key.js';
import { ResponseHeadParser, type ParsedResponseHead } from './response-head.js';
import { buildClientRequest, validateServerResponse } from './rules.js';

export interface ClientHandshakeOptions {
  /** The Host header: host, and `:port` unless it is the scheme's default. */
  host: string;
  /** The request-target: path and query, e.g. '/chat?room=1'. Default '/'. */
  path?: string;
  /** Subprotocols to offer, in order of preference (unique tokens). */
  protocols?: string[];
  /** The Origin header, when the client has one (browsers always send it). */
  origin?: string;
  /** Extra request headers; the handshake's own fields cannot be set here (TypeError). */
  headers?: Record<string, string>;
  /**
   * Offer permessage-deflate (RFC 7692): `true` or options. Default false:
   * the core has no zlib, so only offer it when you can pass a
   * MessageCompressor for the negotiated `deflate` parameters to the
   * Connection.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** See DEFAULTS.maxHeaderBytes (the response head). */
  maxHeaderBytes?: number;
  /** See DEFAULTS.maxHeaderCount (response header lines). */
  maxHeaderCount?: number;
  /** The Sec-WebSocket-Key; default: 16 fresh random bytes. Pass one only for deterministic tests. */
  key?: string;
}

export type ClientHandshakeResult =
  | {
      isAccepted: true;
      /** The parsed 101 response (status, headers in order). */
      head: ParsedResponseHead;
      /** The chosen subprotocol, '' when none. */
      protocol: string;
      /** The Sec-WebSocket-Extensions value as received, '' when none. */
      extensions: string;
      /** Negotiated permessage-deflate parameters, null when not in use. */
      deflate: DeflateParams | null;
      /** Bytes received after the head: the server's first frames. Feed them to the Connection first. */
      rest: Buffer;
    }
  | {
      isAccepted: false;
      /** The parsed response when it could be read (e.g. a 403), else null. */
      head: ParsedResponseHead | null;
      /** `status` is the server's status, 0 when the response could not be read. */
      error: HandshakeError;
    };

export class ClientHandshake {
  /** The Sec-WebSocket-Key sent; the server's Sec-WebSocket-Accept must match it. */
  readonly key: string;
  /** The whole request head, CRLFCRLF included (ASCII unless headers carry other text: write it as UTF-8). */
  readonly request: string;
  readonly #protocols: readonly string[];
  readonly #deflate: ResolvedDeflateOptions | undefined;
  readonly #parser: ResponseHeadParser;
  #result: ClientHandshakeResult | undefined;

  constructor(options: ClientHandshakeOptions) {
    this.key = options.key ?? generateKey();
    this.#protocols = options.protocols ?? [];
    const deflate = options.perMessageDeflate ?? false;
    this.#deflate = deflate === false ? undefined : resolveDeflateOptions(deflate);
    this.#parser = new ResponseHeadParser({ maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: options.maxHeaderCount });
    this.request = buildClientRequest({
      host: options.host,
      path: options.path ?? '/',
      key: this.key,
      protocols: options.protocols,
      origin: options.origin,
      headers: options.headers,
      extensions: this.#deflate === undefined ? undefined : buildClientOffer(this.#deflate),
    });
  }

  /** The decision, once made. */
  get result(): ClientHandshakeResult | undefined {
    return this.#result;
  }

  /**
   * Feeds bytes of the server's response. Returns null while the head is
   * incomplete, then the decision (RFC 6455 §4.1: status 101, Upgrade,
   * Connection, Sec-WebSocket-Accept, a subprotocol we offered, only
   * extensions we offered). Bytes fed after the decision are a misuse (Error).
   */
  receive(chunk: Buffer): ClientHandshakeResult | null {
    if (this.#result !== undefined) throw new Error('the handshake is already decided; feed later bytes to the Connection');
    let head: ParsedResponseHead | null;
    try {
      head = this.#parser.push(chunk);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return (this.#result = { isAccepted: false, head: null, error });
    }
    if (head === null) return null;
    try {
      const checked = validateServerResponse(head, { key: this.key, protocols: this.#protocols, deflate: this.#deflate ?? false });
      return (this.#result = { isAccepted: true, head, ...checked, rest: head.rest });
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return (this.#result = { isAccepted: false, head, error });
    }
  }

  /** The transport ended before the response was complete: the handshake is refused with status 0. */
  receiveEof(): ClientHandshakeResult {
    if (this.#result !== undefined) return this.#result;
    return (this.#result = { isAccepted: false, head: null, error: new HandshakeError('the connection ended during the opening handshake', 0) });
  }
}
