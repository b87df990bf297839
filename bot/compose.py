"""The composition: builds every part once, from the settings. `tuike run` (bot/app.py), every CLI
command and the web console get their parts here, so a part is made one way wherever it is used.

`Composition` holds what is shared (the store, the leagues, the renderer, each group's spots, the link
cache) and makes what is per account (a channel, its paced sender, its push service) or per process
(the deals handler, the owner's and member's commands, order sync, the console's services) from them.

Importing this module stays as cheap as answering 帮助 needs: the leagues, deals, pushes and order sync
are imported inside the functions that build them (bot/app.py imports them in a worker thread first).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, cast

from bot.chat import registry
from bot.chat.base import ChatChannel, ChatUnavailable, JoinHook, MemberJoined, Outgoing, Reply
from bot.chat.gate import gate_sends
from bot.chat.plugin import ChannelContext, ChannelPlugin
from bot.config import Settings
from bot.handlers.help import HelpHandler, Offer
from bot.handlers.ids import IdsHandler
from bot.handlers.links import use_own_hosts
from bot.handlers.parse import may_be_request
from bot.handlers.ratelimit import Limit, LimitRequests, RateLimiter
from bot.handlers.router import (
    BlockedRooms,
    CatchErrors,
    DropDuplicates,
    GroupAllowList,
    GroupGate,
    Handler,
    Router,
    ignore_self,
)
from bot.handlers.smalltalk import SmallTalkHandler
from bot.leagues.registry import LEAGUES, SHARER_LEAGUE, takeout_on
from bot.push.sender import PacedSender
from bot.render import Renderer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.cluster.serving import LeasedChannel
    from bot.forward.pipeline import Pipeline, Route, Tap
    from bot.forward.remake import Remaker
    from bot.handlers.deals import DealsHandler, LateSend
    from bot.handlers.sharer import SharerLookup
    from bot.leagues.base import League
    from bot.leagues.linkcache import LinkCache
    from bot.orders.sync import OrderSync
    from bot.push.jobboard import JobBoard
    from bot.push.service import PushService
    from bot.services.attribution import GroupSpots
    from bot.services.takeout import TakeoutLinks
    from bot.store.requests import RequestRecorder
    from bot.web.services import WebServices

log = logging.getLogger(__name__)

APOLOGY = "哎呀，我这边出了点小问题，请稍后再试一次 🙏"

Notify = Callable[[str], None]
"""Tells the operator about trouble (the admin chat when there is one, and the log)."""


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


def build_renderer(settings: Settings, notify: Notify | None = None) -> Renderer:
    return Renderer(
        settings.templates_dir,
        timezone=settings.bot.timezone,
        max_chars=settings.templates.max_message_chars,
        notify=notify,
    )


def build_link_cache(settings: Settings, engine: Engine | None) -> LinkCache:
    """Links per (league, product, spot), kept `[deals] link_ttl_hours`."""
    from bot.leagues.linkcache import LinkCache

    return LinkCache(engine, ttl=timedelta(hours=settings.deals.link_ttl_hours))


def build_spots(settings: Settings, engine: Engine | None, leagues: dict[str, League]) -> GroupSpots:
    """Each group's identity on each league (its own where the league issues one)."""
    from bot.leagues.setup import default_spots, spot_issuers
    from bot.services.attribution import GroupSpots

    return GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues))


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

    return DealsHandler(
        leagues=leagues,
        renderer=renderer,
        links=links or build_link_cache(settings, engine),
        spots=spots or build_spots(settings, engine, leagues),
        limiter=None,  # every reply is counted in the router: `build_router`
        recorder=recorder,
        settings=settings.deals,
        late=late,
    )


def offer_of(settings: Settings) -> Offer:
    """What the help text tells members and owners about, from what the config turns on."""
    enabled = [plugin for plugin in LEAGUES if plugin.enabled(settings)]
    return Offer(
        platforms=tuple(
            p.short_name
            for p in enabled
            if p.section == "leagues" and p.links and p.converts_links and p.searches
        ),
        takeout=takeout_on(settings),
        shops=any(p.section == "shops" for p in enabled),
        rebate=settings.rebate.enabled,
    )


