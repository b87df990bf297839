"""The gateway's webhook: a small ASGI app that checks a call, parses it and hands it on, and the test
that drops a busy group's chatter before it is queued.

Plain ASGI rather than a framework: every line said in every group the account is in comes through
here, so the call costs what the server stack costs and little more (bench/gateway.py holds it beside
a bare echo). The call is answered at once; the message is handled from the backlog
(`bot.chat.gateway_inbox`), so a slow league never makes the gateway time out and resend.

What it answers: 403 without our secret (`secret` query parameter), 413 for a body over the limit, 408
for a body that does not arrive within `body_seconds` (a slow sender holds a connection, not the bot),
400 for a body that is not a JSON object, 503 when the backlog is full (the gateway may resend), 200
otherwise — also for what it drops as chatter (the gateway must not resend that).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from bot.chat.asgi import LogEvery

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Take = Callable[[Payload, int], bool]
"""Hands a parsed call on; False when it could not be kept (the backlog is full: answer 503)."""

BODY_SECONDS = 10.0
SERVICE_ACCOUNTS = frozenset({"weixin", "fmessage", "filehelper", "newsapp", "medianote", "floatbottle"})
_JOINS = (10000, 10002)
_TEXT, _CARD = 1, 49


def _text_of(node: Any) -> str:
    """`{"string": "…"}` (the gateway's wrapping of protobuf strings) or a plain string."""
    if isinstance(node, dict):
        return str(node.get("string") or "")
    return str(node or "")


def conversation(
    payload: Payload,
    *,
    self_id: str,
    card_text: Callable[[str], str],
    mentions_bot: Callable[[str], bool],
    may_be_request: Callable[[str], bool] | None,
) -> tuple[str, str] | None:
    """(chat, sender) of a call worth handling, or None for one that can never be answered.

    Conservative: None only where the channel's own handling would drop it anyway — not a message, no
    id, the account's own, an official account, a type the bot does not read, empty text — or, given
    the router's test `may_be_request`, a group line that does not @mention the bot (no wxid in the
    at-list, no "@" in the text) and that the test says gets no answer. A join (the welcome) is kept.
    """
    data = payload.get("Data")
    if payload.get("TypeName") != "AddMsg" or not isinstance(data, dict):
        return None
    if not (data.get("NewMsgId") or data.get("MsgId")):
        return None
    self_id = str(payload.get("Wxid") or self_id)
    chat = _text_of(data.get("FromUserName"))
    if (self_id and chat == self_id) or chat.startswith("gh_") or chat in SERVICE_ACCOUNTS:
        return None
    try:
        kind = int(data.get("MsgType") or 0)
    except (TypeError, ValueError):
        return None
    content = _text_of(data.get("Content"))
    is_group = chat.endswith("@chatroom")
    if kind in _JOINS:
        return (chat, "") if is_group else None
    if kind not in (_TEXT, _CARD):
        return None
    sender = chat
    if is_group:
        prefix, sep, rest = content.partition(":\n")
        if not sep or " " in prefix or "<" in prefix or (self_id and prefix == self_id):
            return None
        sender, content = prefix, rest
    text = content if kind == _TEXT else card_text(content)
    if not text.strip():
        return None
    unmentioned = is_group and "@" not in text and not mentions_bot(str(data.get("MsgSource") or ""))
    if unmentioned and may_be_request is not None and not may_be_request(text.strip()):
        return None
    return chat, sender


class Webhook:
    """The ASGI app: `secret()` is the secret the callback URL carries (empty: every call refused)."""

    def __init__(
        self,
        *,
        secret: Callable[[], str],
        take: Take,
        max_body_bytes: int,
        body_seconds: float = BODY_SECONDS,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self.secret = secret
        self.take = take
        self.max_body_bytes = max_body_bytes
        self.body_seconds = body_seconds
        self.on_refused = on_refused
        self._refusals = LogEvery()
        self._too_large = LogEvery()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status, body, kind = await self._answer(scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict[str, Any], receive: Any) -> tuple[int, bytes, bytes]:
        query = scope.get("query_string", b"").decode("latin-1")
        given = next((v for k, v in parse_qsl(query, keep_blank_values=True) if k == "secret"), "")
        secret = self.secret()
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            self.on_refused()
            if count := self._refusals.due():
                log.warning(
                    "%d webhook call(s) without the right secret refused (the last from %s)",
                    count,
                    (scope.get("client") or ("?",))[0],
                )
            return 403, b"forbidden", b"text/plain; charset=utf-8"
        method = scope.get("method", "")
        if method == "GET":
            return 200, b"tuike gateway webhook", b"text/plain; charset=utf-8"
        if method != "POST":
            return 405, b"method not allowed", b"text/plain; charset=utf-8"
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._refuse_large(declared.decode())
        try:
            async with asyncio.timeout(self.body_seconds):
                raw = await self._body(receive)
        except TimeoutError:
            log.warning("webhook body not sent within %.0f s: refused", self.body_seconds)
            return 408, b"too slow", b"text/plain; charset=utf-8"
        if raw is None:
            return self._refuse_large("more than the limit of")
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            log.warning("webhook body is not JSON (%d bytes): ignored", len(raw))
            return 400, b'{"ret":400,"msg":"not JSON"}', b"application/json"
        if not isinstance(payload, dict):
            log.warning("webhook body is not a JSON object: ignored")
            return 400, b'{"ret":400,"msg":"not an object"}', b"application/json"
        if not self.take(payload, len(raw)):
            return 503, b'{"ret":503,"msg":"busy"}', b"application/json"
        return 200, b'{"ret":200,"msg":"ok"}', b"application/json"

    async def _body(self, receive: Any) -> bytes | None:
        """The whole body, or None once it is over the limit."""
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the caller went away
                return body
            body += bytes(message.get("body", b""))
            if len(body) > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return body

    def _refuse_large(self, size: str) -> tuple[int, bytes, bytes]:
        if count := self._too_large.due():
            log.warning(
                "webhook body of %s bytes refused (limit %d; %d such call(s) since the last report)",
                size,
                self.max_body_bytes,
                count,
            )
        return 413, b"too large", b"text/plain; charset=utf-8"
