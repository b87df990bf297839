"""Serve an ASGI app on a free loopback port inside the test's event loop (for the fake WeChat servers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from tests.helpers import wait_until  # re-exported: the fakes and their tests wait the same way


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Yields the base URL (http://127.0.0.1:PORT) while the app is served."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
    )
    config.timeout_graceful_shutdown = 1
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), within=10)
    if task.done():
        task.result()
    port = next(s.getsockname()[1] for srv in server.servers for s in srv.sockets)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
