"""What a target group receives for a 线报 (deal-alert) message: the source text with every link and
口令 replaced by the group's own, or the reason it cannot be forwarded.

A source message is resolved once (`Remaker.prepare`: each link or 口令 becomes an `Item`, a product on
a league) and then remade per target group (`Remaker.for_group`: the group's promotion link for every
item, made for the group's identity on that league — exactly what a member pasting the link in that
group gets — through the link cache, so a repeat costs no league call). The rest of the text is kept
as written (prices, the source's words).

A message is forwarded only when EVERY link in it can be remade: any link (not only product links)
or 口令 the bot cannot convert — an unsupported platform, an item outside the alliance, a 闲鱼 listing,
an expired coupon or 口令, someone else's Channels or union link — drops the whole message with the
reason, so the bot never forwards a link that earns for someone else. A bare domain name ("jd.com")
carries nobody's identity and is kept as written. After the swap the text is read once more: a link
or 口令 that is not one of the group's own drops the message too (a safety net, never the plan).

Each link is resolved within `[deals] answer_deadline_seconds`, a few at a time (`concurrency`); a
league that is slow or down makes the message `transient` (the pipeline retries it later).
Mini-program cards and pictures: the pipeline hands over the text part only.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from bot.config import DealSettings
from bot.handlers.links import URL_RE, ProductRef, find_product_refs
from bot.handlers.unpromotable import unpromotable_reason
from bot.leagues.base import (
    League,
    LeagueConfigError,
    LeagueError,
    LeagueUnavailable,
    NotPromotable,
    Product,
    ProductNotFound,
    PromotionLink,
    Spot,
)
from bot.leagues.budget import budget
from bot.leagues.linkcache import LinkCache
from bot.render import Renderer
from bot.services.deals import HARD_STOP_MARGIN, DealFinder
from bot.services.platforms import PLATFORM_NAMES
from bot.store.models import Group

log = logging.getLogger(__name__)

T = TypeVar("T")

TEMPLATE = "forward"
MAX_TEXT_CHARS = 6000
"""A longer message is an article, not a 线报: dropped (and the link scan stays cheap)."""
MAX_ITEMS = 60
"""Products one message may carry (a digest has a few dozen); more is a flood, dropped."""
CONCURRENCY = 8
"""League calls one message makes at a time, while resolving and while remaking for a group."""
MEMO_SECONDS = 600.0
"""A link or 口令 resolved lately is not looked up again (five sources post the same deal)."""

GroupSpot = Callable[[Group | None, str], Awaitable[Spot]]
"""(group, league name) → the group's promotion identity there (`GroupSpots.for_group`)."""

_TRAILING = ".,;:?!~&#*"
"""Punctuation a link ends before, as `bot.handlers.links` reads links."""
_NN_PREFIX = re.compile(r"\d{1,3}:/[ \u3000]*$")
"""`12:/` before a newer share 口令."""
_BARE_CODE = re.compile(r"[A-Za-z0-9]{8,20}")
_NOT_A_DELIMITER = frozenset("，。,.;；:：、")

REASONS: Mapping[str, str] = {
    "not_alliance": "不在联盟里（没有佣金）",
    "xianyu": "闲鱼二手商品，不能推广",
    "chaoshi": "天猫超市商品，不能推广",
    "code_unresolved": "口令读不出来（过期了或是别人的）",
    "coupon_expired": "优惠券已经结束",
}
"""Why a product cannot be promoted, as the log and the console say it."""


@dataclass(frozen=True)
class Item:
    """One product a source message points at, resolved once."""

    league: str
    """The registry name ("taobao", "jd", "pdd", "union", "channels", "vip", ...)."""
    item_id: str
    source: str
    """The link or 口令 as written in the source text."""

    @property
    def key(self) -> str:
        """The dedupe key: the same product from any source is forwarded once per `dedupe_hours`."""
        return f"{self.league}:{self.item_id}"


