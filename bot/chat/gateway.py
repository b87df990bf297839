"""WeChat groups through an iPad-protocol HTTP gateway in the GeWe shape: a webhook in, REST out.

The operator brings a paid gateway (GeWe or one with the same API) that keeps a WeChat account logged in
and accepts the ban risk (docs/wechat.md). The gateway calls our webhook for everything the account
receives; we call its REST API to send.

* **In**: a small ASGI app (`bot.chat.gateway_webhook`) on its own server at `[chat.gateway] listen`,
  never the web console's, with its own cap on connections and a deadline for request headers
  (`bot.chat.asgi`), so neither server can starve the other. Every call must carry our secret (the
  `secret` query parameter of the callback URL we register with `/tools/setCallback`); bodies over
  `max_body_bytes` are refused; a group's chatter that can never get an answer is dropped there; the
  call is answered at once and the message handled from a backlog (`bot.chat.gateway_inbox`): many
  members at once, each member's messages in order, so a slow league never makes the gateway time out
  and resend.
* **Dedupe** on (`Appid`, `NewMsgId`): gateways resend when they think a call failed.
* **Who**: in a group the sender is the `wxid:` prefix of `Content`; the bot is @-mentioned when its wxid
  is in `MsgSource`'s `<atuserlist>`; a message whose `FromUserName` is the account itself is its own.
  Group names, owners and members' names come from `/group/getChatroomInfo`, cached.
* **Joins** arrive as system messages (`MsgType` 10000 / 10002) and become a `MemberJoined` for the
  welcome hook.
* **Out**: text with `ats` (the @ of the asker), image by URL, link card, mini-program card. A refusal
  (`ret` other than 200) raises `GatewayError` with the gateway's own words; a logged-out account is said
  so, and the channel shows the login QR code in the terminal again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import Engine

from bot import redact
from bot.chat.asgi import ListenError
from bot.chat.base import (
    ChatUnavailable,
    GroupInfo,
    Incoming,
    JoinHook,
    MemberJoined,
    MessageHandler,
    Outgoing,
    SendRefused,
    either,
)
from bot.chat.gateway_client import RETRY_DELAYS, GatewayClient, GatewayError
from bot.chat.gateway_inbox import Inbox, Payload
from bot.chat.gateway_login import GatewayLogin, kept_app_id
from bot.chat.gateway_messages import at_list, card_text, joined_members, text_of
from bot.chat.gateway_server import WebhookServer
from bot.chat.gateway_settings import CALLBACK_PATH, DEFAULT_ACCOUNT, fill_callback
from bot.chat.gateway_webhook import Webhook, conversation
from bot.chat.text import strip_mention
from bot.store import chat_state

if TYPE_CHECKING:
    from bot.chat.gateway_settings import GatewaySettings
    from bot.chat.plugin import ChannelContext

log = logging.getLogger(__name__)

RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pauses between attempts to reach a gateway that is down at start or went away."""
_SEEN_CAPACITY = 10_000
_PRUNE_EVERY = 1000
"""Store claims between two prunings of the handled messages the store remembers."""
_PRUNE_SECONDS = 3600.0
"""...and at most this long between two (a quiet account's old claims go too)."""
_ROOM_TTL = 600.0
_ROOMS_CAPACITY = 2_000
"""Rooms whose info (members and all) is kept; the least recently used is read again when needed."""
_LEADING_AT = re.compile(r"^@[^\s\u2005]{1,32}[\u2005 ]")
_SERVICE_ACCOUNTS = frozenset({"weixin", "fmessage", "filehelper", "newsapp", "medianote", "floatbottle"})


@dataclass
class _Room:
    name: str
    owner: str
    members: dict[str, str]
    at: float


