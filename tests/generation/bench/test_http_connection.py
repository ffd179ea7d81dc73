"""The load client's HTTP/1.1 connection against a small asyncio server on loopback."""

from __future__ import annotations

import asyncio

from generation.bench.load import HttpConnection


async def _serve(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return await reader.readexactly(length)


def test_a_kept_alive_connection_carries_several_requests_and_a_large_body():
    connections, bodies = [], []

    async def handler(reader, writer):
        connections.append(writer)
        while True:
            try:
                bodies.append(await _read_request(reader))
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            await writer.drain()
        writer.close()

    async def main():
        server, port = await _serve(handler)
        connection = HttpConnection("127.0.0.1", port)
        answers = [await connection.request("POST", "/a", b"x" * 3_000_000, "application/octet-stream"),
                   await connection.request("GET", "/b")]
        connection.close()
        server.close()
        return answers

    assert asyncio.run(main()) == [(200, b"hello"), (200, b"hello")]
    assert len(connections) == 1 and [len(b) for b in bodies] == [3_000_000, 0]


def test_an_idle_connection_the_server_closed_is_retried_once_on_a_new_one():
    served = []

    async def handler(reader, writer):
        await _read_request(reader)
        served.append(1)
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()  # no keep-alive, and no Connection: close header either

    async def main():
        server, port = await _serve(handler)
        connection = HttpConnection("127.0.0.1", port)
        first = await connection.request("GET", "/a")
        await asyncio.sleep(0.05)
        second = await connection.request("GET", "/b")
        connection.close()
        server.close()
        return first, second

    assert asyncio.run(main()) == ((204, b""), (204, b""))
    assert len(served) == 2


def test_a_body_without_a_length_runs_to_the_end_of_the_connection():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 200_000)
        await writer.drain()
        writer.close()

    async def main():
        server, port = await _serve(handler)
        answer = await HttpConnection("127.0.0.1", port).request("GET", "/")
        server.close()
        return answer

    status, payload = asyncio.run(main())
    assert status == 200 and payload == b"y" * 200_000
