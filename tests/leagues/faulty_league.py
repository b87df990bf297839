"""A league server that misbehaves on purpose, for the deadline and fault tests.

It speaks just enough HTTP/1.1 on 127.0.0.1 to be a `ChannelsClient`'s base URL. Its `mode` decides
what every request gets:

    pass       forwarded to the upstream server (the sandbox league) and answered as it answers
    slow       like pass, after `delay` seconds, for paths containing `slow_path` (others pass at once)
    hang       nothing, ever (the connection stays open)
    trickle    a 200 whose body comes one byte a second
    5xx        503 Service Unavailable
    malformed  a 200 with a JSON body cut off half way
    huge       a 200 announcing 400 MB, streamed until the client hangs up
    huge_unannounced  the same with no Content-Length (the client learns only by counting)
    gzip_bomb  a 200 of `Content-Encoding: gzip`, whatever the client asked for: 400 MB of zeros in
               400 KB (a valid gzip file); `accept_encodings` records what each request asked for
    token_storm       business calls are refused with errcode 40001; the token endpoint always
                      hands out a new token (what a token invalidated elsewhere looks like)

Token requests pass straight to the upstream (or get a made-up token when there is none) except
in `hang`, `trickle`, `5xx`, `malformed` and `huge*`, which hit every path: a broken server is broken
for tokens too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import struct
import zlib
from collections import Counter
from types import TracebackType

import httpx

HUGE_BYTES = 400 << 20
CHUNK = b" " * 65536


@functools.cache
def gzip_bomb(megabytes: int = HUGE_BYTES >> 20) -> bytes:
    """`megabytes` MB of zeros as one gzip file, built from one compressed megabyte (a full flush
    makes each megabyte's block the same bytes), in a fraction of the time compressing it all takes."""
    zeros = b"\0" * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)
    return header + block * megabytes + deflate.flush() + trailer


class FaultyLeague:
    def __init__(self, upstream: str = "", mode: str = "pass") -> None:
        self.upstream = upstream
        self.mode = mode
        self.delay = 0.0
        self.slow_path = "get_promote_product_list"
        self.requests: Counter[str] = Counter()
        self.bytes_sent = 0
        self.accept_encodings: list[str] = []
        self._tokens = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._conns: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._stop = asyncio.Event()
        self._http = httpx.AsyncClient(base_url=upstream or "http://127.0.0.1:9")
        self.base_url = ""

    async def __aenter__(self) -> FaultyLeague:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        self._stop.set()
        for writer in self._conns.values():
            writer.transport.abort()
        await asyncio.gather(*self._conns, return_exceptions=True)
        await self._server.wait_closed()
        await self._http.aclose()

    def token_requests(self) -> int:
        return sum(n for path, n in self.requests.items() if "token" in path)

    # -- the wire ----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns[task] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                path = target.split("?", 1)[0]
                self.requests[path] += 1
                self.accept_encodings.append(headers.get("accept-encoding", ""))
                if not await self._answer(writer, method, target, path, body):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            return
        finally:
            self._conns.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        self.bytes_sent += len(data)
        await writer.drain()

    async def _reply(self, writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> bool:
        reason = {200: "OK", 503: "Service Unavailable"}.get(status, "Error")
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        ).encode()
        await self._write(writer, head + body)
        return True

    async def _answer(
        self, writer: asyncio.StreamWriter, method: str, target: str, path: str, body: bytes
    ) -> bool:
        """Writes one answer; False closes the connection."""
        mode = self.mode
        if mode == "hang":
            await self._stop.wait()  # until the server shuts down
            return False
        if mode == "5xx":
            return await self._reply(writer, 503, b"busy")
        if mode == "malformed":
            return await self._reply(writer, 200, b'{"errcode": 0, "product_list": [{"product_id": ')
        if mode == "trickle":
            payload = json.dumps({"errcode": 0, "access_token": "x" * 500}).encode()
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            )
            await self._write(writer, head.encode())
            for byte in payload:
                await self._write(writer, bytes([byte]))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)  # one byte a second
                if self._stop.is_set():
                    return False
            return True
        if mode == "gzip_bomb":
            return await self._reply(writer, 200, gzip_bomb(), "Content-Encoding: gzip\r\n")
        if mode in ("huge", "huge_unannounced"):
            length = f"Content-Length: {HUGE_BYTES}\r\n" if mode == "huge" else "Connection: close\r\n"
            await self._write(
                writer, f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode()
            )
            sent = 0
            while sent < HUGE_BYTES and not self._stop.is_set():
                await self._write(writer, CHUNK)
                sent += len(CHUNK)
            return False
        is_token = "token" in path
        if mode == "token_storm":
            if is_token:
                token = f"storm-{next(self._tokens)}"
                return await self._reply(
                    writer, 200, json.dumps({"access_token": token, "expires_in": 7200}).encode()
                )
            return await self._reply(writer, 200, b'{"errcode": 40001, "errmsg": "invalid credential"}')
        if mode == "slow" and self.slow_path in path:
            await asyncio.sleep(self.delay)
        if not self.upstream:
            if is_token:
                return await self._reply(writer, 200, b'{"access_token": "made-up", "expires_in": 7200}')
            return await self._reply(writer, 200, b'{"errcode": 0}')
        upstream = await self._http.request(
            method,
            target,
            content=body or None,
            headers={"Content-Type": "application/json"} if body else None,
        )
        return await self._reply(writer, upstream.status_code, upstream.content)
