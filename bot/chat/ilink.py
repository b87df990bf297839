"""Private chats through Tencent's official iLink bot API (HTTPS + long polling).

iLink is the one official way to put a bot on a personal WeChat account, and it serves one-to-one
chats only: members add the bot and paste links to it (the classic 私聊转链 flow). Its rules shape this
channel:

* **Login** by QR code (`get_bot_qrcode`, `get_qrcode_status`), drawn in the terminal; the bot token it
  yields is kept in the store, so a restart does not ask again. A configured token wins.
* **Receiving** is a `getupdates` long poll with a cursor (`get_updates_buf`). The cursor is stored only
  after every message of a batch has been handled, so a restart neither loses nor repeats messages
  (a stop mid-batch lets the batch finish first).
* **Sending** needs the `context_token` of the member's latest message: the bot can only answer someone
  who wrote, within about a day, and only about ten messages per window (`ret -2` beyond). So every
  reply goes out as ONE message, a member's budget is counted here, and after `ret -2` nothing more is
  sent to that member until they write again (said in the log). Pushes are never sent on iLink.
  The tokens and what was sent on them are kept in the store (`bot.store.ilink_contexts`, before the
  cursor moves past their messages), so a restart still answers who wrote before it; never logged.
* `errcode -14` means the session timed out: the stored token is dropped and the operator is shown the
  login QR code again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

import httpx
from sqlalchemy import Engine

from bot import redact
from bot.chat.base import (
    ChatUnavailable,
    Image,
    Incoming,
    LinkCard,
    LoginHealth,
    MessageHandler,
    MiniProgramCard,
    Outgoing,
    Text,
)
from bot.chat.qr import show_login_qr
from bot.store import chat_state, ilink_contexts

if TYPE_CHECKING:
    from bot.chat.ilink_settings import IlinkSettings
    from bot.chat.plugin import ChannelContext

log = logging.getLogger(__name__)

APP_ID = "bot"
CLIENT_VERSION = "131584"
"""What the official clients send as `iLink-App-Id` / `iLink-App-ClientVersion`."""
CHANNEL_VERSION = "tuike-1"
SESSION_EXPIRED = -14
SEND_REFUSED = -2
CONTEXT_LIFETIME = 24 * 3600.0
"""Seconds a member's context token is good for sending (iLink's window is about a day)."""
DEFAULT_POLL_SECONDS = 35.0
RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
_SEEN_CAPACITY = 10_000
_CONTEXTS_CAPACITY = 100_000
_USER_MESSAGE, _TEXT_ITEM = 1, 1

TOKEN_KEY, BASE_URL_KEY, CURSOR_KEY = "bot_token", "base_url", "updates_buf"


class IlinkError(ChatUnavailable):
    """iLink refused a call or could not be reached; `code` is its ret/errcode when it answered."""

    def __init__(self, path: str, message: str, *, code: int | None = None) -> None:
        super().__init__(f"iLink {path}: {message}")
        self.path = path
        self.code = code

    @property
    def session_expired(self) -> bool:
        return self.code == SESSION_EXPIRED


def _uin() -> str:
    return base64.b64encode(str(secrets.randbelow(2**32)).encode()).decode()


class IlinkClient:
    """The iLink bot API: JSON over HTTPS with the bot token in `Authorization`."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._transport = transport
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    def reopen(self) -> None:
        """A closed client made usable again (the channel runs again after a stop)."""
        if self._http.is_closed:
            self._http = httpx.AsyncClient(timeout=self.timeout, transport=self._transport, trust_env=False)

    def _headers(self, *, authed: bool = True) -> dict[str, str]:
        headers = {"iLink-App-Id": APP_ID, "iLink-App-ClientVersion": CLIENT_VERSION}
        if authed:
            headers |= {
                "AuthorizationType": "ilink_bot_token",
                "Authorization": f"Bearer {self.token}",
                "X-WECHAT-UIN": _uin(),
            }
        return headers

    async def _request(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, hold: float | None = None
    ) -> dict[str, Any]:
        """One call; `hold` is the read timeout for a call the server holds open (a long poll)."""
        timeout = httpx.Timeout(self.timeout, read=hold) if hold else None
        url = f"{self.base_url}/{path}"
        try:
            if method == "GET":
                response = await self._http.get(
                    url, headers=self._headers(authed=False), timeout=timeout or httpx.USE_CLIENT_DEFAULT
                )
            else:
                response = await self._http.post(
                    url, json=body or {}, headers=self._headers(), timeout=timeout or httpx.USE_CLIENT_DEFAULT
                )
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            raise IlinkError(path, f"unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise IlinkError(path, f"HTTP {response.status_code}", code=None)
        if not response.content.strip():
            return {}
        try:
            answer = response.json()
        except ValueError:
            raise IlinkError(path, "answer is not JSON") from None
        if not isinstance(answer, dict):
            raise IlinkError(path, "answer is not a JSON object")
        code = answer.get("errcode") or answer.get("ret") or 0
        if isinstance(code, int) and code != 0:
            message = str(answer.get("errmsg") or answer.get("msg") or "refused")[:200]
            raise IlinkError(path, f"{message} ({code})", code=code)
        return answer

    async def get_updates(self, cursor: str, hold: float) -> dict[str, Any]:
        body = {"get_updates_buf": cursor, "base_info": {"channel_version": CHANNEL_VERSION}}
        return await self._request("POST", "ilink/bot/getupdates", body=body, hold=hold)

    async def send_text(self, to_user: str, text: str, context_token: str) -> None:
        msg = {
            "from_user_id": "",
            "to_user_id": to_user,
            "client_id": str(uuid.uuid4()),
            "message_type": 2,
            "message_state": 2,
            "item_list": [{"type": _TEXT_ITEM, "text_item": {"text": text}}],
            "context_token": context_token,
        }
        await self._request("POST", "ilink/bot/sendmessage", body={"msg": msg})

    async def login_qrcode(self) -> dict[str, Any]:
        return await self._request("GET", "ilink/bot/get_bot_qrcode?bot_type=3")

    async def login_status(self, qrcode: str, hold: float) -> dict[str, Any]:
        query = httpx.QueryParams({"qrcode": qrcode})
        return await self._request("GET", f"ilink/bot/get_qrcode_status?{query}", hold=hold)


@dataclass
class _Context:
    token: str
    at: float
    sent: int = 0
    refused: bool = False


def message_text(message: dict[str, Any]) -> str:
    """The text of an iLink message (its text items joined); '' when it carries none — also when its
    `item_list` is not a list (a server once sent `"item_list": 7`)."""
    items = message.get("item_list")
    if not isinstance(items, list):
        return ""
    parts = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == _TEXT_ITEM:
            text_item = item.get("text_item") or {}
            if isinstance(text_item, dict) and text_item.get("text"):
                parts.append(str(text_item["text"]))
    return "\n".join(parts)


def reply_text(message: Outgoing) -> str:
    """A whole reply as one text message: iLink counts messages, and sends text only."""
    chunks: list[str] = []
    for part in message.reply.parts:
        if isinstance(part, Text):
            chunks.append(part.text)
        elif isinstance(part, Image):
            chunks.append("\n".join(x for x in (part.caption, part.url) if x))
        elif isinstance(part, LinkCard):
            chunks.append("\n".join(x for x in (part.title, part.description, part.url) if x))
        elif isinstance(part, MiniProgramCard):
            chunks.append(part.title)
    return "\n\n".join(c for c in chunks if c)


class IlinkChannel:
    """One iLink bot: members' private chats."""

    name = "ilink"

    def __init__(
        self,
        *,
        base_url: str,
        token: str = "",
        account: str = "default",
        engine: Engine | None = None,
        sends_per_user: int = 10,
        timeout: float = 10.0,
        reconnect_delays: Iterable[float] = RECONNECT_DELAYS,
        terminal: TextIO | None = None,
        clock: Any = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account = f"ilink:{account}"
        self.configured_token = token
        self.engine = engine
        self.sends_per_user = sends_per_user
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self.terminal = terminal
        self.clock = clock
        self.wall_clock = wall_clock
        """UTC now: when a member's token came, as the store keeps it (`clock` is monotonic)."""
        self.client = IlinkClient(base_url, token, timeout=timeout, transport=transport)
        self.poll_seconds = DEFAULT_POLL_SECONDS
        """How long the server holds a long poll (it says so in `longpolling_timeout_ms`)."""
        self.poll_margin = 10.0
        """Seconds past that before the bot gives up on a poll that hangs."""
        self.bot_id = ""
        self.duplicates_dropped = 0
        self._cursor = ""
        self._contexts: OrderedDict[str, _Context] = OrderedDict()
        """user → the latest context token; oldest first, so expired ones are dropped from the front."""
        self._fresh: dict[str, ilink_contexts.Context] = {}
        """Tokens of the batch being read, to be stored before its messages are handled."""
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()

    @property
    def logged_in(self) -> bool:
        """A bot token is in hand and the long poll is running."""
        return self._ready.is_set()

    # -- state kept in the store -----------------------------------------------------------------------

    async def _get(self, key: str) -> str:
        if self.engine is None:
            return ""
        return await asyncio.to_thread(chat_state.get, self.engine, self.account, key) or ""

    async def _put(self, key: str, value: str) -> None:
        if self.engine is not None:
            await asyncio.to_thread(chat_state.put, self.engine, self.account, key, value)

    async def _forget(self, key: str) -> None:
        if self.engine is not None:
            await asyncio.to_thread(chat_state.forget, self.engine, self.account, key)

    # -- life cycle ------------------------------------------------------------------------------------

    async def _restore_contexts(self) -> None:
        """The members' tokens kept from before this start (those still in their window)."""
        if self.engine is None:
            return
        now = self.wall_clock()
        since = now - timedelta(seconds=CONTEXT_LIFETIME)
        await asyncio.to_thread(ilink_contexts.prune, self.engine, self.account, since)
        kept = await asyncio.to_thread(ilink_contexts.load, self.engine, self.account, since)
        for context in kept:
            if context.user_id in self._contexts:
                continue  # one this run already had is as new
            age = max(0.0, (now - context.received_at).total_seconds())
            restored = _Context(context.token, self.clock() - age, context.sent, context.refused)
            self._contexts[context.user_id] = restored
        if kept:
            log.info("iLink: %d member(s) who wrote within the last day can still be answered", len(kept))

    async def _keep_contexts(self) -> None:
        """Store the tokens the batch brought, before its messages are handled (and the cursor moves past
        them). A store that cannot take them costs only answers after a restart, never this batch's."""
        fresh, self._fresh = list(self._fresh.values()), {}
        if not fresh or self.engine is None:
            return
        try:
            await asyncio.to_thread(ilink_contexts.keep, self.engine, self.account, fresh)
        except Exception as exc:
            log.warning("iLink: %d member token(s) not stored: %s", len(fresh), type(exc).__name__)

    async def _note_sent(self, user: str, context: _Context) -> None:
        if self.engine is None:
            return
        try:
            await asyncio.to_thread(
                ilink_contexts.note_sent,
                self.engine,
                self.account,
                user,
                context.token,
                sent=context.sent,
                refused=context.refused,
            )
        except Exception as exc:
            log.warning("iLink: what was sent to %s not stored: %s", user, type(exc).__name__)

    async def run(self, handler: MessageHandler) -> None:
        """Poll until `stop`; after that `run` may start again (a cluster replica that lost the bot
        and later takes it back resumes from the stored cursor)."""
        self.client.reopen()
        try:
            self._cursor = await self._get(CURSOR_KEY)
            await self._restore_contexts()
            if not self.configured_token:
                self.client.token = await self._get(TOKEN_KEY)
                self.client.base_url = await self._get(BASE_URL_KEY) or self.client.base_url
                redact.register(self.client.token)  # a stored token is as secret as a configured one
            failures = 0
            while not self._stopping.is_set():
                if not self.client.token:
                    await self._login()
                    continue
                self._ready.set()
                try:
                    batch = await self._poll()
                except IlinkError as exc:
                    self._ready.clear()
                    if exc.session_expired:
                        await self._session_expired()
                        continue
                    delay = self.reconnect_delays[min(failures, len(self.reconnect_delays) - 1)]
                    failures += 1
                    log.warning("iLink long poll failed: %s; trying again in %.0f s", exc, delay)
                    await self._pause(delay)
                    continue
                failures = 0
                if batch is not None:
                    await self._handle_batch(batch, handler)
        finally:
            self._ready.clear()
            await self.client.aclose()
            self._stopping.clear()  # stopped: a later `run` serves the bot again

    async def stop(self) -> None:
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _until_stopped(self, work: asyncio.Task[Any]) -> Any:
        """`work`'s result, or None when the channel is stopped first (the work is then cancelled)."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
            return None
        return work.result()

    async def _poll(self) -> dict[str, Any] | None:
        """One long poll; None when it timed out or the channel stopped (the cursor stays where it was)."""
        task = asyncio.ensure_future(
            self.client.get_updates(self._cursor, hold=self.poll_seconds + self.poll_margin)
        )
        try:
            answer: dict[str, Any] | None = await self._until_stopped(task)
        except httpx.TimeoutException:
            log.info(
                "iLink long poll ran past %.0f s without an answer; polling again",
                self.poll_seconds + self.poll_margin,
            )
            return None
        if answer is None:
            return None
        hold = answer.get("longpolling_timeout_ms")
        if isinstance(hold, int) and 1000 <= hold <= 120_000:
            self.poll_seconds = hold / 1000
        return answer

    def _batch(self, answer: dict[str, Any]) -> list[Incoming]:
        """The members' messages of a poll answer. Never raises: a malformed batch (`"msgs": 5`) or
        message is logged and skipped, so the cursor still moves past it and the channel goes on — a
        batch that raised would stop the bot, and come again after every restart."""
        messages = answer.get("msgs")
        if messages is None:
            return []
        if not isinstance(messages, list):
            log.warning(
                "iLink poll answer malformed (msgs is %s, not a list): batch skipped", type(messages).__name__
            )
            return []
        incoming: list[Incoming] = []
        for message in messages:
            if not isinstance(message, dict):
                log.warning("iLink message malformed (%s, not an object): skipped", type(message).__name__)
                continue
            try:
                found = self._incoming(message)
            except Exception as exc:  # a shape nobody foresaw: this message only, never the batch
                log.warning("iLink message malformed (%s: %s): skipped", type(exc).__name__, exc)
                continue
            if found is not None:
                incoming.append(found)
        return incoming

    async def _handle_batch(self, answer: dict[str, Any], handler: MessageHandler) -> None:
        incoming = self._batch(answer)
        await self._keep_contexts()
        results = await asyncio.gather(*(handler(m) for m in incoming), return_exceptions=True)
        failed = 0
        for message, result in zip(incoming, results, strict=True):
            if isinstance(result, BaseException):
                failed += 1
                log.error("message %s not handled: %s: %s", message.message_id, type(result).__name__, result)
        if failed and self._stopping.is_set():
            # the bot stopped under these messages (its sender closed): keep the cursor, so the next
            # start gets the batch again rather than losing what members wrote
            log.warning("stopping: %d message(s) of this batch come again after the next start", failed)
            return
        cursor = answer.get("get_updates_buf")
        if not isinstance(cursor, str):
            if cursor is not None:
                log.warning("iLink poll answer malformed (cursor is %s): cursor kept", type(cursor).__name__)
            return
        if cursor and cursor != self._cursor:
            self._cursor = cursor
            await self._put(CURSOR_KEY, cursor)  # only now: every message of the batch was handled

    def _incoming(self, message: dict[str, Any]) -> Incoming | None:
        if message.get("message_type") != _USER_MESSAGE:
            return None  # the bot's own messages come back too
        user = str(message.get("from_user_id") or "")
        message_id = str(message.get("message_id") or "")
        if not user or not message_id:
            return None
        if message_id in self._seen:
            self.duplicates_dropped += 1
            return None
        self._seen[message_id] = None
        if len(self._seen) > _SEEN_CAPACITY:
            self._seen.popitem(last=False)
        token = str(message.get("context_token") or "")
        if token:
            self._contexts[user] = _Context(token, self.clock())  # a new window: the budget starts over
            self._contexts.move_to_end(user)
            self._forget_old_contexts()
            self._fresh[user] = ilink_contexts.Context(user, token, self.wall_clock())
        text = message_text(message)
        if not text.strip():
            items = message.get("item_list")
            if isinstance(items, list):
                log.debug("iLink message %s has no text (items %s): ignored", message_id, items)
            else:
                log.warning(
                    "iLink message %s malformed (item_list is %s, not a list): skipped",
                    message_id,
                    type(items).__name__,
                )
            return None
        return Incoming(
            message_id=message_id,
            chat_id=user,
            chat_name=user,
            sender_id=user,
            sender_name=user,
            text=text.strip(),
            is_group=False,
            mentioned=True,
            account=self.account,
        )

    # -- login -----------------------------------------------------------------------------------------

    async def _session_expired(self) -> None:
        log.error(
            "iLink session expired (errcode -14): the bot must be logged in again; scan the new QR code"
        )
        self.client.token = ""
        if self.configured_token:
            log.error("the configured [chat.ilink] token no longer works: remove it to log in by QR code")
            self.configured_token = ""
        await self._forget(TOKEN_KEY)

    async def _login(self) -> None:
        """Show the login QR code and wait for the operator to confirm it on the phone."""
        try:
            code = await self.client.login_qrcode()
        except (IlinkError, httpx.TimeoutException) as exc:
            log.warning("iLink login QR code unavailable: %s; trying again", exc)
            await self._pause(self.reconnect_delays[-1] if self.reconnect_delays else 5)
            return
        qrcode = str(code.get("qrcode") or "")
        show_login_qr(
            str(code.get("qrcode_img_content") or qrcode),
            "请用微信扫码，登录 iLink 机器人 (scan with WeChat to log the iLink bot in):",
            self.terminal,
        )
        log.warning("iLink bot is not logged in: scan the QR code shown in the terminal")
        while not self._stopping.is_set():
            task = asyncio.ensure_future(
                self.client.login_status(qrcode, hold=DEFAULT_POLL_SECONDS + self.poll_margin)
            )
            try:
                status = await self._until_stopped(task)
            except httpx.TimeoutException:
                continue
            except IlinkError as exc:
                log.warning("iLink login status unavailable: %s", exc)
                await self._pause(self.reconnect_delays[0])
                continue
            if status is None:
                return
            state = status.get("status")
            if state == "confirmed" and status.get("bot_token"):
                self.client.token = str(status["bot_token"])
                redact.register(self.client.token)
                self.bot_id = str(status.get("ilink_bot_id") or "")
                if status.get("baseurl"):
                    self.client.base_url = str(status["baseurl"]).rstrip("/")
                    await self._put(BASE_URL_KEY, self.client.base_url)
                await self._put(TOKEN_KEY, self.client.token)
                log.info("iLink bot %s logged in; token kept for the next start", self.bot_id or "")
                return
            if state == "expired":
                log.info("iLink login QR code expired; showing a new one")
                return
            if state == "scaned":
                log.info("QR code scanned: confirm the login on the phone")
            elif state == "need_verifycode":
                log.warning("WeChat asks for a verification code: finish the login on the phone")
            elif state not in ("wait", "scaned_but_redirect"):
                log.warning("iLink login status %r not understood; waiting", state)

    def _forget_old_contexts(self) -> None:
        """Contexts past their lifetime cannot be answered: drop them (and never keep more than a cap)."""
        now = self.clock()
        while self._contexts:
            oldest = next(iter(self._contexts.values()))
            if now - oldest.at <= CONTEXT_LIFETIME and len(self._contexts) <= _CONTEXTS_CAPACITY:
                break
            self._contexts.popitem(last=False)

    # -- sending ---------------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> None:
        user = message.chat_id
        context = self._contexts.get(user)
        if context is None or self.clock() - context.at > CONTEXT_LIFETIME:
            raise ChatUnavailable(
                f"iLink can only answer someone who wrote in the last day; {user} has not: not sent"
            )
        if context.refused:
            raise ChatUnavailable(f"iLink refused sending to {user} until they write again: not sent")
        if context.sent >= self.sends_per_user:
            raise ChatUnavailable(
                f"send budget for {user} used up ({context.sent} messages since they last wrote): not sent"
            )
        text = reply_text(message)
        if not text:
            return
        try:
            await self.client.send_text(user, text, context.token)
        except IlinkError as exc:
            if exc.code == SEND_REFUSED:
                context.refused = True
                log.warning(
                    "iLink refused sending to %s (ret -2: context expired or send budget used up): "
                    "nothing more goes to them until they write again",
                    user,
                )
                await self._note_sent(user, context)
            raise
        context.sent += 1
        await self._note_sent(user, context)


def build(settings: IlinkSettings, context: ChannelContext) -> IlinkChannel:
    """The channel from its `[chat.ilink]` table (the registry's factory)."""
    return IlinkChannel(
        base_url=settings.base_url,
        token=settings.token.get_secret_value(),
        account=settings.account,
        engine=context.engine,
        sends_per_user=settings.sends_per_user,
        timeout=settings.timeout_seconds,
    )


def login_health(settings: IlinkSettings, engine: Engine) -> LoginHealth:
    """Logged out when no token is configured and none is kept from a QR login: it answers no one."""
    who = "iLink 机器人"
    if settings.token.get_secret_value():
        return LoginHealth(True, who)
    return LoginHealth(bool(chat_state.get(engine, f"ilink:{settings.account}", TOKEN_KEY)), who)


async def _reachable_without_token(base_url: str, call_seconds: float) -> tuple[bool, str]:
    """With no token there is nothing to try but the address: any HTTP answer means `tuike run` can get
    its login QR code there; no answer is said as such, not as fine."""
    try:
        async with httpx.AsyncClient(timeout=call_seconds, trust_env=False) as http:
            await http.get(base_url)
    except httpx.HTTPError as exc:
        return (
            False,
            f"iLink: no bot token yet, and {base_url} unreachable ({type(exc).__name__}): check base_url",
        )
    return (
        True,
        f"iLink: no bot token yet ({base_url} answers): `tuike run` shows the login QR code and keeps the token",
    )


async def probe(il: IlinkSettings, engine: Engine | None, call_seconds: float) -> list[tuple[bool, str]]:
    """`tuike check`: does iLink take the bot token (configured, or kept from a QR login)?"""
    account = f"ilink:{il.account}"
    token = il.token.get_secret_value()
    base_url = il.base_url
    cursor = ""
    if engine is not None:

        def kept(key: str) -> str:
            return chat_state.get(engine, account, key) or ""

        token = token or await asyncio.to_thread(kept, TOKEN_KEY)
        cursor = await asyncio.to_thread(kept, CURSOR_KEY)
        base_url = await asyncio.to_thread(kept, "base_url") or base_url
    if not token:
        return [await _reachable_without_token(base_url, call_seconds)]
    client = IlinkClient(base_url, token, timeout=call_seconds)
    try:
        # the server holds a long poll with a good token and answers -14 at once with a bad one; the
        # stored cursor is sent and not advanced, so the bot misses nothing
        await client.get_updates(cursor, hold=3.0)
    except httpx.TimeoutException:
        return [(True, f"iLink: {base_url} accepted the bot token (long poll held)")]
    except IlinkError as exc:
        if exc.session_expired:
            return [
                (
                    False,
                    "iLink: the bot token has expired (errcode -14): `tuike run` shows a new login QR code",
                )
            ]
        return [(False, f"iLink: {exc}")]
    finally:
        await client.aclose()
    return [(True, f"iLink: {base_url} accepted the bot token")]