@dataclass(frozen=True)
class _Swap:
    """A place in the source text to replace for each group: a link, or a 口令."""

    start: int
    end: int
    item: int
    """Index into `Prepared.items`."""
    form: Literal["url", "code"]
    with_code: bool = False
    """A link whose 口令 rides inside it (`?tk=` of a Taobao share) and stands nowhere else in the
    text: the group's 口令 follows the group's link, so the forward can still be copied into 淘宝."""
    outer_start: int = 0
    outer_end: int = 0
    """A 口令 with its delimiters (and `12:/` prefix): what a link replaces when the group's own link
    has no 口令 of the same shape."""


@dataclass(frozen=True)
class Prepared:
    """A source message, resolved once for all target groups."""

    text: str
    items: tuple[Item, ...]
    reason: str | None = None
    """Why it cannot be forwarded (Chinese, shown in the log); None: it can."""
    transient: bool = False
    """The reason is a league being slow or down: worth retrying later."""
    products: tuple[Product, ...] = field(default=(), compare=False, repr=False)
    """The product of each item (same order), for making each group's links without a lookup."""
    swaps: tuple[_Swap, ...] = field(default=(), compare=False, repr=False)
    """Where each item's links and 口令 sit in `text`."""


@dataclass(frozen=True)
class LinkSwap:
    """One link or 口令 of the source and what replaced it for a group."""

    platform: str
    source: str
    """`from` in `tuike forward test --json`."""
    target: str
    """`to` in `tuike forward test --json`."""


@dataclass(frozen=True)
class Remade:
    """What one target group receives."""

    forward: bool
    reason: str | None
    text: str
    """Rendered through the template `forward`."""
    links: tuple[LinkSwap, ...]
    transient: bool = False


