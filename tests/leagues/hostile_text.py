"""The sandbox league with half an emoji and a NUL in every text it answers, as real feeds send them.

Each JSON answer of the sandbox (every league's face) is rewritten on its way out: a string holding
any non-ASCII character (titles, shop names, copy — never an id, a URL or a token) gets a lone high
surrogate after its first character and a NUL at its end, written as JSON escapes (`\\ud83d`,
`\\u0000`). A JSON object or list carried inside a string (JD's `…_result`) is rewritten inside too.
Removing exactly those two characters gives the sandbox's own answer back, so a bot that cleans what
it reads behaves as against the plain sandbox.
"""

from __future__ import annotations

import json
from typing import Any

from tuike_sandbox.http import Request, Response
from tuike_sandbox.server import SandboxServer

HALF_EMOJI = "\ud83d"
NUL = "\x00"


def spoil(value: Any) -> Any:
    """`value` with every non-ASCII string spoiled (see the module docstring)."""
    if isinstance(value, dict):
        return {key: spoil(item) for key, item in value.items()}
    if isinstance(value, list):
        return [spoil(item) for item in value]
    if isinstance(value, str):
        if value[:1] in ("{", "["):
            try:
                inner = json.loads(value)
            except ValueError:
                inner = None
            if isinstance(inner, dict | list):
                return json.dumps(spoil(inner))
        if not value.isascii():
            return value[:1] + HALF_EMOJI + value[1:] + NUL
    return value


def spoiling(sandbox: SandboxServer) -> SandboxServer:
    """`sandbox` (not yet started) answering every JSON body spoiled."""
    plain = sandbox.http.app

    async def app(request: Request) -> Response:
        response = await plain(request)
        if "json" not in response.content_type:
            return response
        try:
            data = json.loads(response.body)
        except ValueError:
            return response
        response.body = json.dumps(spoil(data)).encode()  # ensure_ascii: the escapes, as feeds send them
        return response

    sandbox.http.app = app
    return sandbox
