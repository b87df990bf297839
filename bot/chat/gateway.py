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
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from sqlalchemy import Engine

from bot import redact
from bot.chat.asgi import AsgiServer, ListenError
from bot.chat.base import (
    ChatUnavailable,
    GroupInfo,
    Image,
    Incoming,
    JoinHook,
    LinkCard,
    MemberJoined,
    MessageHandler,
    MiniProgramCard,
    NotInChat,
    Outgoing,
    ReplyPart,
    Text,
    either,
)
from bot.chat.gateway_inbox import Inbox, Payload
from bot.chat.gateway_webhook import Webhook, conversation
from bot.chat.qr import show_login_qr
from bot.chat.text import mini_program_card_text, strip_mention, url_card_text
from bot.store import chat_state

if TYPE_CHECKING:
    from bot.chat.gateway_settings import GatewaySettings
    from bot.chat.plugin import ChannelContext

log = logging.getLogger(__name__)

RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
"""Pauses between tries of one gateway call that failed on the way (network, 5xx)."""
RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Pauses between attempts to reach a gateway that is down at start or went away."""
_SEEN_CAPACITY = 10_000
_PRUNE_EVERY = 1000
"""Store claims between two prunings of the handled messages the store remembers."""
_ROOM_TTL = 600.0
_ROOMS_CAPACITY = 2_000
"""Rooms whose info (members and all) is kept; the least recently used is read again when needed."""
_LOGGED_OUT_WORDS = ("未登录", "离线", "不在线", "掉线", "已退出", "not login", "offline", "not online")
_THROTTLED_WORDS = ("频繁", "限制", "too many", "too frequent", "rate limit")
_NOT_MEMBER_WORDS = ("不在该群", "不在群", "不是群成员", "非群成员", "not in the chatroom", "not a member")
_LEADING_AT = re.compile(r"^@[^\s\u2005]{1,32}[\u2005 ]")
_QUOTED = re.compile(r'"([^"]{1,64})"')
_SERVICE_ACCOUNTS = frozenset({"weixin", "fmessage", "filehelper", "newsapp", "medianote", "floatbottle"})


class GatewayError(ChatUnavailable):
    """The gateway refused a call (`ret` other than 200), or could not be reached; the text says which."""

    def __init__(
        self,
        path: str,
        message: str,
        *,
        ret: int | None = None,
        status: int | None = None,
        not_api: str = "",
    ) -> None:
        super().__init__(f"gateway {path}: {message}" + (f" (ret {ret})" if ret is not None else ""))
        self.path = path
        self.ret = ret
        self.status = status
        """The HTTP status of an answer that was no API answer (a 5xx, a web page); None otherwise."""
        self.not_api = not_api
        """What came back instead of the API's JSON ("a web page (text/html)"), '' for a JSON answer."""
        lowered = message.lower()
        self.logged_out = any(word in lowered for word in _LOGGED_OUT_WORDS)
        self.throttled = ret == 429 or any(word in lowered for word in _THROTTLED_WORDS)
        self.unreachable = ret is None and status is None


class GatewayNotInGroup(GatewayError, NotInChat):
    """The gateway refused a send because the account is not in that group (「你不在该群聊中」)."""


def _refusal(path: str, message: str, ret: int | None) -> GatewayError:
    lowered = message.lower()
    if any(word in lowered for word in _NOT_MEMBER_WORDS):
        return GatewayNotInGroup(path, message, ret=ret)
    return GatewayError(path, message, ret=ret)


