"""WeChat through a Wechaty puppet service (gRPC): the only module that imports wechaty.

python-wechaty 0.10.7 is the one Python client of the puppet-service protocol, but it predates Python
3.11 and has a life cycle that does not fit a long-running bot, so this module keeps it on a short leash:

* wechaty is imported on first use, after `CACHE_DIR` points into our data folder (it creates its working
  folder at import time, `./.wechaty` by default) and after the 3.11 shims below;
* its loggers are folded into ours: our level and format, the puppet token never printed;
* we drive the puppet ourselves instead of `Wechaty.start()`, which prints and swallows errors, may stop
  the whole event loop, and retries only after a fixed 60 s; a dropped event stream or a restarted puppet
  is reconnected here with backoff (1, 2, 4 … 30 s) while the rest of the app keeps running;
* every connection gets a fresh `Wechaty` and fresh contact/room pools, because python-wechaty keeps
  them, and the ids of messages it has seen, in process-global caches bound to the old connection.

Sending goes straight to the puppet, one RPC a reply part, so a part that went out is never reported as
failed (python-wechaty's `say()` also re-reads the sent message, which fails when the stream drops).

The public discovery service (which turns a bare token into an endpoint) is never used: an endpoint is
required.

What members paste arrives as `Incoming.text`, so handlers that only read text recognise cards too:

* a url-link card gives its URL, and on a second line its title when it has one;
* a mini-program card gives, on the first line, `https://store.weixin.qq.com/shop/a/<token>` when its page
  path carries a WeChat Channels product short link (plain or URL-encoded), otherwise
  `miniprogram://<appid>/<pagePath>`; on a second line its title when it has one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    Outgoing,
    ReplyPart,
    SendRefused,
    Text,
    either,
)
from bot.chat.text import mini_program_card_text, strip_mention, url_card_text
from bot.chat.wechaty_shims import adopt_loggers, import_wechaty, wechaty_installed

if TYPE_CHECKING:
    from bot.chat.plugin import ChannelContext
    from bot.chat.wechaty_settings import WechatySettings

__all__ = [
    "ChatUnavailable",
    "JoinHook",
    "MemberJoined",
    "WechatyChannel",
    "mini_program_card_text",
    "strip_mention",
    "url_card_text",
    "wechaty_installed",
]

INSTALL_HINT = "the legacy Wechaty channel needs the optional extra: pip install 'tuike[wechaty]'"

log = logging.getLogger(__name__)

RECONNECT_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
"""Seconds to wait before reconnecting: the first after a working session ends, longer after failures."""

_ENDPOINT = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")
_SEEN_CAPACITY = 10_000
_KINDS_CAPACITY = 50_000
_PROBE_TIMEOUT = 5.0
_GOODBYE_TIMEOUT = 3.0


# -- the channel ---------------------------------------------------------------------------------------


class WechatyChannel:
    """One WeChat account, through a Wechaty puppet-service gateway.

    `run` keeps a connection up (reconnecting with backoff) and hands each text message, pasted
    url-link card or mini-program card to the handler once, however often the puppet delivers it.
    `send` sends one reply now; concurrent callers are served one reply at a time so parts stay in order.
    """

    name = "wechaty"

    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        data_dir: Path,
        log_level: str | int = "INFO",
        on_join: JoinHook | None = None,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
        send_timeout: float = 30.0,
        drain_timeout: float = 10.0,
    ) -> None:
        if not _ENDPOINT.fullmatch(endpoint or ""):
            raise ValueError(f"endpoint {endpoint!r} is not host:port of a puppet service")
        if not token:
            raise ValueError("a puppet-service token is required")
        if not reconnect_delays:
            raise ValueError("reconnect_delays must not be empty")
        if not wechaty_installed():
            raise ChatUnavailable(INSTALL_HINT)
        self.endpoint = endpoint
        self.account = f"wechaty:{endpoint}"
        self._token = token
        self.cache_dir = Path(data_dir) / "wechaty"
        self.log_level = logging.getLevelName(log_level) if isinstance(log_level, str) else log_level
        self.on_join = on_join
        self.reconnect_delays = tuple(reconnect_delays)
        self.send_timeout = send_timeout
        self.drain_timeout = drain_timeout

        self.self_id = ""
        self.self_name = ""
        self.connections = 0
        """Sessions that got as far as opening the event stream (1 + reconnects)."""
        self.duplicates_dropped = 0

        self._lib: Any = None
        self._bot: Any = None
        self._handler: MessageHandler | None = None
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._running = False
        self._ended = False
        self._logged_in_this_session = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._send_lock = asyncio.Lock()
        self._groups: OrderedDict[str, bool] = OrderedDict()
        """chat id → is it a group, for sends that do not reply to a message; bounded (least recent out)."""

    @property
    def logged_in(self) -> bool:
        """A WeChat account is logged in on the current connection, so `send` goes out now."""
        return self._ready.is_set()

    # -- life cycle ------------------------------------------------------------------------------------

    async def run(self, handler: MessageHandler) -> None:
        if self._running:
            raise RuntimeError("the WeChat channel is already running")
        self._handler = handler
        self._running = True
        self._finished.clear()
        attempt = 0
        try:
            while not self._stopping.is_set():
                healthy = await self._session()
                if self._stopping.is_set():
                    break
                attempt = 0 if healthy else attempt + 1
                delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
                log.warning(
                    "与 puppet service 的连接已断开，%.0f 秒后重连 (reconnecting to %s)", delay, self.endpoint
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            self._running = False
            self._ended = True
            self._finished.set()
            log.info("WeChat channel stopped")

    async def stop(self) -> None:
        """End the event stream, let messages in flight finish (and reply), close, and return."""
        self._stopping.set()
        if self._running:
            await self._finished.wait()
        self._ended = True

    async def _session(self) -> bool:
        """One connection, from connect to the end of its event stream; True if it logged in."""
        lib = self._lib = import_wechaty(self.cache_dir)
        adopt_loggers(self.log_level, [self._token])
        lib.SingleIdContainer._instance = None
        for cls in (lib.Contact, lib.Room, lib.Tag):
            cls._pool.clear()
        scheduler = lib.AsyncIOScheduler()  # in memory; wechaty's default is an SQLite job store
        bot = lib.Wechaty(
            lib.WechatyOptions(
                puppet="wechaty-puppet-service",
                # A fresh PuppetOptions: the dataclass default is one instance shared by every bot.
                puppet_options=lib.PuppetOptions(end_point=self.endpoint, token=self._token),
                scheduler=scheduler,
            )
        )
        adopt_loggers(self.log_level, [self._token])  # wechaty_puppet_service's loggers exist now
        self._logged_in_this_session = False
        serve = asyncio.create_task(self._serve(bot), name="wechaty-event-stream")
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({serve, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if serve.done():
                self._log_session_end(serve)
            else:
                serve.cancel()
                await asyncio.wait({serve})
                await self._drain()
        finally:
            stopping.cancel()
            if not serve.done():
                serve.cancel()
                await asyncio.wait({serve})
            self._ready.clear()
            self._bot = None
            await self._close(bot, scheduler, goodbye=self._stopping.is_set())
        return self._logged_in_this_session

    async def _serve(self, bot: Any) -> None:
        host, _, port = self.endpoint.rpartition(":")
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host.strip("[]"), int(port)), _PROBE_TIMEOUT
        )
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        await bot.init_puppet()
        # Per-connection pools: objects cached by a previous connection are bound to its closed puppet.
        for cls in (bot.Contact, bot.ContactSelf, bot.Room, bot.Tag):
            cls._pool = {}
        await bot.init_puppet_event_bridge(bot.puppet)
        self._listen(bot)
        log.info("connecting to the puppet service at %s", self.endpoint)
        self.connections += 1
        await bot.puppet.start()  # Stop, Start, then the event stream until it ends

    def _log_session_end(self, serve: asyncio.Task[None]) -> None:
        if serve.cancelled():
            return
        exc = serve.exception()
        if exc is None:
            log.warning("the puppet service ended the event stream")
        else:
            log.warning("puppet service at %s: %s: %s", self.endpoint, type(exc).__name__, exc or "-")

    async def _drain(self) -> None:
        current = asyncio.current_task()
        pending = {task for task in self._tasks if task is not current}
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=self.drain_timeout)
        if late:
            log.warning(
                "%d message(s) still being handled after %.0f s; cancelled", len(late), self.drain_timeout
            )
            for task in late:
                task.cancel()
            await asyncio.wait(late)

    async def _close(self, bot: Any, scheduler: Any, *, goodbye: bool) -> None:
        puppet = bot._puppet
        bot.remove_all_listeners()
        if puppet is not None:
            puppet._event_stream.remove_all_listeners()
            try:
                if goodbye and puppet._puppet_stub is not None:
                    # What Wechaty.stop() does: tell the gateway this client is done.
                    await asyncio.wait_for(puppet._puppet_stub.stop(), _GOODBYE_TIMEOUT)
            except Exception as exc:
                log.debug("Stop RPC failed: %s: %s", type(exc).__name__, exc)
            finally:
                puppet._puppet_stub = None
                if puppet.channel is not None:
                    puppet.channel.close()
                    puppet.channel = None
        if scheduler.running:
            scheduler.shutdown(wait=False)

    # -- events ------------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _listen(self, bot: Any) -> None:
        puppet = bot.puppet
        # Login, logout and scan are taken from the puppet: wechaty ignores a second login on one bot.
        puppet.on("login", lambda payload: self._on_login(bot, payload.contact_id))
        puppet.on("logout", lambda payload: self._on_logout(payload.contact_id))
        puppet.on("scan", lambda payload: self._on_scan(payload.status, payload.qrcode))

        def on_message(msg: Any) -> None:
            # Synchronous, so the id is claimed and the task registered before anything else runs.
            message_id = str(msg.message_id)
            if not self._claim(message_id):
                self.duplicates_dropped += 1
                log.debug("dropped a redelivery of message %s", message_id)
                return
            self._spawn(self._deliver(bot, msg))

        def on_room_join(room: Any, invitees: list[Any], inviter: Any, _date: Any) -> None:
            if self.on_join is not None:
                self._spawn(self._welcome(room, invitees, inviter))

        bot.on("message", on_message)
        bot.on("room-join", on_room_join)

    def _on_login(self, bot: Any, contact_id: str) -> None:
        # The id is known at once, so messages right behind the login already know who "self" is.
        if contact_id != self.self_id:
            self.self_id, self.self_name = contact_id, ""
        self._logged_in_this_session = True
        self._spawn(self._finish_login(bot, contact_id))

    async def _finish_login(self, bot: Any, contact_id: str) -> None:
        name = ""
        try:
            name = str((await bot.puppet.contact_payload(contact_id)).name or "")
        except Exception as exc:
            log.warning("could not read the bot's own contact: %s", exc)
        self.self_name = name or contact_id
        self._bot = bot
        self._ready.set()
        log.info("已登录微信 logged in to WeChat as %s (%s)", self.self_name, contact_id)

    def _on_logout(self, contact_id: str) -> None:
        self._ready.clear()
        log.warning("微信已退出登录 logged out of WeChat (%s); waiting for a new login", contact_id)

    def _on_scan(self, status: Any, qrcode: str | None) -> None:
        lib = self._lib
        if qrcode and status in (lib.ScanStatus.Waiting, lib.ScanStatus.Timeout):
            log.warning(
                "请用机器人的微信扫码登录 scan this QR code with the bot's WeChat to log in: %s", qrcode
            )
        else:
            log.info("login scan: %s", getattr(status, "name", status))

    def _claim(self, message_id: str) -> bool:
        if message_id in self._seen:
            return False
        self._seen[message_id] = None
        while len(self._seen) > _SEEN_CAPACITY:
            self._seen.popitem(last=False)
        return True

    async def _deliver(self, bot: Any, msg: Any) -> None:
        try:
            incoming = await self._to_incoming(bot, msg)
        except Exception:
            self._seen.pop(str(msg.message_id), None)  # a redelivery may fare better
            log.exception("could not read message %s", msg.message_id)
            return
        if incoming is None or self._handler is None:
            return
        self._remember_kind(incoming.chat_id, incoming.is_group)
        try:
            await self._handler(incoming)
        except Exception:
            log.exception("handling message %s in %s failed", incoming.message_id, incoming.chat_id)

    async def _to_incoming(self, bot: Any, msg: Any) -> Incoming | None:
        await msg.ready()
        kinds = self._lib.MessageType
        kind = msg.type()
        if kind == kinds.MESSAGE_TYPE_TEXT:
            text = str(msg.text() or "")
        elif kind == kinds.MESSAGE_TYPE_URL:
            link = await msg.to_url_link()
            text = url_card_text(str(link.url or ""), str(link.title or ""))
        elif kind == kinds.MESSAGE_TYPE_MINI_PROGRAM:
            card = await msg.to_mini_program()
            text = mini_program_card_text(
                str(card.app_id or ""),
                str(card.page_path or ""),
                str(card.title or ""),
                str(card.user_name or ""),
            )
        else:
            log.debug("ignored a %s message", getattr(kind, "name", kind))
            return None

        talker = msg.talker()
        await talker.ready()
        sender_id = str(talker.contact_id)
        sender_name = str(talker.name or sender_id)
        from_self = bool(self.self_id) and sender_id == self.self_id
        message_id = str(msg.message_id)
        room = msg.room()
        if room is None:
            chat_id, chat_name = sender_id, sender_name
            receiver = msg.to() if from_self else None
            if receiver is not None:
                await receiver.ready()
                chat_id, chat_name = str(receiver.contact_id), str(receiver.name or receiver.contact_id)
            return Incoming(
                message_id=message_id,
                chat_id=chat_id,
                chat_name=chat_name,
                sender_id=sender_id,
                sender_name=sender_name,
                text=text.strip(),
                is_group=False,
                mentioned=True,
                from_self=from_self,
                account=self.account,
            )

        await room.ready()
        room_id = str(room.room_id)
        topic = str(await room.topic() or "")
        owner_id = str(room.payload.owner_id or "")
        mentioned = bool(self.self_id) and self.self_id in (msg.payload.mention_ids or [])
        if kind == kinds.MESSAGE_TYPE_TEXT and "@" in text:
            if not self.self_name:  # a message right behind the login: the bot's name is on its way
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), _PROBE_TIMEOUT)
            names = {self.self_name, await self._alias_in(bot, room)}
            text, named = strip_mention(text, names)
            mentioned = mentioned or named
        return Incoming(
            message_id=message_id,
            chat_id=room_id,
            chat_name=topic or room_id,
            sender_id=sender_id,
            sender_name=sender_name,
            text=text.strip(),
            is_group=True,
            mentioned=mentioned,
            sender_is_owner=bool(owner_id) and owner_id == sender_id,
            from_self=from_self,
            account=self.account,
        )

    async def _alias_in(self, bot: Any, room: Any) -> str:
        """The bot's nickname in this group (people @ that name), or '' when unset or unknown."""
        if not self.self_id:
            return ""
        try:
            return str(await room.alias(bot.Contact.load(self.self_id)) or "")
        except Exception as exc:
            log.debug("no room alias for the bot in %s: %s", room.room_id, exc)
            return ""

    async def _welcome(self, room: Any, invitees: list[Any], inviter: Any) -> None:
        if self.on_join is None:
            return
        newcomers = [c for c in invitees if str(c.contact_id) != self.self_id]
        if not newcomers:
            return  # the bot itself was added to a group
        joined = MemberJoined(
            chat_id=str(room.room_id),
            chat_name=str(await room.topic() or room.room_id),
            member_ids=tuple(str(c.contact_id) for c in newcomers),
            member_names=tuple(str(c.name or c.contact_id) for c in newcomers),
            inviter_name=str(getattr(inviter, "name", "") or ""),
        )
        self._remember_kind(joined.chat_id, True)
        try:
            reply = await self.on_join(joined)
            if reply:
                await self.send(Outgoing(joined.chat_id, reply))
        except SendRefused:
            pass  # a group the bot may not speak in: the gate logged it
        except Exception:
            log.exception("welcoming %s in %s failed", "、".join(joined.member_names), joined.chat_id)

    # -- groups ------------------------------------------------------------------------------------------

    async def list_groups(self) -> list[GroupInfo]:
        """Every room the account is in (the puppet's room list), named and owned as each room's payload
        says; a room whose payload will not come is still listed, by its id. Waits until logged in."""
        await either(self._ready, self._stopping)
        bot = self._bot
        if not self._ready.is_set() or bot is None:
            raise ChatUnavailable("the WeChat channel stopped before the account was logged in")
        found: list[GroupInfo] = []
        for room_id in await bot.puppet.room_list():
            name, owner = "", ""
            try:
                room = bot.Room.load(str(room_id))
                await room.ready()
                name = str(await room.topic() or "")
                owner = str(room.payload.owner_id or "")
            except Exception as exc:  # one unreadable room must not hide the others
                log.info("room %s not read: %s", room_id, type(exc).__name__)
            found.append(GroupInfo(str(room_id), name, owner))
        return found

    # -- sending -----------------------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> None:
        async with self._send_lock:
            bot = await self._logged_in_bot()
            for part in message.reply.parts:
                await self._send_part(bot, message, part)

    async def _logged_in_bot(self) -> Any:
        if self._ended:
            raise ChatUnavailable("the WeChat channel has stopped")
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), self.send_timeout)
            except TimeoutError:
                raise ChatUnavailable(f"not logged in to WeChat after {self.send_timeout:.0f} s") from None
        return self._bot

    def _remember_kind(self, chat_id: str, is_group: bool) -> None:
        self._groups[chat_id] = is_group
        self._groups.move_to_end(chat_id)
        while len(self._groups) > _KINDS_CAPACITY:
            self._groups.popitem(last=False)

    def _is_group(self, message: Outgoing) -> bool:
        if message.reply_to is not None and message.reply_to.chat_id == message.chat_id:
            return message.reply_to.is_group
        known = self._groups.get(message.chat_id)
        return known if known is not None else message.chat_id.endswith("@chatroom")

    async def _send_part(self, bot: Any, message: Outgoing, part: ReplyPart) -> None:
        # Straight to the puppet, one RPC a part: Room.say()/Contact.say() also fetch the sent message
        # afterwards, and when that lookup fails the part counts as failed although it went out, so a
        # retrying sender would post it twice.
        lib, puppet, chat_id = self._lib, bot.puppet, message.chat_id
        if isinstance(part, Text):
            if not part.text.strip():
                return
            asker = message.reply_to
            if part.mention_sender and asker is not None and asker.is_group and self._is_group(message):
                text = f"@{asker.sender_name}\u2005{part.text}"
                await puppet.message_send_text(chat_id, text, mention_ids=[asker.sender_id])
            else:
                await puppet.message_send_text(chat_id, part.text)
        elif isinstance(part, Image):
            if part.data:
                box = lib.FileBox.from_base64(base64.b64encode(part.data), name=part.name or "image.png")
            elif part.url:
                # Always named: without a name FileBox.from_url downloads the file to guess one.
                box = lib.FileBox.from_url(part.url, name=part.name or _name_from_url(part.url))
            else:
                log.warning("an image with neither data nor URL was not sent to %s", chat_id)
                return
            await puppet.message_send_file(chat_id, box)
            if part.caption.strip():
                await puppet.message_send_text(chat_id, part.caption)
        elif isinstance(part, LinkCard):
            # Built from our fields: UrlLink.create() would fetch the page to fill them in.
            link = lib.UrlLinkPayload(
                url=part.url,
                title=part.title,
                description=part.description,
                thumbnailUrl=part.thumbnail_url or None,
            )
            await puppet.message_send_url(chat_id, json.dumps(dataclasses.asdict(link), ensure_ascii=False))
        elif isinstance(part, MiniProgramCard):
            card = lib.MiniProgramPayload(
                appid=part.appid,
                title=part.title,
                pagePath=part.page_path,
                thumbUrl=part.thumb_url or None,
                username=part.username or None,
                description=part.description or None,
            )
            await puppet.message_send_mini_program(chat_id, card)


def _name_from_url(url: str) -> str:
    name = PurePosixPath(urlsplit(url).path).name
    return name if "." in name else "image.jpg"


def build(settings: WechatySettings, context: ChannelContext) -> WechatyChannel:
    """The channel from its `[chat.wechaty]` table (the registry's factory); it greets new members
    itself when `welcome_on_join` is set and the composition gave a welcome."""
    return WechatyChannel(
        endpoint=settings.endpoint,
        token=settings.token.get_secret_value(),
        data_dir=context.data_dir,
        log_level=context.log_level,
        on_join=context.welcome if settings.welcome_on_join else None,
    )


def check(settings: WechatySettings) -> list[tuple[bool, str]]:
    """`tuike check`: the legacy extra this channel needs is installed."""
    if wechaty_installed():
        return [(True, "wechaty: the legacy extra is installed (python-wechaty 2022, unmaintained)")]
    return [(False, f"wechaty: {INSTALL_HINT}")]
