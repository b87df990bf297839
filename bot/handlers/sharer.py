"""The group owner becomes a Channels 推客 (sharer): 「绑定推客 <appid>」, 「推客状态」, 「解绑推客」.

Once the owner's sharer is bound to the operator's organisation, the group's Channels links carry it
(`Group.channels_sharer_appid`, read by `GroupSpots` and the push service; links are cached per spot,
so the next link is a new one) and WeChat pays the owner directly. Until then the group's links carry
the operator's default sharer.

Binding happens in WeChat, not here: the bot asks the league for the sharer's status; a registered
推客 that is not bound yet gets the bind step (a mini-program card to `[leagues.channels]
mini_program_appid` whose page opens `wx.openBusinessView` with the league's bind query string, or the
query string as text when no mini program is configured), and 「推客状态」 asks again, completing the
binding once the league says it is bound. The appid being bound waits in the store (`chat_state`,
account `sharer-pending`, keyed by room id) so a restart does not lose it.

Owner-only (and configured operators), in a group; anyone else gets the same polite refusal as 佣金.
Two groups never share a sharer (orders are told apart by it), nor does a group take the operator's
default one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from sqlalchemy import Engine

from bot.chat.base import Incoming, MiniProgramCard, Reply, Text
from bot.handlers.owners import owner_refusal
from bot.handlers.request import Request, RequestKind, as_request
from bot.leagues.base import LeagueConfigError, LeagueError, QuotaExhausted, SharerStatus
from bot.leagues.budget import budget
from bot.leagues.registry import SHARER_LEAGUE
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.services.deals import HARD_STOP_MARGIN
from bot.store import chat_state
from bot.store.groups import set_sharer
from bot.store.models import Group

log = logging.getLogger(__name__)

SHARER_APPID = re.compile(r"wx[0-9A-Za-z_]{6,32}")
"""What a sharer appid looks like: "wx" then letters, digits or "_" (the real ones are wx + 16 hex)."""
PENDING = "sharer-pending"
"""The `chat_state` account under which a group's binding in progress waits (key: the room id)."""
BIND_PAGE = "pages/sharer/bind"
"""The page of the operator's mini program that opens `wx.openBusinessView` with the query string."""
IN_GROUP_ONLY = (
    "「绑定推客」要在群里说哦：群主在自己的群里发「绑定推客 推客appid」，"
    "这个群的视频号商品链接就带上群主自己的推客身份，佣金由微信直接结给群主。"
)
KINDS = frozenset({"sharer_bind", "sharer_status", "sharer_unbind"})


class SharerLookup(Protocol):
    """The part of the Channels league this handler needs (`ChannelsLeague.sharer_status`)."""

    async def sharer_status(self, sharer_appid: str) -> SharerStatus: ...


@dataclass(frozen=True, slots=True)
class _Said:
    kind: str
    context: dict[str, Any]
    card: MiniProgramCard | None = None


