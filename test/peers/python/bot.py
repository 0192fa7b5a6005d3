"""Echo bot shared by bot_server.py and bot_client.py (python3-websockets 10.x).

The bot speaks the small command protocol of test/peers/bot-protocol.ts:
every message is echoed with its type unchanged, except text messages that
start with "#cmd ", which ask the bot to do something only the peer can do
(send fragments, ping, close with a code). Events the test needs to observe
from outside the connection (open, closed with code/reason) are printed to
stdout as JSON lines, one per event, and flushed at once.
"""
import asyncio
import json
import sys

from websockets.frames import Close
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def pattern(size):
    # Same deterministic payload as bot-protocol.ts pattern().
    return "".join(chr(97 + (i * 7 + i // 26) % 26) for i in range(size))


def utf8_pattern(size):
    # Same text as bot-protocol.ts utf8Pattern(): 1-4 byte sequences, exactly size bytes.
    units = ["a", "\u00e9", "\u2713", "\U0001f389"]
    out, used, i = [], 0, 0
    while used < size:
        unit = units[i % 4]
        length = len(unit.encode())
        if used + length > size:
            out.append("a" * (size - used))
            break
        out.append(unit)
        used += length
        i += 1
    return "".join(out)


def split(data, count):
    step = max(1, -(-len(data) // count))
    parts = [data[i : i + step] for i in range(0, len(data), step)]
    while len(parts) < count:
        parts.append(data[:0])
    return parts


def deflate_factories(role, compression, params_json):
    """(compression, extensions) arguments for serve()/connect()."""
    if compression == "none":
        return None, None
    params = json.loads(params_json) if params_json else None
    if not params:
        return "deflate", None
    kwargs = {}
    for key in (
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    ):
        if key in params:
            kwargs[key] = params[key]
    factory = (ServerPerMessageDeflateFactory if role == "server" else ClientPerMessageDeflateFactory)(**kwargs)
    return None, [factory]


async def run_bot(ws, conn_id, extensions_header):
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith("#cmd "):
                await command(ws, conn_id, extensions_header, message[5:])
            else:
                await ws.send(message)
    except Exception as error:  # the connection failed; the closed event says how
        emit(event="bot-error", id=conn_id, error=repr(error))
    await ws.wait_closed()
    emit(event="closed", id=conn_id, code=ws.close_code, reason=ws.close_reason)


async def command(ws, conn_id, extensions_header, line):
    words = line.split(" ")
    name = words[0]
    if name == "info":
        await ws.send("#info " + json.dumps({
            "id": conn_id,
            "protocol": ws.subprotocol or "",
            "extensions": extensions_header or "",
        }))
    elif name == "fragments":
        kind, count, size = words[1], int(words[2]), int(words[3])
        # websockets sends an iterable of str as text fragments; it cannot cut
        # inside a UTF-8 sequence, so "utf8" is split by characters here.
        data = utf8_pattern(size) if kind == "utf8" else pattern(size)
        if kind == "binary":
            data = data.encode()
        await ws.send(split(data, count))
    elif name == "fragments-ping":
        count, size = int(words[1]), int(words[2])
        parts = split(pattern(size).encode(), count)
        waiters = []

        async def frames():
            for i, part in enumerate(parts):
                yield part
                if i == 0:
                    # A control frame between two fragments (RFC 6455 §5.4).
                    waiters.append(await ws.ping(b"mid"))

        await ws.send(frames())
        await waiters[0]
        await ws.send("#pong mid")
    elif name == "ping":
        payload = " ".join(words[1:]).encode()
        waiter = await ws.ping(payload)
        await waiter
        await ws.send("#pong " + payload.decode())
    elif name == "close":
        await ws.close(int(words[1]), " ".join(words[2:]))
    elif name == "close-nocode":
        # close() always sends a code; an empty close frame (RFC 6455 §5.5.1:
        # the body is optional) needs the lower-level writer with raw bytes.
        await ws.write_close_frame(Close(1000, ""), b"")
        await ws.wait_closed()
    else:
        await ws.send("#error unknown command " + name)
