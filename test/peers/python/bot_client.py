"""python3-websockets echo-bot client for the interop suite.

Usage: bot_client.py URL [--compression deflate|none] [--deflate-params JSON]
                         [--subprotocols a,b] [--origin O] [--cafile PEM]
Prints {"event":"open",...} after the handshake, {"event":"closed",...} at the
end (or {"event":"connect-error",...}), then exits.
"""
import argparse
import asyncio
import ssl

import websockets

from bot import deflate_factories, emit, run_bot


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--compression", default="deflate")
    parser.add_argument("--deflate-params", default="")
    parser.add_argument("--subprotocols", default="")
    parser.add_argument("--origin", default=None)
    parser.add_argument("--cafile", default=None, help="trust this CA for wss://")
    args = parser.parse_args()
    compression, extensions = deflate_factories("client", args.compression, args.deflate_params)
    subprotocols = [p for p in args.subprotocols.split(",") if p] or None
    try:
        ws = await websockets.connect(
            args.url,
            compression=compression,
            extensions=extensions,
            subprotocols=subprotocols,
            origin=args.origin,
            max_size=None,
            ping_interval=None,
            open_timeout=10,
            **({"ssl": ssl.create_default_context(cafile=args.cafile)} if args.cafile else {}),
        )
    except Exception as error:
        emit(event="connect-error", error=repr(error))
        return
    header = ws.response_headers.get("Sec-WebSocket-Extensions")
    emit(event="open", id=1, protocol=ws.subprotocol or "", extensions=header or "")
    await run_bot(ws, 1, header)


asyncio.run(main())
