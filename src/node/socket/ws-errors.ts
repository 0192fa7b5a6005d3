/**
 * ws's error shapes for the protocol errors of a 'sockwave/ws' socket:
 * apps written against ws switch on `err.code` ('WS_ERR_INVALID_OPCODE',
 * ...) and sometimes on the class (RangeError) or the text. sockwave's own
 * error (ProtocolError, code 'SW_*') stays reachable as `cause`, and
 * `closeCode` is kept. Used by sink.ts for sockets with `isWsFlavour`.
 *
 * The table follows ws 8's receiver: which fault gets which code, class and
 * text. A fault ws has no code for (e.g. inflate errors) passes unchanged.
 * Failed opening handshakes get ws's texts too (toWsHandshakeError).
 */
import { HandshakeError, MessageTooLargeError, ProtocolError, TimeoutError } from '../../core/errors.js';

type WsFault = [ErrorClass: ErrorConstructor | RangeErrorConstructor, code: string, message: string];

const FRAME = 'Invalid WebSocket frame: ';

/** sockwave's fault text (core/frame-header-rules.ts, frame-parser.ts, close.ts, message-reader.ts) -> ws's. */
function wsFaultOf(error: ProtocolError): WsFault | undefined {
  if (error instanceof MessageTooLargeError) return [RangeError, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'Max payload size exceeded'];
  const text = error.message;
  const opcode = /^reserved opcode (\d+)$/.exec(text);
  if (opcode !== null) return [RangeError, 'WS_ERR_INVALID_OPCODE', `${FRAME}invalid opcode ${opcode[1]}`];
  const closeCode = /^invalid close code (\d+)$/.exec(text);
  if (closeCode !== null) return [RangeError, 'WS_ERR_INVALID_CLOSE_CODE', `${FRAME}invalid status code ${closeCode[1]}`];
  switch (text) {
    case 'RSV2 or RSV3 set without a negotiated extension':
      return [RangeError, 'WS_ERR_UNEXPECTED_RSV_2_3', `${FRAME}RSV2 and RSV3 must be clear`];
    case 'RSV1 set on a control frame':
    case 'RSV1 set on a continuation frame':
    case 'RSV1 set without a negotiated extension':
      return [RangeError, 'WS_ERR_UNEXPECTED_RSV_1', `${FRAME}RSV1 must be clear`];
    case 'client sent an unmasked frame':
      return [RangeError, 'WS_ERR_EXPECTED_MASK', `${FRAME}MASK must be set`];
    case 'server sent a masked frame':
      return [RangeError, 'WS_ERR_UNEXPECTED_MASK', `${FRAME}MASK must be clear`];
    case 'fragmented control frame':
      return [RangeError, 'WS_ERR_EXPECTED_FIN', `${FRAME}FIN must be set`];
    case 'continuation frame without a message to continue':
      return [RangeError, 'WS_ERR_INVALID_OPCODE', `${FRAME}invalid opcode 0`];
    case 'new data frame inside a fragmented message':
      // ws names the new frame's opcode; sockwave's text does not carry it.
      return [RangeError, 'WS_ERR_INVALID_OPCODE', `${FRAME}invalid opcode`];
    case 'control frame payload over 125 bytes':
      return [RangeError, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `${FRAME}invalid payload length`];
    case 'close frame payload of 1 byte':
      return [RangeError, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `${FRAME}invalid payload length 1`];
    case '64-bit payload length with the most significant bit set':
      return [RangeError, 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'Unsupported WebSocket frame: payload length > 2^53 - 1'];
    case 'text is not valid UTF-8':
    case 'close reason is not valid UTF-8':
      return [Error, 'WS_ERR_INVALID_UTF8', `${FRAME}invalid UTF-8 sequence`];
    default:
      return undefined;
  }
}

/** The error a ws app expects for `error`, or `error` itself when ws has no equivalent. */
export function toWsError(error: Error): Error {
  if (!(error instanceof ProtocolError)) return error;
  const fault = wsFaultOf(error);
  if (fault === undefined) return error;
  const [ErrorClass, code, message] = fault;
  const wsError = new ErrorClass(message, { cause: error }) as Error & { code: string; closeCode: number };
  wsError.code = code;
  wsError.closeCode = error.closeCode;
  return wsError;
}