class _Failed(Exception):
    """A link that cannot be remade: the whole message is dropped with `reason`."""

    def __init__(self, reason: str, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def _name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def _short(written: str) -> str:
    return written if len(written) <= 80 else written[:77] + "…"


def _failure(platform: str, written: str, exc: BaseException) -> _Failed:
    """A league's answer about one link, as the log says it."""
    name, shown = _name(platform), _short(written)
    if isinstance(exc, NotPromotable):
        return _Failed(f"{name}商品不能推广（{REASONS.get(exc.reason, exc.reason)}）：{shown}")
    if isinstance(exc, ProductNotFound):
        return _Failed(f"{name}链接转不了（不在联盟里、已失效，或是别人的专属链接）：{shown}")
    if isinstance(exc, LeagueConfigError):
        log.error("league %s needs the operator: %s", platform, exc)
        return _Failed(f"{name}联盟的配置有问题，转不了链接（请运营检查配置）：{shown}")
    if isinstance(exc, LeagueUnavailable | TimeoutError):
        return _Failed(f"{name}联盟暂时没响应，稍后重试：{shown}", transient=True)
    log.warning("league %s failed on %s: %s", platform, shown, exc)
    return _Failed(f"{name}联盟转链出错：{shown}")


class _Memo:
    """Links and 口令 resolved lately → (league, product), kept `seconds`, at most `capacity`."""

    def __init__(self, seconds: float, clock: Callable[[], float], capacity: int = 5000) -> None:
        self.seconds, self.clock, self.capacity = seconds, clock, capacity
        self._items: OrderedDict[tuple[str, ...], tuple[float, str, Product]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> tuple[str, Product] | None:
        hit = self._items.get(key)
        if hit is None or self.clock() - hit[0] >= self.seconds:
            return None
        return hit[1], hit[2]

    def put(self, key: tuple[str, ...], league: str, product: Product) -> None:
        self._items[key] = (self.clock(), league, product)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


def _urls(text: str) -> list[tuple[int, int, str]]:
    """Every link in the text as (start, end, link as written), like `bot.handlers.links` reads them."""
    found = []
    for m in URL_RE.finditer(text):
        url, at = m.group(0).rstrip(_TRAILING), m.start()
        if url.startswith("//"):
            url, at = url[2:], at + 2
        if url:
            found.append((at, at + len(url), url))
    return found


def _bare_domain(url: str) -> bool:
    """ "jd.com", "taobao.com/": a site's name, not a link to anything (nobody's identity in it)."""
    return "://" not in url and url.rstrip("/").count("/") == 0


def _is_delimiter(ch: str) -> bool:
    return unicodedata.category(ch)[:1] in ("S", "P") and ch not in _NOT_A_DELIMITER


def _code_places(text: str, code: str, taken: Sequence[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Where a 口令 stands in the text outside links: (start, end, outer start, outer end)."""
    places = []
    for m in re.finditer(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])", text):
        start, end = m.span()
        if any(a <= start < b for a, b in taken):
            continue  # inside a link (`?tk=`): the link is replaced whole
        outer_start, outer_end = start, end
        if start > 0 and _is_delimiter(text[start - 1]):
            outer_start = start - 1
            prefix = _NN_PREFIX.search(text, max(0, outer_start - 8), outer_start)
            if prefix is not None:
                outer_start = prefix.start()
        if end < len(text) and _is_delimiter(text[end]):
            outer_end = end + 1
        places.append((start, end, outer_start, outer_end))
    return places


def _bare(code: str) -> str:
    """The 口令 itself from the league's copy text (`￥AbCd1234567￥` → `AbCd1234567`), or '' when the
    league's 口令 is not one (a JD share sentence)."""
    inner = code.strip().strip("".join(ch for ch in code if _is_delimiter(ch)))
    return inner if _BARE_CODE.fullmatch(inner) else ""


class Remaker:
    """Resolves source messages and remakes them for target groups.

    `leagues`, `links`, `spots` and `renderer` are the composition's own (`Composition.remaker`), so a
    forwarded link is the very link a member pasting it in that group would get, from the same cache."""

    def __init__(
        self,
        *,
        leagues: Mapping[str, League],
        links: LinkCache,
        spots: GroupSpot,
        renderer: Renderer,
        settings: DealSettings,
        deadline_seconds: float | None = None,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.finder = DealFinder(leagues=leagues, links=links, settings=settings)
        self.spots = spots
        self.renderer = renderer
        self.deadline = deadline_seconds if deadline_seconds is not None else settings.answer_deadline_seconds
        """Seconds each link may take to resolve or remake (the member's answer deadline)."""
        self.concurrency = concurrency
        self._memo = _Memo(MEMO_SECONDS, clock)

    # -- once per source message ------------------------------------------------------------------

    async def prepare(self, text: str) -> Prepared:
        """The message's links and 口令 resolved to products (bounded concurrency, a deadline per link),
        or the reason it cannot be forwarded."""
        if len(text) > MAX_TEXT_CHARS:
            return Prepared(text, (), f"消息太长（{len(text)} 字，超过 {MAX_TEXT_CHARS} 字），不像线报")
        refs = find_product_refs(text, limit=None)
        urls = _urls(text)
        by_url = {ref.url: ref for ref in refs if ref.url}
        for _start, _end, url in urls:
            if url not in by_url and not _bare_domain(url):
                return Prepared(
                    text, (), f"有转不了的链接（不是联盟商品链接，转发会替别人带货）：{_short(url)}"
                )
        if not refs:
            return Prepared(text, (), "没有商品链接或口令")
        if len(refs) > MAX_ITEMS:
            return Prepared(text, (), f"链接太多（{len(refs)} 个，最多 {MAX_ITEMS} 个）")
        for ref in refs:
            failed = self._cannot(text, ref)
            if failed is not None:
                return Prepared(text, (), failed.reason)
        resolved = await self._resolve_all(refs)
        if isinstance(resolved, _Failed):
            return Prepared(text, (), resolved.reason, resolved.transient)
        items = tuple(
            Item(league, product.product_id, ref.url or ref.code or "")
            for ref, (league, product) in zip(refs, resolved, strict=True)
        )
        return Prepared(
            text, items, products=tuple(p for _, p in resolved), swaps=self._swaps(text, refs, urls)
        )

    def _cannot(self, text: str, ref: ProductRef) -> _Failed | None:
        """Why a link cannot be remade, known without asking a league; None when a league must say."""
        written = _short(ref.url or ref.code or "")
        why = ref.not_product or unpromotable_reason(ref.url or "", _paragraph(text, ref.start))
        if why:
            return _Failed(f"{_name(ref.platform)}商品不能推广（{REASONS.get(why, why)}）：{written}")
        if self.finder.league_for(ref.platform) is None:
            return _Failed(f"{_name(ref.platform)}的链接暂不支持转链（没有启用这个联盟）：{written}")
        return None

    async def _resolve_all(self, refs: Sequence[ProductRef]) -> list[tuple[str, Product]] | _Failed:
        """Every ref's product, a few at a time; the first link that cannot be remade stops the rest (a
        league slow or down only once no other link has a lasting reason)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(ref: ProductRef) -> tuple[str, Product]:
            async with gate:
                return await self._resolve(ref)

        return await _all_or_reason([one(ref) for ref in refs])

    async def _resolve(self, ref: ProductRef) -> tuple[str, Product]:
        key = (ref.platform, ref.id or "", ref.url or "", ref.code or "")
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        league = self.finder.league_for(ref.platform)
        assert league is not None  # `_cannot` said so first
        try:
            with budget(self.deadline):
                async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                    product = await self.finder.product(league, product_id=ref.id, url=ref.url, code=ref.code)
        except (LeagueError, TimeoutError) as exc:
            raise _failure(ref.platform, ref.url or ref.code or "", exc) from None
        self._memo.put(key, league.name, product)
        return league.name, product

    @staticmethod
    def _swaps(
        text: str, refs: Sequence[ProductRef], urls: Sequence[tuple[int, int, str]]
    ) -> tuple[_Swap, ...]:
        index = {id(ref): i for i, ref in enumerate(refs)}
        by_url = {ref.url: ref for ref in refs if ref.url}
        taken = [(start, end) for start, end, url in urls if url in by_url]
        swaps: list[_Swap] = []
        alone: set[int] = set()
        for i, ref in enumerate(refs):
            if ref.code:
                for start, end, outer_start, outer_end in _code_places(text, ref.code, taken):
                    swaps.append(_Swap(start, end, i, "code", outer_start=outer_start, outer_end=outer_end))
                    alone.add(i)
        for start, end, url in urls:
            if url in by_url:
                i = index[id(by_url[url])]
                swaps.append(_Swap(start, end, i, "url", with_code=bool(refs[i].code) and i not in alone))
        return tuple(sorted(swaps, key=lambda s: s.start))

    # -- once per target group ---------------------------------------------------------------------

    async def for_group(self, prepared: Prepared, group: Group) -> Remade:
        """The message as `group` receives it: every link and 口令 its own, rendered through the
        template `forward`; or why not (the message's own reason, or a link the group cannot get)."""
        if prepared.reason is not None:
            return Remade(False, prepared.reason, "", (), prepared.transient)
        if len(prepared.products) != len(prepared.items) or not prepared.swaps:
            prepared = await self.prepare(prepared.text)  # made elsewhere (e.g. read back): resolve again
            if prepared.reason is not None:
                return Remade(False, prepared.reason, "", (), prepared.transient)
        made = await self._links(prepared, group)
        if isinstance(made, _Failed):
            return Remade(False, made.reason, "", (), made.transient)
        text, swaps = _apply(prepared, made)
        leftover = _foreign_left(text, swaps)
        if leftover:
            log.error("forward for %s still carried %s after the swap: dropped", group.room_id, leftover)
            return Remade(False, f"转链后还有不是本群的链接或口令：{_short(leftover)}", "", ())
        context = {
            "text": text,
            "group_name": group.name,
            "links": [
                {
                    "platform": s.platform,
                    "platform_name": _name(s.platform),
                    "source": s.source,
                    "target": s.target,
                }
                for s in swaps
            ],
        }
        rendered = await self.renderer.render_async(TEMPLATE, context, group=group.room_id or None)
        return Remade(True, None, rendered, swaps)

    async def _links(self, prepared: Prepared, group: Group) -> list[PromotionLink] | _Failed:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: Item, product: Product) -> PromotionLink:
            async with gate:
                return await self._link(item, product, group)

        return await _all_or_reason(
            [one(item, product) for item, product in zip(prepared.items, prepared.products, strict=True)]
        )

    async def _link(self, item: Item, product: Product, group: Group) -> PromotionLink:
        league = self.finder.leagues.get(item.league)
        if league is None:  # turned off since the message was prepared
            raise _Failed(
                f"{_name(item.league)}的链接暂不支持转链（没有启用这个联盟）：{_short(item.source)}"
            )
        try:
            with budget(self.deadline):
                async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                    spot = await self.spots(group, league.name)
                    return await self.finder.link(league, product, spot)
        except (LeagueError, TimeoutError) as exc:
            raise _failure(league.platform, item.source, exc) from None


async def _all_or_reason(work: Sequence[Awaitable[T]]) -> list[T] | _Failed:
    """Every result in order, or the reason to drop: the first lasting failure cancels what is left;
    a transient one (a league slow or down) lets the rest finish, in case another link has a lasting
    reason (no use retrying a message with a foreign link)."""
    tasks = [asyncio.ensure_future(w) for w in work]
    transient: _Failed | None = None
    try:
        for next_done in asyncio.as_completed(tasks):
            try:
                await next_done
            except _Failed as failed:
                if not failed.transient:
                    return failed
                transient = transient or failed
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if transient is not None:
        return transient
    return [task.result() for task in tasks]


def _paragraph(text: str, at: int) -> str:
    """The paragraph (between blank lines) around offset `at`: what a 闲鱼 or 天猫超市 remark refers to."""
    start = text.rfind("\n\n", 0, at)
    end = text.find("\n\n", at)
    return text[start + 1 if start >= 0 else 0 : end if end >= 0 else len(text)]


def _apply(prepared: Prepared, made: Sequence[PromotionLink]) -> tuple[str, tuple[LinkSwap, ...]]:
    """The text with each link and 口令 replaced by the group's own, and what replaced what."""
    text = prepared.text
    parts: list[str] = []
    swaps: list[LinkSwap] = []
    at = 0
    for swap in prepared.swaps:
        item, link = prepared.items[swap.item], made[swap.item]
        url = link.best_url or link.code
        if swap.form == "url":
            start, end, target = swap.start, swap.end, url
            if swap.with_code and _bare(link.code) and link.best_url:
                target = f"{link.best_url} {link.code}"
        elif _bare(link.code):
            start, end, target = swap.start, swap.end, _bare(link.code)
        else:  # the group's link has no 口令 of this shape: the link stands where the 口令 was
            start, end, target = swap.outer_start, swap.outer_end, url
            if end < len(text) and text[end].isascii() and text[end].isalnum():
                target += " "
        if start < at:
            continue  # overlaps the previous swap (a 口令 right after its own link)
        parts.append(text[at:start])
        parts.append(target)
        swaps.append(LinkSwap(item.league, text[start:end].strip(), target.strip()))
        at = end
    parts.append(text[at:])
    return "".join(parts), tuple(swaps)


def _foreign_left(text: str, swaps: Sequence[LinkSwap]) -> str:
    """A link or 口令 in the remade text that is not one of the group's own ('' when there is none)."""
    ours = {word for s in swaps for word in s.target.split()}
    ours_codes = {code for s in swaps for code in _BARE_CODE.findall(s.target)}
    for _start, _end, url in _urls(text):
        if url not in ours and not _bare_domain(url):
            return url
    for ref in find_product_refs(text, limit=None):
        if ref.url is not None:
            if ref.url not in ours:
                return ref.url
        elif ref.code and ref.code not in ours_codes:
            return ref.code
    return ""
