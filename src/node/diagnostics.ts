/**
 * node:diagnostics_channel events. Publishing is skipped entirely when nobody
 * subscribed (`hasSubscribers`), so observability costs nothing by default.
 *
 * Channel                          message
 * sockwave:connection-open         { socket, request, response, protocol, extensions } (server and client sockets)
 * sockwave:connection-close        { socket, code, reason, wasClean }
 * sockwave:handshake-rejected      { request, socket, status, reason }
 * sockwave:protocol-error          { socket, error, closeCode }
 * sockwave:backpressure            { socket, bufferedAmount, highWaterMarkBytes, policy, action: 'queued'|'dropped'|'closed'|'drained' }
 */
import diagnosticsChannel from 'node:diagnostics_channel';

export const channels = {
  connectionOpen: diagnosticsChannel.channel('sockwave:connection-open'),
  connectionClose: diagnosticsChannel.channel('sockwave:connection-close'),
  handshakeRejected: diagnosticsChannel.channel('sockwave:handshake-rejected'),
  protocolError: diagnosticsChannel.channel('sockwave:protocol-error'),
  backpressure: diagnosticsChannel.channel('sockwave:backpressure'),
} as const;
