"""Echo server on python3-websockets (Debian), a peer for the client tests.

Prints the listening port on stdout, then serves until stdin closes.
Text message "close <code> <reason>" makes the server start the closing
handshake with that code; any other message is echoed unchanged.
"""
import asyncio
import sys

import websockets


async def echo(ws, *args):
    async for message in ws:
        if isinstance(message, str) and message.startswith("close "):
            parts = message.split(" ", 2)
            await ws.close(int(parts[1]), parts[2] if len(parts) > 2 else "")
            return
        await ws.send(message)


async def main():
    compression = "deflate" if "--deflate" in sys.argv else None
    async with websockets.serve(
        echo, "127.0.0.1", 0, subprotocols=["superchat", "chat"], max_size=None, compression=compression
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        loop = asyncio.get_running_loop()
        # Stop when the test process closes our stdin (or exits).
        await loop.run_in_executor(None, sys.stdin.read)


asyncio.run(main())
