#!/usr/bin/python3
"""bench/forward.py: a forwarder that makes 127.0.0.1 look as far away as a real server.

    forward.py [ONE_WAY_MS]      (prints "PORT\\n" when it listens on 127.0.0.1:PORT)

It is an HTTP CONNECT proxy next to the client (the module's proxy=http://127.0.0.1:PORT),
so the module keeps the emulator's own URL (the session JWT's issuer, the certificate's
name) while every byte to and from the emulator is delayed: each chunk read on one side of
the tunnel is written to the other ONE_WAY_MS (default 25) later, in order, so a request
and its answer cost one round trip (RTT = 2 x ONE_WAY_MS). The CONNECT is answered after
one RTT, the TCP handshake with the far server (on loopback connect() returns at once). A
fresh HTTPS request so costs 3 round trips (TCP, TLS 1.3, HTTP) and each further request on
the same connection 1. With ONE_WAY_MS 0 it is the same path without the distance. Tunnels
go to 127.0.0.1 only. Runs until killed; stdlib only.
"""
import asyncio
import sys


async def pipe(reader, writer, delay):
    """Copy reader to writer, each chunk `delay` seconds after it was read."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except OSError:
            pass

    task = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
    except OSError:
        queue.put_nowait((0, None))
    try:
        await task
    except OSError:
        pass


async def serve(delay):
    async def handle(creader, cwriter):
        try:
            head = await creader.readuntil(b"\r\n\r\n")
            method, target = head.split(b" ")[:2]
            host, port = target.decode().rsplit(":", 1)
            if method != b"CONNECT" or host != "127.0.0.1":
                raise ValueError(target)
            sreader, swriter = await asyncio.open_connection("127.0.0.1", int(port))
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            cwriter.close()
            return
        await asyncio.sleep(2 * delay)              # SYN, SYN-ACK to the far server
        cwriter.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(creader, swriter, delay), pipe(sreader, cwriter, delay),
                             return_exceptions=True)
        for w in (cwriter, swriter):
            w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    sys.stdout.write("%d\n" % server.sockets[0].getsockname()[1])
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main():
    one_way_ms = float(sys.argv[1]) if len(sys.argv) > 1 else 25.0
    asyncio.run(serve(one_way_ms / 1000.0))


if __name__ == "__main__":
    main()
