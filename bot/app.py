"""The composition root: reads the settings, builds every part, and runs the channels.

One `tuike run` may serve several chat channels at once (`[chat] kind = ["gateway", "ilink"]`): they
share the leagues, the store, the templates and the router, and each has its own paced sender (pacing
is per account) and, where the platform allows pushes, its own push service that pushes only the
groups its account serves.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from bot import redact
from bot.chat.base import (
    ChatChannel,
    ChatUnavailable,
    Incoming,
    JoinHook,
    ListsGroups,
    MemberJoined,
    MessageHandler,
    Outgoing,
    Reply,
)
from bot.chat.console import ConsoleChannel
from bot.config import LoadedConfig, Settings, sandbox_in_real_chat
from bot.handlers.help import HelpHandler
from bot.handlers.ids import IdsHandler
from bot.handlers.parse import may_be_request
from bot.handlers.ratelimit import Limit, LimitRequests, RateLimiter
from bot.handlers.router import (
    BlockedRooms,
    CatchErrors,
    DropDuplicates,
    GroupAllowList,
    Handler,
    Router,
    ignore_self,
)
from bot.handlers.router import Deferred as _Serving
from bot.handlers.smalltalk import SmallTalkHandler
from bot.push.sender import PacedSender
from bot.render import Renderer
from bot.store import peek

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.handlers.deals import DealsHandler, LateSend
    from bot.handlers.sharer import SharerLookup
    from bot.leagues.base import League
    from bot.leagues.linkcache import LinkCache
    from bot.orders.sync import OrderSync
    from bot.push.service import PushService
    from bot.services.attribution import GroupSpots
    from bot.store.requests import RequestRecorder

SERVING_MODULES = (
    "bot.leagues.setup",
    "bot.leagues.linkcache",
    "bot.handlers.deals",
    "bot.handlers.money",
    "bot.handlers.rebate",
    "bot.handlers.sharer",
    "bot.services.attribution",
    "bot.handlers.subscribe",
    "bot.orders.notice",
    "bot.orders.sync",
    "bot.push.service",
    "bot.store.requests",
)
"""What the bot needs beyond answering 帮助 (the leagues and their HTTP client, deals, pushes and their
scheduler, order sync): imported in a worker thread while the console already answers (`App._serve`)."""


def _import_serving_modules() -> None:
    for name in SERVING_MODULES:
        importlib.import_module(name)


log = logging.getLogger(__name__)

APOLOGY = "哎呀，我这边出了点小问题，请稍后再试一次 🙏"

PUSHLESS_CHANNELS = ("ilink",)
"""Channels that never carry pushes: iLink may only answer a member who just wrote."""


class StartRefused(Exception):
    """The bot will not start with this setup; the text (one line) says why and what to change."""


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.bot.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    redact.register(*redact.secret_values(settings))
    redact.install()


def prepare_database(settings: Settings) -> Engine:
    """Open the database; an SQLite file is upgraded in place (PostgreSQL needs `tuike db upgrade`)."""
    from bot.store import db

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
        settings.templates_dir,
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
    from bot.handlers.deals import DealsHandler
    from bot.leagues.linkcache import LinkCache
    from bot.leagues.setup import default_spots, spot_issuers
    from bot.services.attribution import GroupSpots

    deals = settings.deals
    return DealsHandler(
        leagues=leagues,
        renderer=renderer,
        links=links or LinkCache(engine, ttl=timedelta(hours=deals.link_ttl_hours)),
        spots=spots or GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues)),
        limiter=None,  # every reply is counted in the router: `build_router`
        recorder=recorder,
        settings=deals,
        late=late,
    )


def build_router(
    settings: Settings,
    renderer: Renderer,
    *handlers: Handler,
    limiter: RateLimiter | None = None,
    engine: Engine | None = None,
    blocked: BlockedRooms | None = None,
) -> Router:
    """The groups the operator blocked are read by `blocked`, else from `engine` (neither: none is)."""
    deals = settings.deals
    if blocked is None and engine is not None:
        from bot.store.groups import blocked_rooms

        blocked = BlockedRooms(partial(blocked_rooms, engine))
    limiter = limiter or RateLimiter(
        Limit(deals.member_requests, deals.member_window_seconds),
        Limit(deals.group_requests, deals.group_window_seconds),
    )
    return Router(
        relevant=lambda m: m.mentioned or not m.is_group or may_be_request(m.text),
        keyword_needs_mention=deals.keyword_needs_mention,
        handlers=[
            HelpHandler(renderer, settings.bot.name),
            IdsHandler(renderer, settings.bot.operators),
            *handlers,
            SmallTalkHandler(renderer),
        ],
        middleware=[
            CatchErrors(lambda: APOLOGY),
            ignore_self,
            DropDuplicates(),
            GroupAllowList(settings.chat.allowed_groups, blocked),
            LimitRequests(
                limiter,
                renderer,
                keyword_needs_mention=deals.keyword_needs_mention,
                operators=settings.bot.operators,
            ),
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
        push_share=push.push_share,
    )


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


def build_channel(
    settings: Settings,
    renderer: Renderer | None = None,
    *,
    kind: str | None = None,
    engine: Engine | None = None,
) -> ChatChannel:
    """The channel of `kind` (default: the first configured). Raises ChatUnavailable when it cannot be
    built here (e.g. the wechaty extra is not installed), with a message that says how to fix it."""
    kind = kind or settings.chat.kinds[0]
    if kind == "console":
        console = settings.chat.console
        return ConsoleChannel(
            bot_name=settings.bot.name, room=console.room, member=console.member, owner=console.owner
        )
    if kind == "wechaty":
        from bot.chat.wechaty import WechatyChannel  # the legacy extra: imported only when chosen

        wechaty = settings.chat.wechaty
        greet = renderer is not None and wechaty.welcome_on_join
        return WechatyChannel(
            endpoint=wechaty.endpoint,
            token=wechaty.token.get_secret_value(),
            data_dir=settings.bot.data_dir,
            log_level=settings.bot.log_level,
            on_join=welcome_hook(renderer, settings.bot.name) if greet and renderer else None,
        )
    if kind == "gateway":
        from bot.chat.gateway import GatewayChannel

        gateway = settings.chat.gateway
        return GatewayChannel(
            base_url=gateway.base_url,
            token=gateway.token.get_secret_value(),
            app_id=gateway.app_id,
            listen_host=gateway.listen_host,
            listen_port=gateway.listen_port,
            callback_url=gateway.callback_url,
            bot_name=settings.bot.name,
            engine=engine,
            timeout=gateway.timeout_seconds,
            max_body_bytes=gateway.max_body_bytes,
            health_seconds=gateway.health_seconds,
        )
    if kind == "ilink":
        from bot.chat.ilink import IlinkChannel

        ilink = settings.chat.ilink
        return IlinkChannel(
            base_url=ilink.base_url,
            token=ilink.token.get_secret_value(),
            account=ilink.account,
            engine=engine,
            sends_per_user=ilink.sends_per_user,
            timeout=ilink.timeout_seconds,
        )
    raise ChatUnavailable(f"chat kind {kind!r} is not available")


def build_channels(
    settings: Settings, renderer: Renderer | None = None, engine: Engine | None = None
) -> list[ChatChannel]:
    return [build_channel(settings, renderer, kind=kind, engine=engine) for kind in settings.chat.kinds]


@dataclass
class App:
    loaded: LoadedConfig
    channel: ChatChannel | None = None
    """Given: serve this one channel instead of the configured ones. After start: the first channel."""
    engine: Engine | None = field(default=None, init=False)
    leagues: dict[str, League] = field(default_factory=dict)
    push: PushService | None = field(default=None, init=False)
    """The first channel's push service (the only one when one channel is served)."""
    sender: PacedSender | None = field(default=None, init=False)
    """The first channel's sender."""
    channels: list[ChatChannel] = field(default_factory=list, init=False)
    senders: dict[str, PacedSender] = field(default_factory=dict, init=False)
    """Chat account → its paced sender."""
    pushes: dict[str, PushService] = field(default_factory=dict, init=False)
    """Chat account → its push service (channels that carry pushes only)."""
    orders: OrderSync | None = field(default=None, init=False)
    """Order sync over the leagues (scheduled when `[orders] enabled`)."""
    on_ready: Callable[[], None] | None = None
    """Called once everything is built (the console may be answering 帮助 already; a channel logged in to
    a platform starts listening just after)."""
    renderer: Renderer | None = field(default=None, init=False)
    web_url: str = field(default="", init=False)
    """The web console's address once it serves (`[web] enabled`)."""
    web_ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    """Set once the web console serves, or failed to (then `web_url` stays empty)."""
    _store_file: Path | None = field(default=None, init=False)
    """The SQLite file read directly (`bot.store.peek`) while the engine opens in the background."""

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    async def run(self) -> None:
        settings = self.settings
        if self.loaded.is_example:
            log.info("no config.toml found: running on the embedded default (%s)", self.loaded.path.name)
        else:
            log.info("config loaded from %s", self.loaded.path)
        kinds = (self.channel.name,) if self.channel is not None else settings.chat.kinds
        refusal = sandbox_in_real_chat(settings, kinds)
        if refusal:
            raise StartRefused(refusal)
        # Off the loop: migrations, and the file reads of `peek`. Only the console can answer before the
        # engine is open (a platform's channel keeps its state in the store); for it, a file already at the
        # newest schema is opened in the background and the first answers read the blocked list directly.
        self._store_file = None
        if all(kind == "console" for kind in kinds):
            self._store_file = await asyncio.to_thread(peek.at_head, settings.database_url)
        if self._store_file is None:
            self.engine = await asyncio.to_thread(prepare_database, settings)
        async with AsyncExitStack() as stack:
            await self._serve(stack)

    def _read_blocked(self) -> frozenset[str]:
        """The blocked rooms, through the engine once it is open (a worker thread runs this)."""
        if self.engine is None and self._store_file is not None:
            return peek.blocked_rooms(self._store_file)
        from bot.store.groups import blocked_rooms

        assert self.engine is not None
        return blocked_rooms(self.engine)

    async def _serve(self, stack: AsyncExitStack) -> None:
        settings = self.settings
        notices: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        def tell_operator_via(channel: ChatChannel) -> Callable[[str], None]:
            def send_notice(admin_chat: str, text: str) -> None:
                task = loop.create_task(channel.send(Outgoing(admin_chat, Reply.text(text))))
                notices.add(task)
                task.add_done_callback(notices.discard)

            def tell_operator(text: str) -> None:
                """Trouble goes to the admin chat when one is configured (and always to the log).
                Called from the render worker threads too, hence `call_soon_threadsafe`."""
                log.warning("%s", text)
                if settings.bot.admin_chat:
                    loop.call_soon_threadsafe(send_notice, settings.bot.admin_chat, text)

            return tell_operator

        first_channel: list[ChatChannel] = []
        renderer = build_renderer(settings, lambda text: tell_operator_via(first_channel[0])(text))
        if self.channel is not None:
            channels = [self.channel]
        else:
            try:
                channels = build_channels(settings, renderer, self.engine)
            except (ChatUnavailable, ValueError) as exc:
                raise StartRefused(str(exc)) from None
        first_channel.append(channels[0])
        self.channels, self.channel = channels, channels[0]
        for channel in channels:  # the senders first: the console answers while the rest is built
            sender = self.senders[account_of(channel)] = build_sender(settings, channel)
            sender.start()
        self.sender = self.senders[account_of(channels[0])]
        serving = _Serving()
        router = build_router(settings, renderer, serving, blocked=BlockedRooms(self._read_blocked))

        def answer_on(channel: ChatChannel) -> MessageHandler:
            sender = self.senders[account_of(channel)]

            async def on_message(message: Incoming) -> None:
                reply = await router(message)
                if reply:
                    await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))

            return on_message

        runs: dict[asyncio.Task[None], ChatChannel] = {}
        signals: list[_SignalStop] = []

        def start_channels() -> None:
            signals.append(_SignalStop(self.stop_channels))  # from now on SIGINT/SIGTERM stop the channels
            for channel in channels:
                task = asyncio.create_task(
                    channel.run(answer_on(channel)), name=f"channel-{account_of(channel)}"
                )
                runs[task] = channel

        # The console answers 帮助 and 我的ID at once; what needs the leagues waits until they are
        # built below. A channel logged in to a platform starts once everything is built.
        if all(channel.name == "console" for channel in channels):
            start_channels()
        try:
            await self._build(stack, serving, channels, renderer, tell_operator_via)
            if not runs:
                start_channels()
            for channel in channels:  # every group the accounts are in, not only those that asked
                if isinstance(channel, ListsGroups):
                    assert self.engine is not None  # opened by `_build`
                    found = asyncio.create_task(discover_groups(self.engine, channel), name="discover-groups")
                    stack.push_async_callback(_finish, found)
            await self._wait(runs, several=len(channels) > 1)
        finally:
            for task in runs:
                if not task.done():
                    task.cancel()
            for installed in signals:
                await installed.close()
            # finish the message in flight; queued pushes stay unclaimed for the next start
            for sender in self.senders.values():
                await sender.close(drain=False)
            if notices:  # let the operator's notices out before the channels close
                await asyncio.wait(set(notices), timeout=5)
            if runs:
                await self.stop_channels()

    async def _build(
        self,
        stack: AsyncExitStack,
        serving: _Serving,
        channels: list[ChatChannel],
        renderer: Renderer,
        tell_operator_via: Callable[[ChatChannel], Callable[[str], None]],
    ) -> None:
        """Everything beyond 帮助: the leagues, deals, subscriptions, pushes, order sync, the web console."""
        settings = self.settings
        await asyncio.to_thread(_import_serving_modules)  # off the loop, and off the console's first answer
        if self.engine is None:
            self.engine = await asyncio.to_thread(prepare_database, settings)
        from bot.handlers.money import MoneyHandler
        from bot.handlers.rebate import RebateHandler
        from bot.handlers.sharer import SharerHandler
        from bot.handlers.subscribe import SubscribeHandler
        from bot.leagues.linkcache import LinkCache
        from bot.leagues.setup import default_spots, open_leagues, spot_issuers
        from bot.orders.notice import notify_paid
        from bot.orders.sync import OrderSync, sync_every
        from bot.push.service import PushService, daily_source, group_spot
        from bot.services.attribution import GroupSpots
        from bot.store.requests import RequestRecorder

        if not self.leagues:
            self.leagues = await open_leagues(settings, self.engine, stack)
        for league_with_notices in self.leagues.values():  # e.g. the union's spots running out
            set_notice = getattr(league_with_notices, "set_operator_notice", None)
            if set_notice is not None:
                set_notice(tell_operator_via(channels[0]))
        recorder = RequestRecorder(self.engine)
        stack.push_async_callback(recorder.close)
        links = LinkCache(self.engine, ttl=timedelta(hours=settings.deals.link_ttl_hours))
        spots = GroupSpots(self.engine, default_spots(settings), issuers=spot_issuers(self.leagues))

        async def late(message: Incoming, reply: Reply) -> None:
            """An answer that missed the deadline goes out through the sender of the account it came in on."""
            sender = self.senders.get(message.account) or self.senders[account_of(channels[0])]
            try:
                await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))
            except RuntimeError:  # stopping: the sender takes no more work
                log.info("late answer to %s dropped: stopping", message.chat_id)

        deals = build_deals(settings, renderer, self.engine, self.leagues, recorder, links, spots, late)
        stack.push_async_callback(deals.aclose)
        league = self.leagues.get("channels")
        daily_league, daily_spots = daily_source(settings, self.leagues, spots)
        several = len(channels) > 1
        for channel in channels:
            sender = self.senders[account_of(channel)]
            if channel.name in PUSHLESS_CHANNELS:
                continue
            self.pushes[account_of(channel)] = PushService(
                settings,
                self.engine,
                league,
                renderer,
                sender,
                links,
                group_spot(settings),
                notify=tell_operator_via(channel),
                account=account_of(channel),
                daily_league=daily_league,
                daily_spots=daily_spots,
                leagues=self.leagues,
                league_spots=spots.for_group,
            )
            if channel.name == "gateway" and settings.chat.gateway.welcome_on_join:
                channel.on_join = paced_welcome(welcome_hook(renderer, settings.bot.name), sender)  # type: ignore[attr-defined]
        self.push = self.pushes.get(account_of(channels[0]))
        if several:
            log.info("serving %s", ", ".join(account_of(c) for c in channels))

        def jobs_changed() -> None:
            for push in self.pushes.values():
                push.jobs_changed()

        def next_runs() -> dict[tuple[int, str], datetime]:
            runs: dict[tuple[int, str], datetime] = {}
            for push in self.pushes.values():
                runs.update(push.next_runs())
            return runs

        subscribe = SubscribeHandler(
            engine=self.engine,
            renderer=renderer,
            league=league,
            groups=spots,
            operators=settings.bot.operators,
            default_time=settings.push.default_time,
            on_change=jobs_changed,
            next_runs=next_runs,
            deadline=settings.deals.answer_deadline_seconds,
            talents=settings.leagues.channels.talents,
            remind_minutes=settings.push.live_remind_minutes,
        )
        money = MoneyHandler(
            engine=self.engine,
            renderer=renderer,
            groups=spots,
            operators=settings.bot.operators,
            timezone=settings.bot.timezone,
            owner_share_percent=settings.rebate.owner_share_percent,
        )
        sharer = SharerHandler(
            engine=self.engine,
            renderer=renderer,
            groups=spots,
            league=cast("SharerLookup | None", league if hasattr(league, "sharer_status") else None),
            operators=settings.bot.operators,
            mini_program_appid=settings.leagues.channels.mini_program_appid,
            deadline=settings.deals.answer_deadline_seconds,
        )
        handlers: list[Handler] = [subscribe, money, sharer]
        if settings.rebate.enabled:
            handlers.append(
                RebateHandler(
                    engine=self.engine, share_percent=settings.rebate.share_percent, renderer=renderer
                )
            )
        serving.serve([*handlers, deals])
        engine = self.engine

        # paid notices go out through the account the member bound through; those bound before accounts
        # were recorded, through the first account that may write first
        def pushing(sender: PacedSender) -> Callable[[str, str], Awaitable[None]]:
            async def send(chat_id: str, text: str) -> None:
                sender.push(Outgoing(chat_id, Reply.text(text)))

            return send

        via = {
            account_of(c): pushing(self.senders[account_of(c)])
            for c in channels
            if c.name not in PUSHLESS_CHANNELS
        }
        unrecorded = next(iter(via.values()), None)

        async def paid_notices(_synced: object) -> None:
            if unrecorded is not None:
                await notify_paid(engine, unrecorded, renderer, via=via)

        self.orders = OrderSync(
            self.engine,
            self.leagues,
            overlap=timedelta(minutes=settings.orders.overlap_minutes),
            lookback=timedelta(days=settings.orders.lookback_days),
            budget=settings.orders.budget_seconds,
            rebate=settings.rebate.enabled,
            after=paid_notices if settings.rebate.enabled and settings.rebate.notify_paid else None,
        )
        if settings.orders.enabled and self.leagues:
            syncing = asyncio.create_task(
                sync_every(self.orders, settings.orders.sync_minutes * 60), name="orders-sync"
            )

            async def stop_syncing() -> None:
                syncing.cancel()
                await asyncio.gather(syncing, return_exceptions=True)

            stack.push_async_callback(stop_syncing)
        from bot.store.groups import named_not_by_id

        misnamed = await asyncio.to_thread(named_not_by_id, self.engine, settings.chat.allowed_groups)
        for name, room_id in misnamed.items():
            log.warning(
                "[chat] allowed_groups lists %r, a group name: only room ids count (this group is %s)",
                name,
                room_id,
            )
        if settings.push.enabled:
            for push in self.pushes.values():
                await push.start(wait=False)  # members get answers while missed slots catch up
                stack.push_async_callback(push.stop)
        for push in self.pushes.values():  # the console's 群发 go out even when scheduled pushes are off
            await push.start_broadcasts()
            stack.push_async_callback(push.stop_broadcasts)

        self.renderer = renderer
        if settings.web.enabled:
            web = asyncio.create_task(self._serve_web(stack), name="web-console-start")
            stack.push_async_callback(_finish, web)
        if self.on_ready is not None:
            self.on_ready()

    async def _wait(self, runs: dict[asyncio.Task[None], ChatChannel], *, several: bool) -> None:
        """Until one channel ends (console input closed, a fatal error): then the others are stopped."""
        done, _pending = await asyncio.wait(runs, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if several and not task.cancelled() and task.exception() is None:
                log.info("channel %s ended: stopping the others", account_of(runs[task]))
        await self.stop_channels()
        await asyncio.wait(runs)
        for task in runs:
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                if isinstance(error, ChatUnavailable):  # e.g. the webhook port is taken
                    raise StartRefused(f"{account_of(runs[task])}: {error}") from None
                raise error  # type: ignore[misc]

    async def _serve_web(self, stack: AsyncExitStack) -> None:
        """The operator console beside the channels; a taken port costs the console, not the bot.
        Imported in a thread: Starlette and the console's pages stay off the start-up path."""
        assert self.engine is not None and self.renderer is not None
        try:
            server = await asyncio.to_thread(importlib.import_module, "bot.web.server")
            from bot.web.services import WebServices

            services = WebServices(
                self.settings,
                self.engine,
                self.renderer,
                leagues=self.leagues,
                pushes=self.pushes,
                orders=self.orders,
            )
            try:
                console = await server.start_web(services)
            except server.ListenError as exc:
                log.warning("运营后台没有启动 / web console not started: %s; change [web] listen", exc)
                return
            stack.push_async_callback(console.stop)
            self.web_url = console.url
        finally:
            self.web_ready.set()

    async def stop_channels(self) -> None:
        for channel in self.channels or ([self.channel] if self.channel else []):
            await channel.stop()

    async def stop(self) -> None:
        """Stop the channels; `run` then winds down and returns (what SIGINT/SIGTERM do).

        The senders stop first: the message in flight is finished while the channel can still send it,
        and queued pushes stay unclaimed, so the next start sends them."""
        for sender in self.senders.values():
            await sender.close(drain=False)
        await self.stop_channels()


async def _finish(task: asyncio.Task[None]) -> None:
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def discover_groups(engine: Engine, channel: ListsGroups) -> None:
    """Upsert the groups the channel's account is in; a failure is logged, never fatal."""
    from bot.store.groups import ensure_groups

    account = account_of(channel)  # type: ignore[arg-type]
    try:
        found = await channel.list_groups()
        seen = await asyncio.to_thread(ensure_groups, engine, found, account)
    except Exception as exc:
        log.warning("groups of %s not listed: %s: %s", account, type(exc).__name__, exc)
        return
    log.info("%s is in %d group(s)", account, seen)


def account_of(channel: ChatChannel) -> str:
    """The channel's chat account; a channel written before accounts existed is named by its kind."""
    return str(getattr(channel, "account", "") or channel.name)


def paced_welcome(welcome: JoinHook, sender: PacedSender) -> JoinHook:
    """A join hook that sends the welcome through the account's paced sender (and so returns None)."""

    async def greet(joined: MemberJoined) -> Reply | None:
        reply = await welcome(joined)
        if reply:
            await sender.reply(Outgoing(joined.chat_id, reply))
        return None

    return greet


class _SignalStop:
    """SIGINT/SIGTERM stop the channels cleanly (each finishes the message in flight) instead of killing them."""

    def __init__(self, stop: Callable[[], Awaitable[None]]) -> None:
        self.stop = stop
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
            self.stopping = self.loop.create_task(self._stop())

    async def _stop(self) -> None:
        await self.stop()

    async def close(self) -> None:
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)
        if self.stopping is not None:
            await self.stopping
