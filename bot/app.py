"""`tuike run`: starts the channels, the pushes, order sync and the web console around one composition.

The parts are built by bot/compose.py; this module runs them. One `tuike run` may serve several chat
channels at once (`[chat] kind = ["gateway", "ilink"]`): they share the leagues, the store, the
templates and the router, and each has its own paced sender (pacing is per account) and, where the
platform allows pushes, its own push service that pushes only the groups its account serves.

Answer first, build after: the channels' senders and the router for 帮助 come first; the leagues, deals,
pushes and order sync are imported in a worker thread and built by `App._build`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast
from zoneinfo import ZoneInfo

from bot import malloc, redact
from bot.chat import registry
from bot.chat.base import ChatChannel, ChatUnavailable, Incoming, ListsGroups, MessageHandler, Outgoing, Reply
from bot.compose import Composition, Notify, account_of, prepare_database
from bot.config import LoadedConfig, Settings, sandbox_in_real_chat
from bot.handlers.router import (
    BlockedRooms,
    GroupGate,
    Router,
)
from bot.handlers.router import Deferred as _Serving
from bot.push.sender import PacedSender
from bot.render import Renderer
from bot.store import peek

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.cluster.leases import Leases
    from bot.cluster.serving import LeasedChannel
    from bot.forward.pipeline import Pipeline, Route, Tap
    from bot.handlers.deals import LateSend
    from bot.jobs import Jobs
    from bot.leagues.base import League
    from bot.orders.soon import SoonSync
    from bot.orders.sync import OrderSync
    from bot.push.service import PushService

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
    "bot.orders.soon",
    "bot.orders.sync",
    "bot.push.service",
    "bot.jobs.plan",
    "bot.forward.pipeline",
    "bot.store.requests",
)
"""What the bot needs beyond answering 帮助 (the leagues and their HTTP client, deals, pushes and their
scheduler, order sync): imported in a worker thread while the console already answers (`App._serve`)."""


def _import_serving_modules() -> None:
    for name in SERVING_MODULES:
        importlib.import_module(name)


T = TypeVar("T")


async def in_daemon_thread(work: Callable[[], T], name: str) -> T:
    """`work()` in a daemon thread. Unlike `asyncio.to_thread` (the default executor, whose threads the
    interpreter waits for at exit), a bot that stops while the thread still imports or opens the
    store exits at once: the start-up work beyond 帮助 must never keep `printf '帮助\\n' | tuike run`
    alive after its answer."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:  # handed to the awaiting task, as to_thread does
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done


log = logging.getLogger(__name__)


class StartRefused(Exception):
    """The bot will not start with this setup; the text (one line) says why and what to change."""