def default_replica_id() -> str:
    """This process's name when none is configured: host name + "-" + process id (as `[cluster]
    replica_id` defaults to: letters, digits, . _ - only)."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "host"
    return f"{host}-{os.getpid()}"


def _with_secret(url: str, secret: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "secret"]
    query.append(("secret", secret))
    return urlunsplit(parts._replace(query=urlencode(query)))


class GatewayChannel(GatewayLogin):
    """One WeChat account on an iPad-protocol gateway: serves its groups (and private chats)."""

    name = "gateway"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        app_id: str,
        listen_host: str = "127.0.0.1",
        listen_port: int = 8701,
        callback_url: str = "",
        bot_name: str = "",
        engine: Engine | None = None,
        on_join: JoinHook | None = None,
        timeout: float = 10.0,
        max_body_bytes: int = 1_048_576,
        reconnect_delays: Iterable[float] = RECONNECT_DELAYS,
        retry_delays: Iterable[float] = RETRY_DELAYS,
        login_poll_seconds: float = 2.0,
        health_seconds: float = 300.0,
        terminal: TextIO | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        may_be_request: Callable[[str], bool] | None = None,
        max_connections: int | None = None,
        header_seconds: float | None = None,
        account_name: str = DEFAULT_ACCOUNT,
        replica_id: str | None = None,
        webhook_server: WebhookServer | None = None,
    ) -> None:
        """`may_be_request`: the router's test for a group line that does not @mention the bot (chatter
        it rejects is dropped before it is queued); `max_connections`, `header_seconds`: the webhook
        server's cap and header deadline (`bot.chat.asgi` defaults). An empty `app_id` is a first login:
        the login gets one from the gateway. `account_name`: the account's name in the config (its
        webhook route and `{account}`); `replica_id`: this replica's (`{replica}`; default host name +
        "-" + pid); `webhook_server`: the server shared with the process's other gateway accounts
        (default: one of its own on `listen_host:listen_port`)."""
        if not (base_url and token):
            raise ValueError("the gateway channel needs base_url and token")
        self.account = f"gateway:{app_id}"
        self.app_id = app_id
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.configured_callback = callback_url
        self.account_name = account_name
        self.replica_id = replica_id or default_replica_id()
        self.webhooks = webhook_server or WebhookServer(
            listen_host, listen_port, max_connections=max_connections, header_seconds=header_seconds
        )
        self._client_options: dict[str, Any] = {
            "timeout": timeout,
            "retry_delays": tuple(retry_delays),
            "transport": transport,
        }
        self.bot_names = {bot_name} if bot_name else set()
        self.engine = engine
        self.on_join = on_join
        self.max_body_bytes = max_body_bytes
        self.may_be_request = may_be_request
        self.max_connections = max_connections
        self.header_seconds = header_seconds
        self.reconnect_delays = tuple(reconnect_delays) or (1.0,)
        self.login_poll_seconds = login_poll_seconds
        self.health_seconds = health_seconds
        """How often `check_login` should run (the composition schedules it on the process's jobs)."""
        self._status_online: bool | None = None
        """The login state last stored (None: not yet this run)."""
        self.terminal = terminal
        self.client = GatewayClient(base_url, token, app_id, **self._client_options)

        self.self_id = ""
        self.duplicates_dropped = 0
        self.rejected_calls = 0
        self.registered_callback = ""
        self._secret = ""
        self._serving = False
        """Our route is on the webhook server (between `_start_server` and `_stop_server`)."""
        self.chatter_dropped = 0
        """Webhook calls dropped before queueing: nothing in them can get an answer."""
        self._handler: MessageHandler | None = None
        self.inbox = Inbox(self._handle)
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._stored_claims = 0
        self._pruned_at: float | None = None
        self._rooms: OrderedDict[str, _Room] = OrderedDict()
        self._ready = asyncio.Event()
        self._dropped = asyncio.Event()
        """Set by `check_login` when the account went offline: `run` logs in again."""
        self._stopping = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self.drain_seconds = 5.0
        """At a stop, how long the messages being handled may take to finish."""

    # -- state ---------------------------------------------------------------------------------------

    @property
    def logged_in(self) -> bool:
        """The account is online on the gateway and our callback is registered."""
        return self._ready.is_set()

    @property
    def callback_url(self) -> str:
        """Where the gateway should call this account on this replica (with our secret): `callback_url`
        with `{replica}` and `{account}` filled in, else our server's /gateway/callback (a named
        account's: /gateway/callback/<name>)."""
        path = (
            CALLBACK_PATH if self.account_name == DEFAULT_ACCOUNT else f"{CALLBACK_PATH}/{self.account_name}"
        )
        template = self.configured_callback or f"http://{self._url_host()}:{self.listen_port}{path}"
        base = fill_callback(template, replica=self.replica_id, account=self.account_name)
        return _with_secret(base, self._secret)

    def _url_host(self) -> str:
        host = self.listen_host
        return f"[{host}]" if ":" in host else host

    async def _load_secret(self) -> str:
        """The webhook secret, kept in the store: a restart while the gateway is down keeps the old one
        valid, since the gateway still calls the URL it was given last time."""
        if self.engine is None:
            return secrets.token_urlsafe(24)
        stored = await asyncio.to_thread(chat_state.get, self.engine, self.account, "webhook_secret")
        if stored:
            return stored
        fresh = secrets.token_urlsafe(24)
        # another replica of this account starting at the same moment keeps the same secret
        return await asyncio.to_thread(chat_state.put_new, self.engine, self.account, "webhook_secret", fresh)

    # -- life cycle ----------------------------------------------------------------------------------

    async def run(self, handler: MessageHandler) -> None:
        """Serve the account until `stop`; once that run has returned, `run` may start it again (a
        replica that lost the account and later takes it back), on the same webhook server as the
        process's other accounts, which go on meanwhile."""
        if self.client.closed:
            self.client = GatewayClient(self.base_url, self._token, self.app_id, **self._client_options)
        try:
            self._secret = self._secret or await self._load_secret()
            redact.register(self._secret)  # the webhook secret never shows in a log line
            await self._restore_pending()
            await self._start_server()
        except BaseException:
            await self.client.aclose()
            raise
        self._handler = handler
        self.inbox.start()
        try:
            attempt = 0
            while not self._stopping.is_set():
                try:
                    await self._connect()
                except GatewayError as exc:
                    self._ready.clear()
                    delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
                    attempt += 1
                    log.warning("gateway not ready: %s; trying again in %.0f s", exc, delay)
                    await self._pause(delay)
                    continue
                attempt = 0
                await self._watch()
        finally:
            self._ready.clear()
            await self._stop_server()  # no new webhook calls (the gateway resends what we refuse)
            await self._keep_pending(await self.inbox.drain(self.drain_seconds))
            await self.client.aclose()
            self._handler = None
            self._stopping.clear()  # stopped: a later `run` serves the account again
            self._dropped.clear()

    async def stop(self) -> None:
        """Stop serving this account (the process's other accounts go on): its webhook route answers 503
        at once, the messages in flight finish and the rest are kept for the next start."""
        self._stopping.set()
        self.inbox.halt()
        if self._serving:
            self.webhooks.withdraw(self.account_name)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _connect(self) -> None:
        """Online (after a QR login if need be) and our callback registered. Without an appId (a first
        login) there is nothing to ask about: the login gets one."""
        if not self.app_id or not await self.client.is_online():
            await self._login()
            if self._stopping.is_set():
                return
        await self.register_callback()
        self._ready.set()
        await self._record_status(True)

    async def register_callback(self) -> str:
        """Tell the gateway to call this replica for this account from now on (`callback_url`, with
        `{replica}` and `{account}` filled in and our secret); returns the URL without its secret.

        Done at every (re)connect; a replica that takes the account over from another calls it at once,
        so the gateway stops calling the old holder. The webhook must be served here already (the
        gateway tests the URL with a call): ChatUnavailable when it is not; GatewayError when the
        gateway refuses."""
        if not self._serving:
            raise ChatUnavailable(f"gateway account {self.account_name} is not served here: run it first")
        url = self.callback_url
        await self.client.set_callback(self._token, url)
        self.registered_callback = url
        shown = url.split("?", 1)[0]
        log.info("gateway account %s online; webhook %s registered", self.app_id, shown)
        return shown

    async def _watch(self) -> None:
        """Wait for stop, or until the login check finds the account offline (then log in again)."""
        await either(self._dropped, self._stopping)
        self._dropped.clear()

    async def check_login(self) -> None:
        """Whether the account is still online (the process's job `health:<account>`, every
        `health_seconds`): one that went offline is recorded for the console and logged in again."""
        if self._stopping.is_set() or not self._ready.is_set():
            return  # logging in, or stopping: nothing to check
        try:
            online = await self.client.is_online()
        except GatewayError as exc:
            log.warning("gateway health check failed: %s", exc)
            return
        if not online and self._ready.is_set():
            log.error("gateway account %s went offline: log in again", self.app_id)
            self._ready.clear()
            await self._record_status(False, "账号掉线了")
            self._dropped.set()

    # -- the webhook server --------------------------------------------------------------------------

    async def _start_server(self) -> None:
        """Our route on the webhook server (which starts with the first account of the process)."""
        app = Webhook(
            secret=lambda: self._secret,
            take=self._take,
            max_body_bytes=self.max_body_bytes,
            on_refused=self._refused,
        )
        try:
            self.listen_port = await self.webhooks.attach(self.account_name, app)
        except ListenError as exc:
            raise ChatUnavailable(f"the webhook server {exc}; change [chat.gateway] listen") from None
        self._serving = True

    async def _stop_server(self) -> None:
        if self._serving:
            self._serving = False
            await self.webhooks.release(self.account_name)

    def _refused(self) -> None:
        self.rejected_calls += 1

    def _mentions_bot(self, msg_source: str) -> bool:
        me = self.self_id
        return bool(me) and me in msg_source and me in at_list(msg_source)  # most lines: one `in`

    def _take(self, payload: Payload, size: int) -> bool:
        """A checked webhook call: chatter that can never get an answer is dropped here; the rest waits
        in the backlog (False: the backlog is full)."""
        wxid = payload.get("Wxid")
        if wxid and payload.get("TypeName") == "AddMsg" and payload.get("Appid") in (None, "", self.app_id):
            self.self_id = str(wxid)
        where = conversation(
            payload,
            self_id=self.self_id,
            card_text=card_text,
            mentions_bot=self._mentions_bot,
            may_be_request=self.may_be_request,
        )
        if where is None:
            self.chatter_dropped += 1
            return True
        return self.inbox.offer(payload, where, size)

    # -- handling what arrives -----------------------------------------------------------------------

    async def _keep_pending(self, waiting: list[Payload]) -> None:
        """Messages the gateway delivered (and we acknowledged) but the bot stopped before handling:
        kept in the store and handled first at the next start, so nothing a member sent is lost."""
        pending = []
        for payload in waiting:
            if self._key(payload) not in self._seen:  # a resend of a handled message stays dropped
                pending.append(payload)
        if not pending:
            return
        if self.engine is None:
            log.warning("stopped with %d webhook message(s) received but not handled", len(pending))
            return
        await asyncio.to_thread(chat_state.put, self.engine, self.account, "pending", json.dumps(pending))
        log.info("%d webhook message(s) received but not handled yet: kept for the next start", len(pending))

    async def _restore_pending(self) -> None:
        if self.engine is None:
            return
        kept = await asyncio.to_thread(chat_state.get, self.engine, self.account, "pending")
        if not kept:
            return
        await asyncio.to_thread(chat_state.forget, self.engine, self.account, "pending")
        try:
            pending = json.loads(kept)
        except ValueError:
            return
        for payload in pending if isinstance(pending, list) else []:
            if isinstance(payload, dict):
                self._take(payload, len(json.dumps(payload)))
        log.info("handling %d webhook message(s) kept from before the last stop", self.inbox.backlog)

    async def _handle(self, payload: Payload) -> None:
        assert self._handler is not None, "the backlog is worked only while `run` runs"
        await self._dispatch(payload, self._handler)

    @staticmethod
    def _key(payload: dict[str, Any]) -> tuple[str, str]:
        """(`Appid`, `NewMsgId`): what makes a delivery the same message."""
        data = payload.get("Data")
        data = data if isinstance(data, dict) else {}
        return str(payload.get("Appid") or ""), str(data.get("NewMsgId") or data.get("MsgId") or "")

    def _claim(self, key: tuple[str, str]) -> bool:
        if key in self._seen:
            self.duplicates_dropped += 1
            return False
        self._seen[key] = None
        if len(self._seen) > _SEEN_CAPACITY:
            self._seen.popitem(last=False)
        return True

    async def _claim_stored(self, new_id: str) -> bool:
        """The in-memory claim forgets at a restart: a gateway resending then would get the message
        answered twice. So a message is also claimed in the store (once per account, in any process),
        and every `_PRUNE_EVERY` claims the remembered ones are pruned to a bounded few. A store that
        cannot be reached does not stop the answer: answering twice beats not answering."""
        if self.engine is None:
            return True
        try:
            now = time.monotonic()
            stale = self._pruned_at is None or now - self._pruned_at >= _PRUNE_SECONDS
            if stale or self._stored_claims % _PRUNE_EVERY == 0:
                await asyncio.to_thread(chat_state.prune_seen, self.engine, self.account)
                self._pruned_at = now
            self._stored_claims += 1
            fresh = await asyncio.to_thread(chat_state.claim_message, self.engine, self.account, new_id)
        except Exception as exc:
            log.warning(
                "message %s not claimed in the store (%s): handled anyway", new_id, type(exc).__name__
            )
            return True
        if not fresh:
            self.duplicates_dropped += 1
            log.info("message %s was handled before the last start: dropped", new_id)
        return fresh

    async def _dispatch(self, payload: dict[str, Any], handler: MessageHandler) -> None:
        kind = payload.get("TypeName")
        data = payload.get("Data")
        if kind != "AddMsg" or not isinstance(data, dict):
            log.debug("webhook call %s ignored", kind or sorted(payload)[:5])
            return
        appid = str(payload.get("Appid") or "")
        if appid and appid != self.app_id:
            log.warning("webhook message for account %s, not ours (%s): ignored", appid, self.app_id)
            return
        key = self._key(payload)
        new_id = key[1]
        if not new_id or not self._claim(key):
            return
        self.self_id = str(payload.get("Wxid") or self.self_id)
        sender_box = text_of(data.get("FromUserName"))
        to_box = text_of(data.get("ToUserName"))
        content = text_of(data.get("Content"))
        msg_type = int(data.get("MsgType") or 0)
        if self.self_id and sender_box == self.self_id:
            return  # the account's own message (sent by the bot, or by a person on the phone)
        if sender_box.startswith("gh_") or sender_box in _SERVICE_ACCOUNTS:
            return  # official accounts and WeChat's own service chats are nobody to answer
        if not await self._claim_stored(new_id):
            return
        is_group = sender_box.endswith("@chatroom")
        sender = sender_box
        if is_group:
            prefix, sep, rest = content.partition(":\n")
            if sep and " " not in prefix and "<" not in prefix:
                sender, content = prefix, rest
            else:
                sender = ""
        if msg_type in (10000, 10002):
            if is_group:
                await self._joined(sender_box, msg_type, content)
            return
        if msg_type == 1:
            text = content
        elif msg_type == 49:
            text = card_text(content)
        else:
            log.debug("message type %s ignored", msg_type)
            return
        if not text.strip() or (is_group and not sender) or (self.self_id and sender == self.self_id):
            return
        await handler(await self._incoming(new_id, sender_box, to_box, sender, text, data, is_group=is_group))

    async def _incoming(
        self,
        message_id: str,
        chat: str,
        to: str,
        sender: str,
        text: str,
        data: dict[str, Any],
        *,
        is_group: bool,
    ) -> Incoming:
        push_content = str(data.get("PushContent") or "")
        if not is_group:
            name = push_content.split(" : ", 1)[0] if " : " in push_content else sender
            return Incoming(
                message_id=message_id,
                chat_id=chat,
                chat_name=name,
                sender_id=sender,
                sender_name=name,
                text=text.strip(),
                is_group=False,
                mentioned=True,
                account=self.account,
            )
        room = await self._room(chat)
        sender_name = room.members.get(sender, "")
        if not sender_name and " : " in push_content:
            sender_name = push_content.split(" : ", 1)[0]
        mentioned = bool(self.self_id) and self.self_id in at_list(str(data.get("MsgSource") or ""))
        names = set(self.bot_names)
        if self.self_id and room.members.get(self.self_id):
            names.add(room.members[self.self_id])
        text, named = strip_mention(text, names)
        if mentioned and not named:
            text = _LEADING_AT.sub("", text, count=1)
        return Incoming(
            message_id=message_id,
            chat_id=chat,
            chat_name=room.name or chat,
            sender_id=sender,
            sender_name=sender_name or sender,
            text=text.strip(),
            is_group=True,
            mentioned=mentioned or named,
            sender_is_owner=bool(room.owner) and room.owner == sender,
            account=self.account,
        )

    async def _room(self, room_id: str, *, fresh: bool = False) -> _Room:
        cached = self._rooms.get(room_id)
        if cached and not fresh and time.monotonic() - cached.at < _ROOM_TTL:
            return cached
        try:
            info = await self.client.room_info(room_id)
        except GatewayError as exc:
            log.warning("room %s: no info from the gateway (%s)", room_id, exc)
            return cached or _Room(room_id, "", {}, time.monotonic() - _ROOM_TTL)
        members: dict[str, str] = {}
        for member in info.get("memberList") or []:
            if isinstance(member, dict) and member.get("wxid"):
                members[str(member["wxid"])] = str(member.get("displayName") or member.get("nickName") or "")
        room = _Room(
            name=str(info.get("nickName") or ""),
            owner=str(info.get("chatRoomOwner") or info.get("chatroomOwner") or ""),
            members=members,
            at=time.monotonic(),
        )
        self._rooms[room_id] = room
        self._rooms.move_to_end(room_id)
        while len(self._rooms) > _ROOMS_CAPACITY:
            self._rooms.popitem(last=False)
        return room

    async def _joined(self, room_id: str, msg_type: int, content: str) -> None:
        members, inviter = joined_members(msg_type, content)
        if not members or self.on_join is None:
            return
        room = await self._room(room_id, fresh=True)  # the new members are in the fresh list
        by_name = {name: wxid for wxid, name in room.members.items()}
        ids = tuple(wxid or by_name.get(name, "") for wxid, name in members)
        names = tuple(name or room.members.get(wxid, wxid) for wxid, name in members)
        joined = MemberJoined(room_id, room.name or room_id, ids, names, inviter)
        reply = await self.on_join(joined)
        if reply:
            with contextlib.suppress(SendRefused):  # a group the bot may not speak in: the gate logged it
                await self.send(Outgoing(room_id, reply))

    # -- discovery -----------------------------------------------------------------------------------

    async def list_groups(self) -> list[GroupInfo]:
        """Every group in the account's contacts, named and owned as `/group/getChatroomInfo` says
        (a room whose info the gateway will not give is still listed, by its id). Waits until the
        account is online."""
        await either(self._ready, self._stopping)
        if not self._ready.is_set():
            raise ChatUnavailable("the gateway channel stopped before the account was online")
        found: list[GroupInfo] = []
        for room_id in await self.client.chatroom_ids():
            room = await self._room(room_id)
            name = "" if room.name == room_id else room.name  # no info: keep the name we knew
            found.append(GroupInfo(room_id, name, room.owner, room.members.get(room.owner, "")))
        return found

    # -- sending -------------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> None:
        async with self._send_lock:  # parts of concurrent replies do not interleave
            for part in message.reply.parts:
                try:
                    await self.client.send_part(message, part)
                except GatewayError as exc:
                    if exc.logged_out:
                        log.error("gateway account %s is logged out: %s", self.app_id, exc)
                        self._ready.clear()
                        await self._record_status(False, "发消息时网关说账号没登录")
                    raise


def build(settings: GatewaySettings, context: ChannelContext) -> GatewayChannel:
    """The channel of one account from its `[chat.gateway]` table (the registry's factory; an entry of
    `per_account()` when there are several). Its welcome is handed to it by the composition once the
    account's paced sender exists (`Capabilities.welcome = "paced"`). An empty app_id takes the one a
    first login kept; with none kept, the channel's login asks for one. The accounts built with one
    context share one webhook server on `listen`."""
    server = context.shared.get(_SERVER)
    if not isinstance(server, WebhookServer):
        server = context.shared[_SERVER] = WebhookServer(settings.listen_host, settings.listen_port)
    return GatewayChannel(
        account_name=settings.account_name,
        replica_id=context.replica_id or None,
        webhook_server=server,
        may_be_request=context.may_be_request,
        base_url=settings.base_url,
        token=settings.token.get_secret_value(),
        app_id=kept_app_id(settings, context.engine),
        listen_host=settings.listen_host,
        listen_port=settings.listen_port,
        callback_url=settings.callback_url,
        bot_name=context.bot_name,
        engine=context.engine,
        timeout=settings.timeout_seconds,
        max_body_bytes=settings.max_body_bytes,
        health_seconds=settings.health_seconds,
    )


_SERVER = "gateway.webhook_server"
"""Where `build` keeps the webhook server in `ChannelContext.shared`."""
