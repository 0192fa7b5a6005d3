/**
 * The server's opening handshake as one object (RFC 6455 §4.2): bytes of
 * the request head in, a decision out. The decision is a value: either the
 * 101 response to write (with the negotiated subprotocol and
 * permessage-deflate parameters, and the bytes that followed the head), or
 * a refusal (status, headers, body and the whole HTTP response to write).
 * Peer faults never throw; only local misuse does (invalid options, a
 * subprotocol chooser that returns something the client did not offer).
 *
 * It composes the lower-level pieces in this folder (RequestHeadParser,
 * validateUpgradeRequest, buildAcceptResponse, buildRejectResponse) and
 * negotiateServer from deflate/, for adapters that want the whole step.
 */
import { EMPTY_BUFFER } from '../buffer-view.js';
import { HandshakeError } from '../errors.js';
import { negotiateServer } from '../deflate/negotiate-server.js';
import { resolveDeflateOptions, type DeflateParams, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../deflate/options.js';
import { RequestHeadParser, type ParsedRequestHead } from './request-head.js';
import {
  buildAcceptResponse,
  buildRejectResponse,
  selectProtocol,
  validateUpgradeRequest,
  type UpgradeRequestInfo,
  type ValidatedUpgrade,
} from './rules.js';

/** Picks a subprotocol among those the client offered (client order), or undefined for none. */
export type ProtocolChooser = (offered: readonly string[], request: UpgradeRequestInfo) => string | undefined;

export interface ServerHandshakeOptions {
  /**
   * Subprotocols this server speaks: the first one the client offered
   * (client order) is chosen. Or a function that chooses; it must return
   * one of the offered names or undefined (TypeError otherwise). Default:
   * none (no Sec-WebSocket-Protocol in the response).
   */
  protocols?: readonly string[] | ProtocolChooser;
  /**
   * permessage-deflate (RFC 7692): `true` or options to accept a client's
   * offer. Default false: the core has no zlib, so only enable it when you
   * pass a MessageCompressor for the negotiated `deflate` parameters to the
   * Connection.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Extra headers for the 101 response; the handshake's own fields cannot be replaced. */
  headers?: Record<string, string | string[]>;
  /** See DEFAULTS.maxHeaderBytes (the request head, 431 over it). */
  maxHeaderBytes?: number;
  /** See DEFAULTS.maxHeaderCount (header lines, 431 over it). */
  maxHeaderCount?: number;
}

/** The handshake succeeded: write `response`, then run a Connection (role 'server') fed with `rest` first. */
export interface HandshakeAccepted {
  isAccepted: true;
  /** The whole 101 response head, CRLFCRLF included (write it as latin1 or UTF-8: it is ASCII). */
  response: string;
  /** What the client asked for (key, host, origin, offered subprotocols and extensions). */
  request: ValidatedUpgrade;
  /** The request-target, when the head was parsed here or given. */
  url: string | undefined;
  /** The chosen subprotocol, '' when none. */
  protocol: string;
  /** Negotiated permessage-deflate parameters, null when not in use. */
  deflate: DeflateParams | null;
  /** Bytes received after the head: the first frames. */
  rest: Buffer;
}

/** The handshake was refused: write `response` (it says `Connection: close`), then end the transport. */
export interface HandshakeRefused {
  isAccepted: false;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The whole HTTP response: status line, headers, body. */
  response: string;
  /** Why, for logs: the validation failure, or the error given to reject(). */
  error: HandshakeError;
}

export type ServerHandshakeResult = HandshakeAccepted | HandshakeRefused;

export class ServerHandshake {
  readonly #parser: RequestHeadParser;
  readonly #protocols: readonly string[] | ProtocolChooser | undefined;
  readonly #deflate: ResolvedDeflateOptions | undefined;
  readonly #headers: Record<string, string | string[]> | undefined;
  #result: ServerHandshakeResult | undefined;

  constructor(options: ServerHandshakeOptions = {}) {
    this.#parser = new RequestHeadParser({ maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: options.maxHeaderCount });
    this.#protocols = options.protocols;
    const deflate = options.perMessageDeflate ?? false;
    this.#deflate = deflate === false ? undefined : resolveDeflateOptions(deflate);
    this.#headers = options.headers;
  }

  /** The decision, once made (by receive() or accept()). */
  get result(): ServerHandshakeResult | undefined {
    return this.#result;
  }

  /**
   * Feeds bytes of the request head. Returns null while the head is
   * incomplete, then the decision: a malformed head or one over a limit is
   * refused (400, 431), a valid upgrade request accepted or refused as
   * accept() decides. Bytes fed after the decision are a misuse (Error).
   */
  receive(chunk: Buffer): ServerHandshakeResult | null {
    if (this.#result !== undefined) throw new Error('the handshake is already decided; feed later bytes to the Connection');
    let head: ParsedRequestHead | null;
    try {
      head = this.#parser.push(chunk);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return (this.#result = this.reject(error.status, { headers: { ...error.headers } }, error));
    }
    if (head === null) return null;
    return this.accept(head, head.rest);
  }

  /**
   * Decides on a request head (parsed by receive(), or by an HTTP server such
   * as node:http, whose IncomingMessage fits UpgradeRequestInfo): validates
   * it (RFC 6455 §4.2.1: 400, or 426 for another version), chooses the
   * subprotocol, negotiates permessage-deflate and builds the 101 response.
   */
  accept(request: UpgradeRequestInfo, rest: Buffer = EMPTY_BUFFER): ServerHandshakeResult {
    let validated: ValidatedUpgrade;
    try {
      validated = validateUpgradeRequest(request);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      return (this.#result = this.reject(error.status, { headers: { ...error.headers } }, error));
    }
    const protocol = this.#chooseProtocol(validated.protocols, request);
    const negotiated = this.#deflate === undefined ? null : negotiateServer(validated.extensions, this.#deflate);
    const response = buildAcceptResponse({
      key: validated.key,
      protocol,
      extensions: negotiated?.responseHeader,
      headers: this.#headers,
    });
    return (this.#result = {
      isAccepted: true,
      response,
      request: validated,
      url: request.url,
      protocol,
      deflate: negotiated === null ? null : negotiated.params,
      rest,
    });
  }

  /**
   * A refusal the application decides (e.g. 403 for an Origin it does not
   * allow, 401 without credentials): status 400..599 (RangeError otherwise),
   * extra headers, and a body (default: the reason phrase).
   */
  reject(status: number, o: { headers?: Record<string, string>; body?: string } = {}, error?: HandshakeError): HandshakeRefused {
    const headers = o.headers ?? {};
    const response = buildRejectResponse(status, { headers, body: o.body });
    const body = response.slice(response.indexOf('\r\n\r\n') + 4);
    return (this.#result = {
      isAccepted: false,
      status,
      headers,
      body,
      response,
      error: error ?? new HandshakeError(`refused with ${status}`, status, headers),
    });
  }

  #chooseProtocol(offered: string[], request: UpgradeRequestInfo): string {
    const protocols = this.#protocols;
    if (protocols === undefined || offered.length === 0) return '';
    if (typeof protocols !== 'function') return selectProtocol(offered, protocols) ?? '';
    const chosen = protocols(offered, request);
    if (chosen === undefined || chosen === '') return '';
    if (!offered.includes(chosen)) throw new TypeError(`the protocol chooser returned ${JSON.stringify(chosen)}, which the client did not offer`);
    return chosen;
  }
}