class ZonedFormatter(logging.Formatter):
    """Log times in the configured zone with its offset (`2026-12-07 20:15:02,114+0800`): the console,
    the CLI and the push ids all show that zone, so the log an operator reads beside them does too."""

    def __init__(self, zone: str, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.zone = ZoneInfo(zone)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, self.zone)
        if datefmt:
            return moment.strftime(datefmt)
        return f"{moment:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d}{moment:%z}"


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(ZonedFormatter(settings.bot.timezone, LOG_FORMAT))
    logging.basicConfig(level=settings.bot.log_level, handlers=[handler])
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    redact.register(*redact.secret_values(settings))
    redact.install()


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
    jobs: Jobs | None = field(default=None, init=False)
    forward: Pipeline | None = field(default=None, init=False)
    """线报 forwarding (`[forward] enabled`): source messages in, forwards out through the senders."""
    _tap: Tap | None = field(default=None, init=False)
    """Forwarding's intake in front of the router, handed the pipeline once it is built."""
    """The process's one job list (`bot.jobs`): pushes, broadcasts, order sync, login health."""
    """Order sync over the leagues (scheduled when `[orders] enabled`)."""
    on_ready: Callable[[], None] | None = None
    forward_clock: Callable[[], datetime] | None = None
    """线报 forwarding's clock (quiet hours, delays): the wall clock unless a test gives one."""
    """Called once everything is built (the console may be answering 帮助 already; a channel logged in to
    a platform starts listening just after)."""
    renderer: Renderer | None = field(default=None, init=False)
    web_url: str = field(default="", init=False)
    """The web console's address once it serves (`[web] enabled`)."""
    web_ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    """Set once the web console serves, or failed to (then `web_url` stays empty)."""
    _store_file: Path | None = field(default=None, init=False)
    """The SQLite file read directly (`bot.store.peek`) while the engine opens in the background."""

    parts: Composition | None = field(default=None, init=False)
    """What this run is built from (bot/compose.py), once `run` has started."""
    _notices: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    """The operator's notices on their way to the admin chat."""
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    """The loop `run` runs on: the renderer's worker threads hand it the operator's notices."""
    cluster: Leases | None = field(default=None, init=False)
    """On a cluster replica (`[cluster] enabled`): the chat accounts' leases; each account's channel
    and pushes run while its lease is held (`_gain`, `_lose`)."""
    _pushing: set[str] = field(default_factory=set, init=False)
    """Cluster: accounts whose push service runs here."""
    _pushes_ready: bool = field(default=False, init=False)
    _fatal: str = field(default="", init=False)
    _clustered: bool | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    async def run(self) -> None:
        settings = self.settings
        malloc.limit_arenas()  # before the worker threads start (bot/malloc.py says why)
        if self.loaded.is_example:
            log.info("no config.toml found: running on the embedded default (%s)", self.loaded.path.name)
        else:
            log.info("config loaded from %s", self.loaded.path)
        kinds = (self.channel.name,) if self.channel is not None else settings.chat.kinds
        clustered = self.clustered  # before `_open_channels` sets `channel`
        refusal = sandbox_in_real_chat(settings, kinds)
        if refusal:
            raise StartRefused(refusal)
        from bot import cluster

        refusal = cluster.refusal(settings) if clustered else ""
        if refusal:
            raise StartRefused(refusal)
        # Off the loop: migrations, and the file reads of `peek`. Only a channel that keeps no state in
        # the store (the console) can answer before the engine is open; for it, a file already at the
        # newest schema is opened in the background and the first answers read the blocked list directly.
        self._store_file = None
        if not clustered and not any(registry.capabilities(kind).needs_store for kind in kinds):
            self._store_file = await asyncio.to_thread(peek.at_head, settings.database_url)
        if self._store_file is None:
            self.engine = await asyncio.to_thread(prepare_database, settings)
        try:
            async with AsyncExitStack() as stack:
                await self._serve(stack)
        finally:
            # the pool's connections closed (a PostgreSQL server counts them); the engine stays usable
            if self.engine is not None:
                await asyncio.to_thread(self.engine.dispose)

    @property
    def clustered(self) -> bool:
        """A replica of a cluster: the configured channels shared with the other replicas by lease
        (decided when `run` starts: a channel given to the app is served alone, as always)."""
        if self._clustered is None:
            self._clustered = self.settings.cluster.enabled and self.channel is None
        return self._clustered

    def _holds(self, account: str) -> bool:
        return self.cluster is not None and self.cluster.held(account)

    def _read_blocked(self) -> frozenset[str]:
        """The blocked rooms, through the engine once it is open (a worker thread runs this)."""
        if self.engine is None and self._store_file is not None:
            return peek.blocked_rooms(self._store_file)
        from bot.store.groups import blocked_rooms

        assert self.engine is not None
        return blocked_rooms(self.engine)

    def _tell_operator_via(self, channel: ChatChannel) -> Notify:
        """Trouble goes to the admin chat through `channel` when one is configured (and always to the
        log). Called from the render worker threads too, hence `call_soon_threadsafe`."""
        loop = self._loop
        assert loop is not None, "called before `run` started"
        admin_chat = self.settings.bot.admin_chat

        def send_notice(text: str) -> None:
            via = channel
            if self.cluster is not None and not self._holds(account_of(channel)):
                # a replica speaks only through the accounts it holds now; with none, the log has it
                held = [c for c in self.channels if self._holds(account_of(c))]
                if not held:
                    return
                via = held[0]
            task = loop.create_task(via.send(Outgoing(admin_chat, Reply.text(text))))
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

        def tell_operator(text: str) -> None:
            log.warning("%s", text)
            if admin_chat:
                loop.call_soon_threadsafe(send_notice, text)

        return tell_operator

    def _open_channels(self, parts: Composition) -> list[ChatChannel]:
        """The given channel, or the configured ones; each gets its paced sender, started at once (the
        console answers while the rest is built)."""
        if self.channel is not None:
            channels = [parts.gate_sends(self.channel)]
        elif self.clustered:
            try:
                channels = list(parts.leased_channels(self._holds))
            except (ChatUnavailable, ValueError) as exc:
                raise StartRefused(str(exc)) from None
        else:
            try:
                channels = parts.channels(greet=True)  # every account of every configured kind
            except (ChatUnavailable, ValueError) as exc:
                raise StartRefused(str(exc)) from None
        self.channels, self.channel = channels, channels[0]
        for channel in channels:
            account = account_of(channel)
            held = partial(self._holds, account) if self.clustered else None
            sender = self.senders[account] = parts.sender(channel, held)
            sender.start()
        self.sender = self.senders[account_of(channels[0])]
        return channels

    def _answer_on(self, channel: ChatChannel, router: Router | Route) -> MessageHandler:
        sender = self.senders[account_of(channel)]

        async def on_message(message: Incoming) -> None:
            reply = await router(message)
            if reply:
                await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))

        return on_message

    async def _serve(self, stack: AsyncExitStack) -> None:
        self._loop = asyncio.get_running_loop()
        parts = self.parts = Composition(
            self.settings,
            self.engine,
            leagues=self.leagues,
            notify=lambda text: self._tell_operator_via(self.channels[0])(text),
        )
        # one gate for what members write and for all the bot sends to groups (welcomes included)
        parts.gate = GroupGate(self.settings.chat.allowed_groups, BlockedRooms(self._read_blocked))
        channels = self._open_channels(parts)
        serving = _Serving()
        router = parts.forwarding(parts.router(serving))
        self._tap = router if hasattr(router, "serve") else None  # type: ignore[assignment]
        runs: dict[asyncio.Task[None], ChatChannel] = {}
        signals: list[_SignalStop] = []

        def start_channels() -> None:
            signals.append(_SignalStop(self.stop_channels))  # from now on SIGINT/SIGTERM stop the channels
            for channel in channels:
                task = asyncio.create_task(
                    channel.run(self._answer_on(channel, router)), name=f"channel-{account_of(channel)}"
                )
                runs[task] = channel

        # The console answers 帮助 and 我的ID at once; what needs the leagues waits until they are
        # built below. A channel logged in to a platform starts once everything is built.
        if self.clustered:
            await self._join_cluster(channels)
        elif not any(registry.capabilities_of(channel).needs_store for channel in channels):
            start_channels()
        try:
            if await self._built_unless_ended(stack, parts, serving, channels, runs):
                if not runs:
                    start_channels()
                self._discover_groups(stack, channels)
            await self._wait(runs, several=len(channels) > 1)
        finally:
            await self._wind_down(runs, signals)
        if self._fatal:
            raise StartRefused(self._fatal)

    async def _built_unless_ended(
        self,
        stack: AsyncExitStack,
        parts: Composition,
        serving: _Serving,
        channels: list[ChatChannel],
        runs: dict[asyncio.Task[None], ChatChannel],
    ) -> bool:
        """`_build`, unless a channel already answering (the console) ends first — its input closed
        after 帮助 — then the build is given up and False returned: the bot stops at once instead of
        finishing what nobody will use."""
        build = asyncio.create_task(self._build(stack, parts, serving, channels), name="app-build")
        if runs:
            await asyncio.wait({build, *runs}, return_when=asyncio.FIRST_COMPLETED)
            if not build.done():
                log.info("channel ended while starting: the rest is not built")
                build.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await build
                return False
        await build
        return True

    async def _wind_down(
        self, runs: dict[asyncio.Task[None], ChatChannel], signals: list[_SignalStop]
    ) -> None:
        for task in runs:
            if not task.done():
                task.cancel()
        for installed in signals:
            await installed.close()
        # finish the message in flight; queued pushes stay unclaimed for the next start
        for sender in self.senders.values():
            await sender.close(drain=False)
        if self._notices:  # let the operator's notices out before the channels close
            await asyncio.wait(set(self._notices), timeout=5)
        if runs:
            await self.stop_channels()
        if self.cluster is not None:  # the leases go last: nothing of ours sends any more
            await self.cluster.stop()

    def _discover_groups(self, stack: AsyncExitStack, channels: list[ChatChannel]) -> None:
        """Every group the accounts are in, not only those that asked (off the start-up path)."""
        for channel in channels:
            if isinstance(channel, ListsGroups):
                assert self.engine is not None  # opened by `_build`
                found = asyncio.create_task(discover_groups(self.engine, channel), name="discover-groups")
                stack.push_async_callback(_finish, found)

    async def _build(
        self, stack: AsyncExitStack, parts: Composition, serving: _Serving, channels: list[ChatChannel]
    ) -> None:
        """Everything beyond 帮助: the leagues, deals, subscriptions, pushes, order sync, the web console."""
        settings = self.settings
        # off the loop, and off the console's first answer; in daemon threads, so an early stop need not wait
        await in_daemon_thread(_import_serving_modules, "import-serving-modules")
        if self.engine is None:  # the store is at the newest schema (`peek.at_head`): only opened here
            self.engine = await in_daemon_thread(lambda: prepare_database(settings), "open-store")
        parts.engine = self.engine
        from bot.jobs import Jobs, plan
        from bot.leagues.capabilities import TellsOperator
        from bot.store.requests import RequestRecorder

        self.leagues = await parts.open_leagues(stack)
        for league in self.leagues.values():  # e.g. the union's spots running out
            if isinstance(league, TellsOperator):
                league.set_operator_notice(self._tell_operator_via(channels[0]))
        recorder = RequestRecorder(self.engine)
        stack.push_async_callback(recorder.close)
        deals = parts.deals(recorder, self._late_sender(channels[0]))
        stack.push_async_callback(deals.aclose)
        self.jobs = Jobs(settings.bot.timezone)
        self.pushes = parts.pushes(channels, self.senders, self._tell_operator_via, jobs=self.jobs)
        for channel in channels:
            parts.welcome(channel, self.senders[account_of(channel)])
        self.push = self.pushes.get(account_of(channels[0]))
        if len(channels) > 1:
            log.info("serving %s", ", ".join(account_of(c) for c in channels))
        soon = self._soon_sync(parts, stack)
        refresh = soon.fresh if soon is not None else None
        serving.serve([*parts.commands(self._jobs_changed, self._next_runs, refresh), deals])
        self.orders = parts.order_sync(
            after=_after_sync(soon, parts.paid_notices(channels, self.senders)),
            lookback=SANDBOX_LOOKBACK if soon is not None else None,
        )
        await self._warn_misnamed_groups()
        await self._start_forwarding(stack, parts)
        # pushes catch up, then every periodic job starts on the one scheduler (`bot.jobs.plan`);
        # on a cluster replica an account's pushes run while its lease is held (`_gain`)
        pushes = {} if self.clustered else self.pushes
        await plan.start(
            self.jobs,
            settings,
            stack,
            pushes=pushes,
            orders=self.orders,
            channels=channels,
            forward=self.forward,
        )
        if self.cluster is not None:
            self._pushes_ready = True
            for account in sorted(self.cluster.serving):
                await self._start_pushes(account)
        self.renderer = parts.renderer
        if settings.web.enabled:
            web = asyncio.create_task(self._serve_web(stack), name="web-console-start")
            stack.push_async_callback(_finish, web)
        if self.on_ready is not None:
            self.on_ready()

    async def _start_forwarding(self, stack: AsyncExitStack, parts: Composition) -> None:
        """线报 forwarding, when on: what a stopped process left is taken back, the worker starts, and
        the intake in front of the router starts taking source messages."""
        self.forward = parts.forward_pipeline(self.senders, self.forward_clock)
        if self.forward is not None:
            await self.forward.start()
            stack.push_async_callback(self.forward.stop)
        if self._tap is not None:
            self._tap.serve(self.forward)

    async def _join_cluster(self, channels: list[ChatChannel]) -> None:
        """Register this replica (refused while a live one has its id) and start the heartbeat; each
        account's channel and pushes start when its lease is gained and stop when it is lost."""
        from bot.cluster.leases import Leases
        from bot.cluster.rows import ReplicaTaken, bound_idle_transactions, lease_engine

        settings = self.settings
        by_account = {account_of(c): c for c in channels}
        engine = lease_engine(settings.database_url, settings.cluster.lease_seconds)
        assert self.engine is not None  # a replica opens the store first (`run`)
        bound_idle_transactions(self.engine, settings.cluster.lease_seconds)

        async def gain(account: str) -> None:
            await cast("LeasedChannel", by_account[account]).gain()
            await self._start_pushes(account)

        async def lose(account: str) -> None:
            await self._stop_pushes(account)
            await cast("LeasedChannel", by_account[account]).lose()

        def fatal(message: str) -> None:
            self._fatal = message
            assert self._loop is not None
            task = self._loop.create_task(self.stop(), name="cluster-replaced")
            self._notices.add(task)
            task.add_done_callback(self._notices.discard)

        leases = Leases(engine, settings.cluster, by_account, on_gain=gain, on_loss=lose, on_fatal=fatal)
        try:
            await leases.start()
        except ReplicaTaken as exc:
            engine.dispose()
            raise StartRefused(str(exc)) from None
        self.cluster = leases

    async def _start_pushes(self, account: str) -> None:
        """Cluster: the account's pushes and broadcasts run here from now on (once everything is built):
        what the last holder left half sent is reported, missed slots catch up, the jobs go on."""
        push = self.pushes.get(account)
        if push is None or not self._pushes_ready or account in self._pushing:
            return
        self._pushing.add(account)
        if self.settings.push.enabled:
            await push.start(schedule=True, wait=False)
        await push.recover()
        push.schedule_broadcasts()

    async def _stop_pushes(self, account: str) -> None:
        push = self.pushes.get(account)
        if push is None or account not in self._pushing:
            return
        self._pushing.discard(account)
        await push.stop()

    def _soon_sync(self, parts: Composition, stack: AsyncExitStack) -> SoonSync | None:
        """In the embedded default (every enabled league a sandbox, order sync on), orders are synced
        soon after a link is issued and before an owner's 佣金 (`bot.orders.soon`): the money loop shows
        in minutes instead of after `[orders] sync_minutes`."""
        from bot.config import sandbox_leagues
        from bot.leagues.setup import enabled_leagues
        from bot.orders.soon import SoonSync

        settings = self.settings
        names = enabled_leagues(settings)
        if not (settings.orders.enabled and names and set(names) <= set(sandbox_leagues(settings))):
            return None

        async def sync() -> object:
            return await self.orders.run() if self.orders is not None else None

        soon = SoonSync(sync)
        parts.links.on_created = soon.link_issued
        stack.push_async_callback(soon.aclose)
        log.info("orders: embedded sandbox — synced soon after each new link and before 佣金")
        return soon

    def _late_sender(self, first: ChatChannel) -> LateSend:
        async def late(message: Incoming, reply: Reply) -> None:
            """An answer that missed the deadline goes out through the sender of the account it came in on."""
            sender = self.senders.get(message.account) or self.senders[account_of(first)]
            try:
                await sender.reply(Outgoing(message.chat_id, reply, reply_to=message))
            except RuntimeError:  # stopping: the sender takes no more work
                log.info("late answer to %s dropped: stopping", message.chat_id)

        return late

    def _jobs_changed(self) -> None:
        for push in self.pushes.values():
            push.jobs_changed()

    def _next_runs(self) -> dict[tuple[int, str], datetime]:
        runs: dict[tuple[int, str], datetime] = {}
        for push in self.pushes.values():
            runs.update(push.next_runs())
        return runs

    async def _warn_misnamed_groups(self) -> None:
        from bot.store.groups import named_not_by_id

        assert self.engine is not None
        misnamed = await asyncio.to_thread(named_not_by_id, self.engine, self.settings.chat.allowed_groups)
        for name, room_id in misnamed.items():
            log.warning(
                "[chat] allowed_groups lists %r, a group name: only room ids count (this group is %s)",
                name,
                room_id,
            )

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
        try:
            server = await in_daemon_thread(lambda: importlib.import_module("bot.web.server"), "import-web")
            assert self.parts is not None
            services = self.parts.web_services(pushes=self.pushes, orders=self.orders)
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
        # named after the wait for the login: a gateway's first login learns its appId meanwhile, and
        # groups stored under the empty one would belong to no account after a restart
        account = account_of(channel)  # type: ignore[arg-type]
        seen = await asyncio.to_thread(ensure_groups, engine, found, account)
    except Exception as exc:
        log.warning("groups of %s not listed: %s: %s", account, type(exc).__name__, exc)
        return
    log.info("%s is in %d group(s)", account, seen)


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


SANDBOX_LOOKBACK = timedelta(hours=1)
"""How far back order sync reads in the embedded default: the sandbox this process started holds only
orders for the links it issued since, so a first sync need not read 62 days of empty windows (a minute)."""


def _after_sync(
    soon: SoonSync | None, notices: Callable[[object], Awaitable[None]] | None
) -> Callable[[object], Awaitable[None]] | None:
    """What runs after every sync (the scheduled one too): the embedded default notes when it ran, and
    the paid notices go out."""
    if soon is None:
        return notices

    async def after(results: object) -> None:
        soon.synced()
        if notices is not None:
            await notices(results)

    return after
