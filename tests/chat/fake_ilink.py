"""A fake iLink bot API (shared/reference/wechat-gateways.md), over real HTTP on 127.0.0.1.

* `getupdates` holds the request until a message arrives or `hold_seconds` pass, and answers the
  messages after the cursor the bot sent (`get_updates_buf`), with the new cursor: a bot that does not
  keep its cursor gets the same messages again.
* `sendmessage` needs the `context_token` of the member's latest message and allows `budget` messages per
  context, then answers `{"ret": -2}`.
* `say_raw(fields)` queues a malformed batch (what a real server sent once: `"msgs": 5`): the poll that
  reaches it answers only `fields`, with the cursor moved past it, as the server would; `say(...,
  fields=)` bends one message (`"item_list": 7`).
* `expire_session()` makes the next authenticated call answer `errcode -14`; the bot must log in again
  through `get_bot_qrcode` / `get_qrcode_status`, which confirms once `confirm_login()` was called.

What it cannot check: Tencent's real token format and lifetimes, the exact budget and window, media
items, and the long poll's behaviour under network trouble beyond a hang.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.chat.fake_http import wait_until


@dataclass
class Sent:
    to: str
    text: str
    context_token: str
    body: dict[str, Any]


class FakeIlink:
    def __init__(self, *, budget: int = 10, hold_seconds: float = 1.0) -> None:
        self.tokens: set[str] = set()
        """Bot tokens that are valid now."""
        self.budget = budget
        self.hold_seconds = hold_seconds
        self.hang = False
        """getupdates never answers (the bot must give up on its own timeout)."""
        self.messages: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.refused: list[str] = []
        self.polls: list[str] = []
        """The cursor of every getupdates call."""
        self.bad_headers: list[str] = []
        self._contexts: dict[str, tuple[str, int]] = {}
        """user → (latest context token, messages sent with it)."""
        self._expire_next = False
        self._confirmed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._ids = itertools.count(1)
        self._qr = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/ilink/bot/getupdates", self._getupdates, methods=["POST"]),
                Route("/ilink/bot/sendmessage", self._sendmessage, methods=["POST"]),
                Route("/ilink/bot/get_bot_qrcode", self._qrcode, methods=["GET"]),
                Route("/ilink/bot/get_qrcode_status", self._qrcode_status, methods=["GET"]),
            ]
        )

    # -- controls ------------------------------------------------------------------------------------

    def say(self, user: str, text: str, *, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """`user` writes to the bot; returns the message as the bot will get it (`fields` overridden)."""
        seq = next(self._ids)
        token = f"ctx-{user}-{seq}"
        self._contexts[user] = (token, 0)
        message = {
            "message_id": 90000 + seq,
            "from_user_id": user,
            "to_user_id": "bot@im.bot",
            "create_time_ms": int(time.time() * 1000),
            "message_type": 1,
            "message_state": 2,
            "item_list": [{"type": 1, "text_item": {"text": text}}],
            "context_token": token,
            "_seq": seq,
            **(fields or {}),
        }
        self.messages.append(message)
        self._arrived.set()
        return message

    def say_raw(self, fields: dict[str, Any]) -> None:
        """The next poll that reaches this point answers `fields` (plus the moved cursor) alone."""
        self.messages.append({"_seq": next(self._ids), "_raw": fields})
        self._arrived.set()

    def expire_session(self) -> None:
        self._expire_next = True

    def confirm_login(self) -> None:
        self._confirmed.set()

    async def wait_sent(self, count: int, within: float = 15.0) -> list[Sent]:
        await wait_until(lambda: len(self.sent) >= count, within)
        return self.sent

    # -- the API -------------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        headers = request.headers
        uin = headers.get("X-WECHAT-UIN", "")
        try:
            int(base64.b64decode(uin).decode())
        except ValueError:
            self.bad_headers.append(f"X-WECHAT-UIN {uin!r}")
        if headers.get("AuthorizationType") != "ilink_bot_token":
            self.bad_headers.append("AuthorizationType")
        auth = headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.tokens

    def _expired(self) -> Response | None:
        if self._expire_next:
            self._expire_next = False
            self.tokens.clear()
            return JSONResponse({"ret": -14, "errcode": -14, "errmsg": "session timeout"})
        return None

    async def _getupdates(self, request: Request) -> Response:
        body = await request.json()
        if not self._authorised(request):
            return JSONResponse({"ret": -14, "errcode": -14, "errmsg": "session timeout"})
        expired = self._expired()
        if expired is not None:
            return expired
        cursor = str(body.get("get_updates_buf") or "")
        self.polls.append(cursor)
        after = int(cursor.removeprefix("seq-") or 0)
        if self.hang:
            await asyncio.sleep(3600)
        deadline = time.monotonic() + self.hold_seconds
        while not [m for m in self.messages if m["_seq"] > after] and time.monotonic() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
        fresh = [m for m in self.messages if m["_seq"] > after]
        if fresh and "_raw" in fresh[0]:
            return JSONResponse({"ret": 0, **fresh[0]["_raw"], "get_updates_buf": f"seq-{fresh[0]['_seq']}"})
        raw = next((i for i, m in enumerate(fresh) if "_raw" in m), len(fresh))
        fresh = fresh[:raw]  # a malformed batch comes alone, in the poll after these
        new_cursor = f"seq-{fresh[-1]['_seq']}" if fresh else cursor
        msgs = [{k: v for k, v in m.items() if k != "_seq"} for m in fresh]
        return JSONResponse(
            {"ret": 0, "msgs": msgs, "get_updates_buf": new_cursor, "longpolling_timeout_ms": 35000}
        )

    async def _sendmessage(self, request: Request) -> Response:
        body = await request.json()
        if not self._authorised(request):
            return JSONResponse({"ret": -14, "errcode": -14, "errmsg": "session timeout"})
        expired = self._expired()
        if expired is not None:
            return expired
        msg = body.get("msg") or {}
        user, token = str(msg.get("to_user_id")), str(msg.get("context_token"))
        latest, used = self._contexts.get(user, ("", 0))
        if token != latest or used >= self.budget or msg.get("message_type") != 2:
            self.refused.append(user)
            return JSONResponse({"ret": -2})
        self._contexts[user] = (latest, used + 1)
        text = "".join(i.get("text_item", {}).get("text", "") for i in msg.get("item_list") or [])
        self.sent.append(Sent(user, text, token, msg))
        return JSONResponse({})

    async def _qrcode(self, request: Request) -> Response:
        if request.query_params.get("bot_type") != "3":
            return JSONResponse({"ret": -1, "errmsg": "bad bot_type"})
        n = next(self._qr)
        return JSONResponse(
            {"qrcode": f"qr-{n}", "qrcode_img_content": f"https://liteapp.weixin.qq.com/q/fake{n}"}
        )

    async def _qrcode_status(self, request: Request) -> Response:
        try:
            await asyncio.wait_for(self._confirmed.wait(), self.hold_seconds)
        except TimeoutError:
            return JSONResponse({"status": "wait"})
        self._confirmed.clear()
        token = f"bot-token-{next(self._qr)}"
        self.tokens.add(token)
        return JSONResponse(
            {"status": "confirmed", "bot_token": token, "ilink_bot_id": "bot@im.bot", "ilink_user_id": "op"}
        )