def build_router(
    settings: Settings,
    renderer: Renderer,
    *handlers: Handler,
    limiter: RateLimiter | None = None,
    engine: Engine | None = None,
    blocked: BlockedRooms | None = None,
    gate: GroupGate | None = None,
) -> Router:
    """The groups the operator blocked are read by `blocked`, else from `engine` (neither: none is);
    `gate`: the process's one `GroupGate` (its sends pass it too), else one made here."""
    deals = settings.deals
    use_own_hosts(settings)
    if gate is None and blocked is None and engine is not None:
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
            HelpHandler(renderer, settings.bot.name, offer_of(settings)),
            IdsHandler(renderer, settings.bot.operators),
            *handlers,
            SmallTalkHandler(renderer),
        ],
        middleware=[
            CatchErrors(lambda: APOLOGY),
            ignore_self,
            DropDuplicates(),
            GroupAllowList(gate or GroupGate(settings.chat.allowed_groups, blocked)),
            LimitRequests(
                limiter,
                renderer,
                keyword_needs_mention=deals.keyword_needs_mention,
                operators=settings.bot.operators,
            ),
        ],
    )


def build_sender(
    settings: Settings, channel: ChatChannel, may_send: Callable[[], bool] | None = None
) -> PacedSender:
    """A channel without an account to protect (the console) is not paced; a real chat account is.
    `may_send`: on a cluster replica, whether it holds the account's lease now (asked before each send)."""
    push = settings.push
    if not registry.capabilities_of(channel).paced:
        return PacedSender(
            channel.send,
            rate_per_minute=None,
            jitter=(0, 0),
            max_attempts=push.max_send_attempts,
            may_send=may_send,
        )
    return PacedSender(
        channel.send,
        rate_per_minute=push.rate_per_minute,
        jitter=(push.jitter_min_seconds, push.jitter_max_seconds),
        max_attempts=push.max_send_attempts,
        push_share=push.push_share,
        may_send=may_send,
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


def paced_welcome(welcome: JoinHook, sender: PacedSender) -> JoinHook:
    """A join hook that sends the welcome through the account's paced sender (and so returns None)."""

    async def greet(joined: MemberJoined) -> Reply | None:
        reply = await welcome(joined)
        if reply:
            await sender.reply(Outgoing(joined.chat_id, reply))
        return None

    return greet


def replica_id(settings: Settings) -> str:
    """This replica's id, `[cluster] replica_id`, when the config has that table; '' otherwise (a
    channel that needs one then takes host name + "-" + pid)."""
    cluster = getattr(settings, "cluster", None)
    return str(getattr(cluster, "replica_id", "") or "")


def _channel_context(
    settings: Settings,
    renderer: Renderer | None,
    engine: Engine | None,
    shared: dict[str, Any] | None = None,
) -> ChannelContext:
    return ChannelContext(
        bot_name=settings.bot.name,
        data_dir=settings.bot.data_dir,
        log_level=settings.bot.log_level,
        engine=engine,
        welcome=welcome_hook(renderer, settings.bot.name) if renderer is not None else None,
        may_be_request=may_be_request,  # the router's own test (`build_router`), so both drop the same
        replica_id=replica_id(settings),
        shared={} if shared is None else shared,
    )


def _plugin(kind: str) -> ChannelPlugin:
    if kind not in registry.CHANNELS:
        raise ChatUnavailable(f"chat kind {kind!r} is not available")
    return registry.plugin(kind)


def build_kind(
    settings: Settings,
    renderer: Renderer | None = None,
    *,
    kind: str,
    engine: Engine | None = None,
    shared: dict[str, Any] | None = None,
) -> list[ChatChannel]:
    """One channel of `kind` per chat account its table configures (one, unless a table lists several,
    as `[[chat.gateway.accounts]]`: those share what their factory keeps in the context, such as one
    webhook server). Raises ChatUnavailable when it cannot be built here (e.g. the wechaty extra is
    not installed), with a message that says how to fix it. With a renderer, a channel that greets
    new members itself does. `shared`: what the kind's factory keeps for every channel of it in this
    process (default: a fresh dict, shared by the channels built now)."""
    plugin, context = _plugin(kind), _channel_context(settings, renderer, engine, shared)
    return [plugin.build(table, context) for table in settings.chat.of(kind).per_account()]


def build_channel(
    settings: Settings,
    renderer: Renderer | None = None,
    *,
    kind: str | None = None,
    engine: Engine | None = None,
    account: str | None = None,
    shared: dict[str, Any] | None = None,
) -> ChatChannel:
    """The channel of `kind` (default: the first configured) serving `account` (as the store names it;
    default, or when no account of the kind is that one: its first account)."""
    kind = kind or settings.chat.kinds[0]
    built = build_kind(settings, renderer, kind=kind, engine=engine, shared=shared)
    return next((c for c in built if account and account_of(c) == account), built[0])


def build_channels(
    settings: Settings, renderer: Renderer | None = None, engine: Engine | None = None
) -> list[ChatChannel]:
    """Every configured chat account's channel: each kind's, each of its accounts."""
    return [
        channel
        for kind in settings.chat.kinds
        for channel in build_kind(settings, renderer, kind=kind, engine=engine)
    ]


def account_of(channel: ChatChannel) -> str:
    """The channel's chat account; a channel written before accounts existed is named by its kind."""
    return str(getattr(channel, "account", "") or channel.name)


async def _sends_nothing(_outgoing: Outgoing) -> None:
    raise RuntimeError("a dry run sends nothing")


class Composition:
    """The parts of one process, each built once from the settings on first use.

    `engine` may be None where nothing is stored (a few tests); `leagues` are opened by `open_leagues`
    unless given. The renderer tells the operator about broken templates through `notify`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        *,
        leagues: dict[str, League] | None = None,
        renderer: Renderer | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        use_own_hosts(settings)
        self.leagues: dict[str, League] = leagues if leagues is not None else {}
        self.notify = notify
        if renderer is not None:
            self.renderer = renderer

    async def open_leagues(self, stack: AsyncExitStack) -> dict[str, League]:
        """The enabled leagues (unless given), closed with `stack`; made before `spots` is first read."""
        if not self.leagues:
            from bot.leagues.setup import open_leagues

            self.leagues = await open_leagues(self.settings, self.engine, stack)
        return self.leagues

    @cached_property
    def renderer(self) -> Renderer:
        return build_renderer(self.settings, self.notify)

    @cached_property
    def spots(self) -> GroupSpots:
        return build_spots(self.settings, self.engine, self.leagues)

    @cached_property
    def links(self) -> LinkCache:
        return build_link_cache(self.settings, self.engine)

    @cached_property
    def remaker(self) -> Remaker:
        """线报 forwarding's "what to send": a source message resolved once, remade for each target
        group with the group's own links — the same leagues, link cache and spots a member's pasted
        link gets, so a forward and an answer in one group share links (made after `open_leagues`)."""
        from bot.forward.remake import Remaker

        return Remaker(
            leagues=self.leagues,
            links=self.links,
            spots=self.spots.for_group,
            renderer=self.renderer,
            settings=self.settings.deals,
        )

    @cached_property
    def takeout(self) -> TakeoutLinks:
        """Each group's takeout (外卖红包) links of the day, one league call per group per day: shared by
        the 外卖 answer, the daily 外卖 push and `tuike takeout`."""
        from bot.services.takeout import TakeoutLinks

        return TakeoutLinks(self.leagues, self.spots.for_group, timezone=self.settings.bot.timezone)

    @cached_property
    def _daily_source(self) -> tuple[League | None, Any]:
        from bot.push.service import daily_source

        return daily_source(self.settings, self.leagues, self.spots)

    @cached_property
    def gate(self) -> GroupGate:
        """Which groups the bot may speak in (`[chat] allowed_groups`, the blocked ones): the router and
        every channel's sends ask this one. `tuike run` sets its own (reading the blocked groups before
        the engine is open); elsewhere they are read through the engine."""
        blocked = None
        if self.engine is not None:
            from bot.store.groups import blocked_rooms

            blocked = BlockedRooms(partial(blocked_rooms, self.engine))
        return GroupGate(self.settings.chat.allowed_groups, blocked)

    def gate_sends(self, channel: ChatChannel) -> ChatChannel:
        """`channel` whose every send to a group passes `gate` first (the admin chat is the operator's
        own and always passes): welcomes, notices and broadcasts as well as answers."""
        admin = self.settings.bot.admin_chat
        gate_sends(channel, self.gate.refuses, exempt={admin} if admin else ())
        return channel

    def channel(
        self, kind: str | None = None, *, greet: bool = False, account: str | None = None
    ) -> ChatChannel:
        """The channel of `kind` (default: the first configured) serving `account` (default: its first);
        `greet`: it may welcome new members. Its sends to groups pass the `gate`."""
        kind = kind or self.settings.chat.kinds[0]
        renderer = self.renderer if greet else None
        shared = self._shared.setdefault(kind, {})
        built = build_channel(
            self.settings, renderer, kind=kind, engine=self.engine, account=account, shared=shared
        )
        return self.gate_sends(built)

    @cached_property
    def _shared(self) -> dict[str, dict[str, Any]]:
        """Kind → what its factory keeps for all its channels in this process (the gateway's one
        webhook server): a channel built again later joins the same."""
        return {}

    def channel_makers(self, *, greet: bool = False) -> list[Callable[[], ChatChannel]]:
        """One maker per configured chat account (each kind's, each of its accounts, in config order):
        calling it builds that account's channel afresh, its sends passing the `gate` — e.g. again after
        a cluster replica lost the account and took it back. The channels a kind's makers build share
        what its factory keeps (a rebuilt gateway account rejoins the process's one webhook server)."""
        renderer = self.renderer if greet else None
        makers: list[Callable[[], ChatChannel]] = []
        for kind in self.settings.chat.kinds:
            plugin = _plugin(kind)
            context = _channel_context(
                self.settings, renderer, self.engine, self._shared.setdefault(kind, {})
            )
            for table in self.settings.chat.of(kind).per_account():
                makers.append(partial(self._make_channel, plugin, table, context))
        return makers

    def _make_channel(self, plugin: ChannelPlugin, table: Any, context: ChannelContext) -> ChatChannel:
        return self.gate_sends(plugin.build(table, context))

    def channels(self, *, greet: bool = False) -> list[ChatChannel]:
        """Every configured account's channel (`channel_makers`), each one's sends passing the `gate`."""
        return [make() for make in self.channel_makers(greet=greet)]

    def sender(self, channel: ChatChannel, may_send: Callable[[], bool] | None = None) -> PacedSender:
        """`may_send`: on a cluster replica, whether it holds the account's lease now."""
        return build_sender(self.settings, channel, may_send)

    def leased_channels(self, held: Callable[[str], bool]) -> list[LeasedChannel]:
        """On a cluster replica: every configured account's channel (greeting new members), run while
        this replica holds the account's lease, every send refused when it does not (bot.cluster)."""
        from bot.cluster.serving import LeasedChannel

        return [
            LeasedChannel(channel, partial(held, account_of(channel)), account_of(channel))
            for channel in self.channels(greet=True)
        ]

    def welcome(self, channel: ChatChannel, sender: PacedSender) -> None:
        """Hand a channel that greets through its account's paced sender its welcome, when it should."""
        kind = registry.kind_of(channel)
        if registry.capabilities(kind).welcome == "paced" and self.settings.chat.of(kind).welcome_on_join:
            channel.on_join = paced_welcome(welcome_hook(self.renderer, self.settings.bot.name), sender)  # type: ignore[attr-defined]

    def router(self, *handlers: Handler, blocked: BlockedRooms | None = None) -> Router:
        gate = None if blocked is not None else self.gate
        return build_router(
            self.settings, self.renderer, *handlers, engine=self.engine, blocked=blocked, gate=gate
        )

    def push_service(
        self,
        sender: PacedSender,
        *,
        account: str | None = None,
        account_now: Callable[[], str] | None = None,
        notify: Notify | None = None,
        clock: Callable[[], datetime] | None = None,
        jobs: JobBoard | None = None,
    ) -> PushService:
        """Daily deals, live reminders and broadcasts for the groups of `account` (every group: None),
        sent through `sender`; its periodic jobs go on `jobs` (the process's one list). `account_now`:
        the account as its channel names it now (a gateway's first login learns its appId)."""
        from bot.push.service import PushService, group_spot

        daily_league, daily_spots = self._daily_source
        timing: dict[str, Any] = {"clock": clock} if clock is not None else {}
        if self.settings.cluster.enabled and account:
            # whichever replica holds the account next recognises what the last holder left half sent
            timing["owner"] = f"cluster:{account}"
        service = PushService(
            self.settings,
            cast("Engine", self.engine),
            self.leagues.get(SHARER_LEAGUE),
            self.renderer,
            sender,
            self.links,
            group_spot(self.settings),
            notify=notify,
            account=account,
            account_now=account_now,
            daily_league=daily_league,
            daily_spots=daily_spots,
            leagues=self.leagues,
            league_spots=self.spots.for_group,
            jobs=jobs,
            **timing,
        )
        if self.takeout.available:  # 订阅 外卖 HH:MM
            from bot.push.takeout import TakeoutPush

            service.takeout = TakeoutPush(service, self.takeout)
        return service

    def dry_sender(self) -> PacedSender:
        """A sender that refuses to send: for composing (dry runs) and for listing jobs."""
        return PacedSender(_sends_nothing, rate_per_minute=None, jitter=(0, 0))

    def composer(self, clock: Callable[[], datetime] | None = None) -> PushService | None:
        """A push service that only composes (its sender refuses to send), as `tuike push daily
        --dry-run` composes; None when no league can supply a push."""
        if not self.leagues:
            return None
        daily_league, _spots = self._daily_source
        if self.leagues.get(SHARER_LEAGUE) is None and daily_league is None:
            return None
        return self.push_service(self.dry_sender(), clock=clock)

    def pushes(
        self,
        channels: list[ChatChannel],
        senders: Mapping[str, PacedSender],
        notify_via: Callable[[ChatChannel], Notify] | None = None,
        jobs: JobBoard | None = None,
    ) -> dict[str, PushService]:
        """Chat account → its push service, for the channels that carry pushes."""
        return {
            account_of(channel): self.push_service(
                senders[account_of(channel)],
                account=account_of(channel),
                account_now=partial(account_of, channel),
                notify=notify_via(channel) if notify_via else None,
                jobs=jobs,
            )
            for channel in channels
            if registry.capabilities_of(channel).can_push
        }

    def deals(self, recorder: RequestRecorder, late: LateSend | None = None) -> DealsHandler:
        return build_deals(
            self.settings, self.renderer, self.engine, self.leagues, recorder, self.links, self.spots, late
        )

    def commands(
        self,
        on_change: Callable[[], None],
        next_runs: Callable[[], dict[tuple[int, str], datetime]],
        refresh_orders: Callable[[float], Awaitable[None]] | None = None,
    ) -> list[Handler]:
        """What owners and members ask beside deals: 订阅, 佣金, 绑定推客, and 返利 (「返利没有开」 when off).
        `on_change` rebuilds the push jobs after a subscription changed; `next_runs` tells when they run."""
        from bot.handlers.money import MoneyHandler
        from bot.handlers.rebate import RebateHandler
        from bot.handlers.sharer import SharerHandler
        from bot.handlers.subscribe import SubscribeHandler

        settings, engine, league = self.settings, cast("Engine", self.engine), self.leagues.get(SHARER_LEAGUE)
        handlers: list[Handler] = [
            SubscribeHandler(
                engine=engine,
                renderer=self.renderer,
                league=league,
                groups=self.spots,
                operators=settings.bot.operators,
                default_time=settings.push.default_time,
                on_change=on_change,
                next_runs=next_runs,
                deadline=settings.deals.answer_deadline_seconds,
                talents=settings.leagues.channels.talents,
                remind_minutes=settings.push.live_remind_minutes,
                forward_enabled=settings.forward.enabled,
                takeout_enabled=takeout_on(settings),
            ),
            MoneyHandler(
                engine=engine,
                renderer=self.renderer,
                groups=self.spots,
                operators=settings.bot.operators,
                timezone=settings.bot.timezone,
                owner_share_percent=settings.rebate.owner_share_percent,
                refresh=refresh_orders,
                deadline=settings.deals.answer_deadline_seconds,
            ),
            SharerHandler(
                engine=engine,
                renderer=self.renderer,
                groups=self.spots,
                league=cast("SharerLookup | None", league if hasattr(league, "sharer_status") else None),
                operators=settings.bot.operators,
                mini_program_appid=settings.leagues.channels.mini_program_appid,
                deadline=settings.deals.answer_deadline_seconds,
            ),
        ]
        shops = {
            p.name: self.leagues[p.name] for p in LEAGUES if p.section == "shops" and p.name in self.leagues
        }
        if shops:  # 店铺: the operator's own shops' highlights with the group's links
            from bot.handlers.own_store import OwnStoreHandler

            handlers.append(
                OwnStoreHandler(
                    shops=shops,
                    links=self.links,
                    renderer=self.renderer,
                    groups=self.spots,
                    operators=settings.bot.operators,
                    per_shop=settings.push.deals_per_push,
                    deadline=settings.deals.answer_deadline_seconds,
                )
            )
        if self.takeout.available:
            from bot.handlers.takeout import TakeoutHandler

            handlers.append(
                TakeoutHandler(
                    links=self.takeout,
                    groups=self.spots,
                    renderer=self.renderer,
                    deadline=settings.deals.answer_deadline_seconds,
                )
            )
        # Rebates on or off, the rebate words get an answer (「返利没有开」 when off), never a product search
        handlers.append(
            RebateHandler(
                engine=engine,
                share_percent=settings.rebate.share_percent,
                renderer=self.renderer,
                enabled=settings.rebate.enabled,
            )
        )
        return handlers

    def order_sync(
        self, after: Callable[[object], Awaitable[None]] | None = None, lookback: timedelta | None = None
    ) -> OrderSync:
        """Order sync over the leagues; `after` runs after each sync (e.g. the paid notices); `lookback`
        instead of `[orders] lookback_days` (an embedded sandbox holds no order older than itself)."""
        from bot.orders.sync import OrderSync

        orders = self.settings.orders
        return OrderSync(
            cast("Engine", self.engine),
            self.leagues,
            overlap=timedelta(minutes=orders.overlap_minutes),
            lookback=lookback or timedelta(days=orders.lookback_days),
            budget=orders.budget_seconds,
            rebate=self.settings.rebate.enabled,
            after=after,
        )

    def paid_notices(
        self, channels: list[ChatChannel], senders: Mapping[str, PacedSender]
    ) -> Callable[[object], Awaitable[None]] | None:
        """After a sync: tell members their bound order is paid (`[rebate] notify_paid`), through the
        account the member bound through; those bound before accounts were recorded, through the first
        account that may write first. None when there are no such notices to send."""
        rebate = self.settings.rebate
        if not (rebate.enabled and rebate.notify_paid):
            return None
        from bot.orders.notice import notify_paid

        def pushing(sender: PacedSender) -> Callable[[str, str], Awaitable[None]]:
            async def send(chat_id: str, text: str) -> None:
                sender.push(Outgoing(chat_id, Reply.text(text)))

            return send

        via = {
            account_of(c): pushing(senders[account_of(c)])
            for c in channels
            if registry.capabilities_of(c).may_write_first
        }
        unrecorded = next(iter(via.values()), None)
        engine, renderer = cast("Engine", self.engine), self.renderer

        async def paid_notices(_synced: object) -> None:
            if unrecorded is not None:
                await notify_paid(engine, unrecorded, renderer, via=via)

        return paid_notices

    def forwarding(self, route: Route) -> Route | Tap:
        """`route` (the router) with 线报 forwarding's intake in front when `[forward] enabled`; the
        pipeline is handed to the tap once built (`forward_pipeline`)."""
        forward = self.settings.forward
        if not forward.enabled or not forward.sources:
            return route
        from bot.forward.pipeline import Tap

        return Tap(route, forward.sources)

    def forward_pipeline(
        self, senders: Mapping[str, PacedSender], clock: Callable[[], datetime] | None = None
    ) -> Pipeline | None:
        """线报 forwarding over the accounts of `senders` (None when `[forward] enabled` is off): the
        remaker's links, the store's log and claims, each account's paced sender (their forward share).
        It claims as `forward@<instance>`, so a restart finds what it left by that prefix and the push
        service's own recovery never touches it."""
        forward = self.settings.forward
        if not forward.enabled or self.engine is None:
            return None
        from bot.forward.pipeline import Pipeline
        from bot.handlers.links import URL_RE, find_product_refs
        from bot.push.service import instance_name

        def worth(text: str) -> bool:  # a link or 口令 the pipeline should look at (chatter is not)
            return bool(URL_RE.search(text)) or bool(find_product_refs(text, limit=3))

        timing: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return Pipeline(
            self.engine,
            forward,
            self.remaker,
            senders,
            timezone=self.settings.bot.timezone,
            owner="forward@" + instance_name(self.settings, "+".join(senders)),
            worth=worth,
            **timing,
        )

    def web_services(
        self,
        *,
        pushes: dict[str, PushService] | None = None,
        orders: OrderSync | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> WebServices:
        """What the console's pages are given: these parts, and the push services when chat is served here."""
        from bot.web.services import WebServices

        timing: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return WebServices(
            self.settings,
            cast("Engine", self.engine),
            self.renderer,
            parts=self,
            leagues=self.leagues,
            pushes=pushes or {},
            orders=orders,
            **timing,
        )