class SharerHandler:
    def __init__(
        self,
        *,
        engine: Engine,
        renderer: Renderer,
        groups: GroupSpots,
        league: SharerLookup | None,
        operators: Iterable[str] = (),
        mini_program_appid: str = "",
        deadline: float = 5.0,
    ) -> None:
        self.engine = engine
        self.renderer = renderer
        self.groups = groups
        self.league = league
        self.operators = frozenset(operators)
        self.mini_program_appid = mini_program_appid
        self.deadline = deadline

    @property
    def default_sharer(self) -> str:
        """The operator's default sharer (what unbound groups' links carry)."""
        spot = self.groups.defaults.get(SHARER_LEAGUE)
        return spot.sharer_appid if spot is not None else ""

    takes: frozenset[RequestKind] = frozenset({"sharer_bind", "sharer_status", "sharer_unbind"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        message, command = request.message, request.command
        if command is None or command.kind not in KINDS:
            return None
        refused = await owner_refusal(message, self.renderer, self.operators, IN_GROUP_ONLY)
        if refused is not None:
            return refused
        group = await self.groups.group(message)
        if group is None or group.id is None:
            return None
        try:
            if command.kind == "sharer_bind":
                said = await self._bind(group, command.arg)
            elif command.kind == "sharer_status":
                said = await self._status(group)
            else:
                said = await self._unbind(group)
        except (LeagueError, TimeoutError) as exc:
            if isinstance(exc, LeagueConfigError):
                log.error("sharer status needs the operator: %s", exc)
            else:
                log.warning("sharer status failed: %s", exc)
            reason = "quota" if isinstance(exc, QuotaExhausted) else "error"
            said = _Said("league_busy", {"reason": reason, "follows": False})
        text = await self.renderer.render_async(said.kind, said.context, group=message.chat_id)
        parts: list[Text | MiniProgramCard] = [Text(text, mention_sender=True)]
        if said.card is not None:
            parts.append(said.card)
        return Reply(tuple(parts))

    # -- the commands ------------------------------------------------------------------------------

    async def _bind(self, group: Group, appid: str) -> _Said:
        if not appid:
            return _bind_said("usage")
        if not SHARER_APPID.fullmatch(appid):
            return _bind_said("bad_appid", appid)
        if appid == self.default_sharer:
            return _bind_said("is_default", appid)
        if appid == group.channels_sharer_appid:
            return _bind_said("already", appid)
        if self.league is None:
            return _bind_said("unavailable", appid)
        status = await self._ask(appid)
        if status.bound:
            return await self._take(group, status, "sharer_bind")
        await asyncio.to_thread(chat_state.put, self.engine, PENDING, group.room_id, appid)
        return self._next_step("sharer_bind", status, group)

    async def _status(self, group: Group) -> _Said:
        pending = await asyncio.to_thread(chat_state.get, self.engine, PENDING, group.room_id)
        if pending and self.league is not None:
            status = await self._ask(pending)
            if status.bound:
                return await self._take(group, status, "sharer_status")
            return self._next_step("sharer_status", status, group)
        own = group.channels_sharer_appid
        if not own:
            return _status_said("default")
        if self.league is None:
            return _status_said("own", own)
        status = await self._ask(own)
        return _status_said("own" if status.bound else "own_unbound", own, status.nickname, status.bound_at)

    async def _unbind(self, group: Group) -> _Said:
        assert group.id is not None
        await asyncio.to_thread(chat_state.forget, self.engine, PENDING, group.room_id)
        own = group.channels_sharer_appid
        if not own:
            return _Said("sharer_unbind", {"outcome": "default", "sharer_appid": ""})
        await asyncio.to_thread(set_sharer, self.engine, group.id, "")
        self.groups.forget(group.room_id)
        return _Said("sharer_unbind", {"outcome": "unbound", "sharer_appid": own})

    # -- helpers -----------------------------------------------------------------------------------

    async def _ask(self, appid: str) -> SharerStatus:
        assert self.league is not None
        with budget(self.deadline):
            async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                return await self.league.sharer_status(appid)

    async def _take(self, group: Group, status: SharerStatus, kind: str) -> _Said:
        """The league says the sharer is bound: it becomes the group's (unless another group has it)."""
        assert group.id is not None
        appid = status.sharer_appid
        done = await asyncio.to_thread(set_sharer, self.engine, group.id, appid)
        await asyncio.to_thread(chat_state.forget, self.engine, PENDING, group.room_id)
        self.groups.forget(group.room_id)
        outcome = "taken" if done.outcome == "taken" else "bound"
        if kind == "sharer_bind":
            return _bind_said(outcome, appid, status.nickname)
        return _status_said("now_bound" if outcome == "bound" else "taken", appid, status.nickname)

    def _next_step(self, kind: str, status: SharerStatus, group: Group) -> _Said:
        """Not bound yet: register first (0, 1, 3) or bind (registered); a card when there is a mini program."""
        register = status.register_status != 2
        query = status.register_query_string if register else status.bind_query_string
        business = status.register_business_type if register else status.bind_business_type
        card = None
        if self.mini_program_appid and query:
            path = f"{BIND_PAGE}?business_type={quote(business, safe='')}&query={quote(query, safe='')}"
            title = "注册推客" if register else "绑定推客"
            card = MiniProgramCard(
                appid=self.mini_program_appid,
                title=f"点这里{title}，完成后回群发「推客状态」",
                page_path=path,
            )
        if card is None and query and not register:
            log.warning(
                "sharer %s: the bind needs a mini program; set [leagues.channels] mini_program_appid "
                "(its page %s calls wx.openBusinessView) and the owner gets a card to confirm it",
                status.sharer_appid,
                BIND_PAGE,
            )
        context: dict[str, Any] = {
            "outcome": "register" if register else "pending",
            "sharer_appid": status.sharer_appid,
            "nickname": "",
            "register_status": status.register_status,
            "query": "" if card is not None else query,
            "card": card is not None,
            "current_appid": group.channels_sharer_appid,
        }
        if kind == "sharer_status":
            context["bound_at"] = None
        return _Said(kind, context, card)


def _bind_said(outcome: str, appid: str = "", nickname: str = "") -> _Said:
    return _Said(
        "sharer_bind",
        {
            "outcome": outcome,
            "sharer_appid": appid,
            "nickname": nickname,
            "register_status": 0,
            "query": "",
            "card": False,
            "current_appid": "",
        },
    )


def _status_said(
    outcome: str, appid: str = "", nickname: str = "", bound_at: datetime | None = None
) -> _Said:
    return _Said(
        "sharer_status",
        {
            "outcome": outcome,
            "sharer_appid": appid,
            "nickname": nickname,
            "bound_at": bound_at,
            "register_status": 0,
            "query": "",
            "card": False,
            "current_appid": "",
        },
    )
