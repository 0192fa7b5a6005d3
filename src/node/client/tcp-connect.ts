/**
 * `net.connect()` options for a plain TCP connection: the client's direct
 * connections and its connections to HTTP and SOCKS proxies.
 *
 * They hold the fields the net.Socket constructor stores on its copy of the
 * options it gets, with the values it stores: V8 then makes no new hidden
 * classes per socket for those stores (the constructor copies its options
 * with a spread; see server/lean-accept.ts). 611 -> 7 bytes per closed
 * connection that survive a young-generation GC (test/node/server/lean-accept.test.ts).
 */
import type net from 'node:net';

export function plainConnectOptions(host: string, port: number): net.TcpNetConnectOpts {
  return { host, port, allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false } as net.TcpNetConnectOpts;
}
