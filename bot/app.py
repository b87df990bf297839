"""The composition root: reads the settings, builds every part, and runs the channel."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from bot import redact
from bot.chat.base import ChatChannel, Incoming, Outgoing, Reply
from bot.chat.console import ConsoleChannel
from bot.chat.wechaty import JoinHook, MemberJoined, WechatyChannel
from bot.config import LoadedConfig, Settings
from bot.handlers.deals import DealsHandler, LateSend
from bot.handlers.help import HelpHandler
from bot.handlers.parse import may_be_request
from bot.handlers.ratelimit import Limit, RateLimiter
from bot.handlers.router import CatchErrors, DropDuplicates, GroupAllowList, Handler, Router, ignore_self
from bot.handlers.spots import GroupSpots
from bot.handlers.subscribe import SubscribeHandler
from bot.leagues.base import League, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.setup import default_spots, open_leagues, spot_issuers
from bot.push.sender import PacedSender
from bot.push.service import PushService
from bot.render import Renderer
from bot.store import db
from bot.store.groups import named_not_by_id
from bot.store.models import Group
from bot.store.requests import RequestRecorder

log = logging.getLogger(__name__)

APOLOGY = "哎呀，我这边出了点小问题，请稍后再试一次 🙏"


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.bot.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "alembic.runtime.migration", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    redact.register(*redact.secret_values(settings))
    redact.install()


def prepare_database(settings: Settings) -> Engine:
    """Open the database; an SQLite file is upgraded in place (PostgreSQL needs `tuike db upgrade`)."""
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        before, after = db.upgrade(engine)
        if before != after:
            log.info("database %s upgraded from %s to %s", engine.url.database, before or "empty", after)
    else:
        current = db.current_revision(engine)
        if current != db.head_revision():
            raise RuntimeError(
                f"database schema is at {current or 'empty'}, the code needs {db.head_revision()}: "
                "run `tuike db upgrade` first"
            )
    return engine


def build_renderer(settings: Settings, notify: Callable[[str], None] | None = None) -> Renderer:
    return Renderer(
        settings.templates.dir,
        timezone=settings.bot.timezone,
        max_chars=settings.templates.max_message_chars,
        notify=notify,
    )


def build_deals(
    settings: Settings,
    renderer: Renderer,
    engine: Engine | None,
    leagues: dict[str, League],
    recorder: RequestRecorder,
    links: LinkCache | None = None,
    spots: GroupSpots | None = None,
    late: LateSend | None = None,
) -> DealsHandler:
    deals = settings.deals
    return DealsHandler(
        leagues=leagues,
        renderer=renderer,
        links=links or LinkCache(engine, ttl=timedelta(hours=deals.link_ttl_hours)),
        spots=spots or GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues)),
        limiter=RateLimiter(
            Limit(deals.member_requests, deals.member_window_seconds),
            Limit(deals.group_requests, deals.group_window_seconds),
        ),
        recorder=recorder,
        settings=deals,
        late=late,
    )


def build_router(settings: Settings, renderer: Renderer, *handlers: Handler) -> Router:
    return Router(
        relevant=lambda m: m.mentioned or not m.is_group or may_be_request(m.text),
        handlers=[HelpHandler(renderer, settings.bot.name), *handlers],
        middleware=[
            CatchErrors(lambda: APOLOGY),
            ignore_self,
            DropDuplicates(),
            GroupAllowList(settings.chat.allowed_groups),
        ],
    )


def build_sender(settings: Settings, channel: ChatChannel) -> PacedSender:
    """The console has no account to protect, so it is not paced; a real chat account is."""
    push = settings.push
    if channel.name == "console":
        return PacedSender(
            channel.send, rate_per_minute=None, jitter=(0, 0), max_attempts=push.max_send_attempts
        )
    return PacedSender(
        channel.send,
        rate_per_minute=push.rate_per_minute,
        jitter=(push.jitter_min_seconds, push.jitter_max_seconds),
        max_attempts=push.max_send_attempts,
    )


def group_spot(settings: Settings) -> Callable[[Group], Spot]:
    defaults = default_spots(settings)

    def spot(group: Group) -> Spot:
        if group.channels_sharer_appid:
            return Spot("channels", sharer_appid=group.channels_sharer_appid)
        return defaults["channels"]

    return spot


def welcome_hook(renderer: Renderer, bot_name: str) -> JoinHook:
    """Greets new group members with the `welcome` template; when it cannot be rendered, only logs."""

    async def welcome(joined: MemberJoined) -> Reply | None:
        context = {
            "member_name": "、".join(joined.member_names),
            "group_name": joined.chat_name,
            "bot_name": bot_name,
        }
        try:
            text = await renderer.render_async("welcome", context, group=joined.chat_id)
        except Exception as exc:
            log.warning(
                "no welcome in %s: template 'welcome' failed: %s: %s", joined.chat_id, type(exc).__name__, exc
            )
            return None
        return Reply.text(text) if text else None

    return welcome


def build_channel(settings: Settings, renderer: Renderer | None = None) -> ChatChannel:
    if settings.chat.kind == "console":
        console = settings.chat.console
        return ConsoleChannel(
            bot_name=settings.bot.name, room=console.room, member=console.member, owner=console.owner
        )
    if settings.chat.kind == "wechaty":
        wechaty = settings.chat.wechaty
        greet = renderer is not None and wechaty.welcome_on_join
        return WechatyChannel(
            endpoint=wechaty.endpoint,
            token=wechaty.token.get_secret_value(),
            data_dir=settings.bot.data_dir,
            log_level=settings.bot.log_level,
            on_join=welcome_hook(renderer, settings.bot.name) if greet and renderer else None,
        )
    raise NotImplementedError(f"chat kind {settings.chat.kind!r} is not available yet")


@dataclass
class App:
    loaded: LoadedConfig
    channel: ChatChannel | None = None
    engine: Engine | None = field(default=None, init=False)
    leagues: dict[str, League] = field(default_factory=dict)
    push: PushService | None = field(default=None, init=False)
    sender: PacedSender | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    async def run(self) -> None:
        settings = self.settings
        if self.loaded.is_example:
            log.info("no config.toml found: running on the embedded default (%s)", self.loaded.path.name)
        else:
            log.info("config loaded from %s", self.loaded.path)
        self.engine = await asyncio.to_thread(prepare_database, settings)  # migrations: off the loop
        async with AsyncExitStack() as stack:
            if not self.leagues:
                self.leagues = await open_leagues(settings, self.engine, stack)
            await self._serve(stack)

    async def _serve(self, stack: AsyncExitStack) -> None:
        settings = self.settings
        assert self.engine is not None
        notices: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        def send_notice(admin_chat: str, text: str) -> None:
            task = loop.create_task(channel.send(Outgoing(admin_chat, Reply.text(text))))
            notices.add(task)
            task.add_done_callback(notices.discard)

        def tell_operator(text: str) -> None:
            """Template trouble goes to the admin chat when one is configured (and always to the log).
            Called from the render worker threads, hence `call_soon_threadsafe`."""
            log.warning("%s", text)
            if settings.bot.admin_chat:
                loop.call_soon_threadsafe(send_notice, settings.bot.admin_chat, text)

        renderer = build_renderer(settings, tell_operator)
        for league_with_notices in self.leagues.values():  # e.g. the union's spots running out
            set_notice = getattr(league_with_notices, "set_operator_notice", None)
            if set_notice is not None:
                set_notice(tell_operator)
        channel = self.channel = self.channel or build_channel(settings, renderer)
        recorder = RequestRecorder(self.engine)
        stack.push_async_callback(recorder.close)
        links = LinkCache(self.engine, ttl=timedelta(hours=settings.deals.link_ttl_hours))
        spots = GroupSpots(self.engine, default_spots(settings), issuers=spot_issuers(self.leagues))
        sender = self.sender = build_sender(settings, channel)
        sender.start()

        async def late(message: Incoming, reply: Reply) -> None:
            try:
                await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))
            except RuntimeError:  # stopping: the sender takes no more work
                log.info("late answer to %s dropped: stopping", message.chat_id)

        deals = build_deals(settings, renderer, self.engine, self.leagues, recorder, links, spots, late)
        stack.push_async_callback(deals.aclose)
        league = self.leagues.get("channels")
        self.push = PushService(
            settings,
            self.engine,
            league,
            renderer,
            sender,
            links,
            group_spot(settings),
            notify=tell_operator,
        )
        subscribe = SubscribeHandler(
            engine=self.engine,
            renderer=renderer,
            league=league,
            groups=spots,
            operators=settings.bot.operators,
            default_time=settings.push.default_time,
            on_change=self.push.jobs_changed,
            next_runs=self.push.next_runs,
            deadline=settings.deals.answer_deadline_seconds,
        )
        router = build_router(settings, renderer, subscribe, deals)
        misnamed = await asyncio.to_thread(named_not_by_id, self.engine, settings.chat.allowed_groups)
        for name, room_id in misnamed.items():
            log.warning(
                "[chat] allowed_groups lists %r, a group name: only room ids count (this group is %s)",
                name,
                room_id,
            )
        if settings.push.enabled:
            await self.push.start(wait=False)  # members get answers while missed slots catch up
            stack.push_async_callback(self.push.stop)

        async def on_message(message: Incoming) -> None:
            reply = await router(message)
            if reply:
                await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))

        signals = _SignalStop(channel)
        try:
            await channel.run(on_message)
        finally:
            await signals.close()
            # finish the message in flight; queued pushes stay unclaimed for the next start
            await sender.close(drain=False)
            if notices:  # let the operator's notices out before the channel closes
                await asyncio.wait(set(notices), timeout=5)
            await channel.stop()

    async def stop(self) -> None:
        """Stop the channel; `run` then winds down and returns (what SIGINT/SIGTERM do).

        The sender stops first: the message in flight is finished while the channel can still send it,
        and queued pushes stay unclaimed, so the next start sends them."""
        if self.sender is not None:
            await self.sender.close(drain=False)
        if self.channel is not None:
            await self.channel.stop()


class _SignalStop:
    """SIGINT/SIGTERM stop the channel cleanly (it finishes the message in flight) instead of killing it."""

    def __init__(self, channel: ChatChannel) -> None:
        self.channel = channel
        self.loop = asyncio.get_running_loop()
        self.installed: list[signal.Signals] = []
        self.stopping: asyncio.Task[None] | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signals here (Windows): stop the channel yourself
            self.installed.append(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.stopping is None:
            log.info("%s received: stopping", sig.name)
            self.stopping = self.loop.create_task(self.channel.stop())

    async def close(self) -> None:
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)
        if self.stopping is not None:
            await self.stopping