/** sockwave's handshake failure text (core/handshake/rules.ts, core/deflate/negotiate-client.ts) -> ws's. */
function wsHandshakeText(error: HandshakeError): string | undefined {
  const text = error.message;
  const status = /^server answered (\d+)/.exec(text);
  if (status !== null) return `Unexpected server response: ${status[1]}`;
  if (text === 'response lacks the Upgrade header' || text.startsWith('Upgrade header is ')) return 'Invalid Upgrade header';
  if (text.includes('Sec-WebSocket-Accept')) return 'Invalid Sec-WebSocket-Accept header';
  if (/^server chose subprotocol .* but none was offered$/.test(text)) return 'Server sent a subprotocol but none was requested';
  if (/^server chose subprotocol .* that was not offered$/.test(text) || text === 'duplicate Sec-WebSocket-Protocol header') {
    return 'Server sent an invalid subprotocol';
  }
  if (text === 'server sent no subprotocol') return 'Server sent no subprotocol';
  if (/^server accepted extensions .* but none were offered$/.test(text)) {
    return 'Server sent a Sec-WebSocket-Extensions header but no extension was requested';
  }
  if (/^invalid Sec-WebSocket-Extensions response: extension .* was not offered$/.test(text)) {
    return 'Server indicated an extension that was not requested';
  }
  if (text.startsWith('invalid Sec-WebSocket-Extensions response: ')) return 'Invalid Sec-WebSocket-Extensions header';
  return undefined;
}

/**
 * The error a ws app expects when the opening handshake fails: ws's text,
 * still a HandshakeError (with its `status`) or TimeoutError, sockwave's
 * own text kept in `cause`. Anything else passes unchanged.
 */
export function toWsHandshakeError(error: Error): Error {
  if (error instanceof TimeoutError && error.phase === 'handshake') {
    const wsError = new TimeoutError('handshake', 0);
    wsError.message = 'Opening handshake has timed out';
    wsError.cause = error;
    return wsError;
  }
  if (!(error instanceof HandshakeError)) return error;
  const text = wsHandshakeText(error);
  if (text === undefined) return error;
  const wsError = new HandshakeError(text, error.status, { ...error.headers });
  wsError.cause = error;
  return wsError;
}

/** sockwave's refusal of an upgrade request (core/handshake/rules.ts validateUpgradeRequest) -> ws's text. */
function wsRequestText(error: HandshakeError): string | undefined {
  const text = error.message;
  if (text.startsWith('method must be GET')) return 'Invalid HTTP method';
  if (text.startsWith('Upgrade header')) return 'Invalid Upgrade header';
  if (text.includes('Sec-WebSocket-Key')) return 'Missing or invalid Sec-WebSocket-Key header';
  if (text.includes('Sec-WebSocket-Version') || text.startsWith('unsupported WebSocket version')) {
    return 'Missing or invalid Sec-WebSocket-Version header';
  }
  if (text.includes('Sec-WebSocket-Protocol') || text.startsWith('duplicate subprotocol')) return 'Invalid Sec-WebSocket-Protocol header';
  return undefined;
}

/**
 * A refused upgrade request on a 'sockwave/ws' server: ws's text (it is
 * also the response body, as ws sends it), status and headers unchanged,
 * sockwave's error as `cause`.
 */
export function toWsRequestError(error: HandshakeError, key: string | string[] | undefined): HandshakeError {
  const text = wsRequestText(error);
  if (text === undefined) return error;
  // ws checks the key before the version: a request wrong in both is refused for its key.
  if (text === 'Missing or invalid Sec-WebSocket-Version header' && (typeof key !== 'string' || !/^[+/0-9A-Za-z]{22}==$/.test(key))) {
    const keyError = new HandshakeError('Missing or invalid Sec-WebSocket-Key header', 400);
    keyError.cause = error;
    return keyError;
  }
  const wsError = new HandshakeError(text, error.status, { ...error.headers });
  wsError.cause = error;
  return wsError;
}
