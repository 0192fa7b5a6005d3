"""python3-websockets echo-bot server for the interop suite.

Usage: bot_server.py [--compression deflate|none] [--deflate-params JSON]
                     [--subprotocols a,b] [--certfile PEM --keyfile PEM]
Prints {"event":"listening","port":N} once bound to 127.0.0.1 on port 0, then
one JSON line per connection event (see bot.py). Exits on stdin EOF.
"""
import argparse
import asyncio
import itertools
import ssl
import sys

import websockets

from bot import deflate_factories, emit, run_bot


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compression", default="deflate")
    parser.add_argument("--deflate-params", default="")
    parser.add_argument("--subprotocols", default="")
    parser.add_argument("--certfile", default=None, help="serve wss:// with this certificate")
    parser.add_argument("--keyfile", default=None)
    args = parser.parse_args()
    tls = None
    if args.certfile:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.certfile, args.keyfile)
    compression, extensions = deflate_factories("server", args.compression, args.deflate_params)
    subprotocols = [p for p in args.subprotocols.split(",") if p] or None
    ids = itertools.count(1)

    async def handler(ws, path=None):
        conn_id = next(ids)
        header = ws.response_headers.get("Sec-WebSocket-Extensions")
        emit(event="open", id=conn_id, protocol=ws.subprotocol or "", extensions=header or "")
        await run_bot(ws, conn_id, header)

    server = await websockets.serve(
        handler,
        "127.0.0.1",
        0,
        compression=compression,
        extensions=extensions,
        subprotocols=subprotocols,
        max_size=None,
        ping_interval=None,
        ssl=tls,
    )
    emit(event="listening", port=server.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    # Stop when the test closes our stdin (or dies), so no process is left behind.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    await server.wait_closed()


asyncio.run(main())