class GatewayClient:
    """The gateway's REST API: POST JSON with `X-GEWE-TOKEN`, `{"ret": 200, "data": …}` back."""

    def __init__(
        self,
        base_url: str,
        token: str,
        app_id: str,
        *,
        timeout: float = 10.0,
        retry_delays: Iterable[float] = RETRY_DELAYS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.retry_delays = tuple(retry_delays)
        self._http = httpx.AsyncClient(
            timeout=timeout, headers={"X-GEWE-TOKEN": token}, transport=transport, trust_env=False
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, path: str, body: dict[str, Any] | None = None, *, retry: bool = True) -> Any:
        """One API call; returns `data`. Network errors and 5xx are tried again; a refusal is not."""
        payload = {"appId": self.app_id, **(body or {})}
        delays = self.retry_delays if retry else ()
        status: int | None = None
        for attempt in range(len(delays) + 1):
            try:
                response = await self._http.post(f"{self.base_url}{path}", json=payload)
            except httpx.HTTPError as exc:
                problem, status = f"unreachable ({type(exc).__name__})", None
            else:
                if response.status_code < 500:
                    return self._data(path, response)
                problem, status = f"HTTP {response.status_code}", response.status_code
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        raise GatewayError(path, problem, status=status)

    @staticmethod
    def _data(path: str, response: httpx.Response) -> Any:
        try:
            answer = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
            what = f"a web page ({kind})" if "html" in kind else f"something else ({kind})"
            raise GatewayError(
                path,
                f"HTTP {response.status_code}, not JSON",
                ret=response.status_code,
                status=response.status_code,
                not_api=what,
            ) from None
        if not isinstance(answer, dict):
            raise GatewayError(path, "answer is not a JSON object", ret=response.status_code)
        ret = answer.get("ret")
        if ret != 200:
            message = str(answer.get("msg") or "refused")[:200]
            raise _refusal(path, message, ret if isinstance(ret, int) else response.status_code)
        return answer.get("data")

    # -- the operations the bot uses ----------------------------------------------------------------

    async def is_online(self) -> bool:
        data = await self.call("/login/checkOnline", retry=False)
        return bool(data)

    async def set_callback(self, token: str, callback_url: str) -> None:
        await self.call("/tools/setCallback", {"token": token, "callbackUrl": callback_url}, retry=False)

    async def chatroom_ids(self) -> list[str]:
        """The group ids in the account's contacts (`/contacts/fetchContactsList` → `chatrooms`). GeWe
        lists only groups saved to the contacts; the others become known when someone there speaks."""
        data = await self.call("/contacts/fetchContactsList")
        rooms = data.get("chatrooms") if isinstance(data, dict) else None
        return [str(r) for r in rooms or [] if isinstance(r, str) and r.endswith("@chatroom")]

    async def room_info(self, room_id: str) -> dict[str, Any]:
        data = await self.call("/group/getChatroomInfo", {"chatroomId": room_id})
        return data if isinstance(data, dict) else {}


@dataclass
class _Room:
    name: str
    owner: str
    members: dict[str, str]
    at: float


def _text_of(node: Any) -> str:
    """`{"string": "…"}` (the gateway's wrapping of protobuf strings) or a plain string."""
    if isinstance(node, dict):
        return str(node.get("string") or "")
    return str(node or "")


def _with_secret(url: str, secret: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "secret"]
    query.append(("secret", secret))
    return urlunsplit(parts._replace(query=urlencode(query)))


def at_list(msg_source: str) -> set[str]:
    """Wxids in `<atuserlist>` of a message's `MsgSource` (comma separated, sometimes with a leading comma)."""
    found = re.search(r"<atuserlist>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</atuserlist>", msg_source or "", re.S)
    if not found:
        return set()
    return {w.strip() for w in found.group(1).split(",") if w.strip()}


def card_text(xml: str) -> str:
    """What a pasted card (MsgType 49) says, in the form `bot.chat.text` describes; '' when unknown."""
    start = xml.find("<msg")
    if start < 0:
        return ""
    try:
        root = ET.fromstring(xml[start:])
    except ET.ParseError:
        return ""
    appmsg = root.find("appmsg")
    if appmsg is None:
        return ""
    kind = (appmsg.findtext("type") or "").strip()
    title = appmsg.findtext("title") or ""
    if kind in ("33", "36"):
        info = appmsg.find("weappinfo")
        if info is not None:
            return mini_program_card_text(
                info.findtext("appid") or "",
                info.findtext("pagepath") or "",
                title,
                info.findtext("username") or "",
            )
    if kind == "57":  # a quoted reply: the member's own words are the title
        return title
    url = appmsg.findtext("url") or ""
    return url_card_text(url, title) if url else ""


def joined_members(msg_type: int, content: str) -> tuple[list[tuple[str, str]], str]:
    """(new members as (wxid or '', name), inviter name) from a join system message; ([], '') if not one."""
    if msg_type == 10002 and "<sysmsg" in content:
        start = content.find("<sysmsg")
        try:
            root = ET.fromstring(content[start:])
        except ET.ParseError:
            return [], ""
        template = root.findtext(".//template") or ""
        if "加入" not in template and "joined" not in template:
            return [], ""
        members: list[tuple[str, str]] = []
        inviter = ""
        for link in root.iter("link"):
            names = [
                (m.findtext("username") or "", m.findtext("nickname") or "") for m in link.iter("member")
            ]
            if link.get("name") in ("names", "adder"):
                members.extend(names)
            elif link.get("name") in ("username", "from") and names:
                inviter = names[0][1]
        return [m for m in members if m[0] or m[1]], inviter
    if msg_type == 10000 and ("加入" in content or "joined" in content):
        quoted = _QUOTED.findall(content)
        if "邀请" in content and len(quoted) >= 2:  # "小红"邀请"小明、小刚"加入了群聊
            return [("", n) for n in re.split("[、,]", quoted[1]) if n], quoted[0]
        if "二维码" in content and quoted:  # "小明"通过扫描"小红"分享的二维码加入群聊
            return [("", quoted[0])], quoted[1] if len(quoted) > 1 else ""
        if quoted:
            return [("", quoted[0])], ""
    return [], ""


class GatewayChannel:
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
    ) -> None:
        """`may_be_request`: the router's test for a group line that does not @mention the bot (chatter
        it rejects is dropped before it is queued); `max_connections`, `header_seconds`: the webhook
        server's cap and header deadline (`bot.chat.asgi` defaults). An empty `app_id` is a first login:
        the login gets one from the gateway."""
        if not (base_url and token):
            raise ValueError("the gateway channel needs base_url and token")
        self.account = f"gateway:{app_id}"
        self.app_id = app_id
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.configured_callback = callback_url
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
        self.client = GatewayClient(
            base_url, token, app_id, timeout=timeout, retry_delays=retry_delays, transport=transport
        )

        self.self_id = ""
        self.duplicates_dropped = 0
        self.rejected_calls = 0
        self.registered_callback = ""
        self._secret = ""
        self._server: AsgiServer | None = None
        self.chatter_dropped = 0
        """Webhook calls dropped before queueing: nothing in them can get an answer."""
        self._handler: MessageHandler | None = None
        self.inbox = Inbox(self._handle)
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._stored_claims = 0
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
        """Where the gateway should call us (with our secret)."""
        base = self.configured_callback or f"http://{self._url_host()}:{self.listen_port}/gateway/callback"
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
        await asyncio.to_thread(chat_state.put, self.engine, self.account, "webhook_secret", fresh)
        return fresh

    # -- life cycle ----------------------------------------------------------------------------------

    async def run(self, handler: MessageHandler) -> None:
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

    async def stop(self) -> None:
        self._stopping.set()
        self.inbox.halt()  # the messages in flight finish; the rest are kept for the next start
        if self._server is not None:
            self._server.signal_exit()

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
        await self.client.set_callback(self._token, self.callback_url)
        self.registered_callback = self.callback_url
        shown = _with_secret(self.callback_url, "***")
        log.info("gateway account %s online; webhook %s registered", self.app_id, shown)
        self._ready.set()
        await self._record_status(True)

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

    async def _record_status(self, online: bool, why: str = "") -> None:
        """Keep the account's login state for the web console when it changes; a store that cannot take
        it costs only the console's notice, never the channel."""
        if self.engine is None or self._status_online is online:
            return
        status = chat_state.AccountStatus(online, datetime.now(UTC), why)
        try:
            await asyncio.to_thread(chat_state.put_status, self.engine, self.account, status)
        except Exception as exc:
            log.warning("gateway account %s status not stored: %s", self.app_id, type(exc).__name__)
            return
        self._status_online = online

    async def _login(self) -> None:
        """Show the gateway's login QR code in the terminal and wait until the account is logged in."""
        while not self._stopping.is_set():
            data = await self.client.call("/login/getLoginQrCode", retry=False)
            if not isinstance(data, dict) or not data.get("uuid"):
                raise GatewayError("/login/getLoginQrCode", "no QR code in the answer")
            qr, uuid = str(data.get("qrData") or ""), str(data["uuid"])
            if not self.app_id:
                given = str(data.get("appId") or "")
                if not given:
                    raise GatewayError("/login/getLoginQrCode", "no appId in the answer to a first login")
                await self._keep_app_id(given)
            show_login_qr(
                qr, "请用要当机器人的微信扫码登录网关账号 (scan with the bot's WeChat):", self.terminal
            )
            log.warning(
                "gateway account %s is not logged in: scan the QR code shown in the terminal", self.app_id
            )
            await self._record_status(False, "等待扫码登录")
            while not self._stopping.is_set():
                await self._pause(self.login_poll_seconds)
                status = await self.client.call("/login/checkLogin", {"uuid": uuid}, retry=False)
                status = status if isinstance(status, dict) else {}
                info = status.get("loginInfo") or {}
                if status.get("status") == 2 or (isinstance(info, dict) and info.get("wxid")):
                    if isinstance(info, dict):
                        self.self_id = str(info.get("wxid") or self.self_id)
                        if info.get("nickName"):
                            self.bot_names.add(str(info["nickName"]))
                    log.info("gateway account %s logged in", self.app_id)
                    return
                expires = status.get("expiredTime")
                if isinstance(expires, int | float) and expires <= 0:
                    log.info("login QR code expired; showing a new one")
                    break

    async def _keep_app_id(self, app_id: str) -> None:
        """A first login's appId, from now on this channel's: its calls, its account, and the store (the
        next start uses it while `[chat.gateway] app_id` stays empty)."""
        self.app_id = self.client.app_id = app_id
        self.account = f"gateway:{app_id}"
        if self.engine is not None:
            await asyncio.to_thread(chat_state.put, self.engine, FIRST_LOGIN_ACCOUNT, KEPT_APP_ID, app_id)
        log.warning(
            "gateway first login: the gateway gave this account appId %s; kept it in the database (%s) and "
            'uses it from now on: write app_id = "%s" in [chat.gateway] to pin it',
            app_id,
            "used on every start while app_id is empty"
            if self.engine is not None
            else "not stored: no database",
            app_id,
        )

    # -- the webhook server --------------------------------------------------------------------------

    async def _start_server(self) -> None:
        app = Webhook(
            secret=lambda: self._secret,
            take=self._take,
            max_body_bytes=self.max_body_bytes,
            on_refused=self._refused,
        )
        limits: dict[str, Any] = {}
        if self.max_connections is not None:
            limits["max_connections"] = self.max_connections
        if self.header_seconds is not None:
            limits["header_seconds"] = self.header_seconds
        server = AsgiServer(app, self.listen_host, self.listen_port, name="gateway-webhook-server", **limits)
        try:
            self.listen_port = await server.start()
        except ListenError as exc:
            raise ChatUnavailable(f"the webhook server {exc}; change [chat.gateway] listen") from None
        self._server = server
        log.info("webhook server listening on %s:%d", self.listen_host, self.listen_port)

    async def _stop_server(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

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
            if self._stored_claims % _PRUNE_EVERY == 0:
                await asyncio.to_thread(chat_state.prune_seen, self.engine, self.account)
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
        sender_box = _text_of(data.get("FromUserName"))
        to_box = _text_of(data.get("ToUserName"))
        content = _text_of(data.get("Content"))
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
                    await self._send_part(message, part)
                except GatewayError as exc:
                    if exc.logged_out:
                        log.error("gateway account %s is logged out: %s", self.app_id, exc)
                        self._ready.clear()
                        await self._record_status(False, "发消息时网关说账号没登录")
                    raise

    async def _send_part(self, message: Outgoing, part: ReplyPart) -> None:
        to = message.chat_id
        if isinstance(part, Text):
            asker = message.reply_to
            body: dict[str, Any] = {"toWxid": to, "content": part.text}
            if part.mention_sender and asker is not None and asker.is_group and asker.sender_id:
                body["content"] = f"@{asker.sender_name}\u2005{part.text}"
                body["ats"] = asker.sender_id
            await self.client.call("/message/postText", body)
        elif isinstance(part, Image):
            if part.url:
                await self.client.call("/message/postImage", {"toWxid": to, "imgUrl": part.url})
            else:
                log.warning("image %s has no URL; gateways take images by URL: not sent", part.name)
            if part.caption:
                await self.client.call("/message/postText", {"toWxid": to, "content": part.caption})
        elif isinstance(part, LinkCard):
            await self.client.call(
                "/message/postLink",
                {
                    "toWxid": to,
                    "title": part.title,
                    "desc": part.description,
                    "linkUrl": part.url,
                    "thumbUrl": part.thumbnail_url,
                },
            )
        elif isinstance(part, MiniProgramCard):
            await self.client.call(
                "/message/postMiniApp",
                {
                    "toWxid": to,
                    "miniAppId": part.appid,
                    "displayName": part.description or part.title,
                    "pagePath": part.page_path,
                    "coverImgUrl": part.thumb_url,
                    "title": part.title,
                    "userName": part.username,
                },
            )


FIRST_LOGIN_ACCOUNT, KEPT_APP_ID = "gateway:", "app_id"
"""Where a first login's appId is kept (`chat_state`): under the account an empty app_id names."""


def kept_app_id(settings: GatewaySettings, engine: Engine | None) -> str:
    """The configured appId, else the one a first login kept in the store ('' when none yet)."""
    if settings.app_id or engine is None:
        return settings.app_id
    return chat_state.get(engine, FIRST_LOGIN_ACCOUNT, KEPT_APP_ID) or ""


def build(settings: GatewaySettings, context: ChannelContext) -> GatewayChannel:
    """The channel from its `[chat.gateway]` table (the registry's factory). Its welcome is handed to it
    by the composition once the account's paced sender exists (`Capabilities.welcome = "paced"`). An
    empty app_id takes the one a first login kept; with none kept, the channel's login asks for one."""
    return GatewayChannel(
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
