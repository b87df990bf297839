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
carries nobody's identity and is kept as written. After the swap the text is read once more: a source
link or 口令 still in it, or a link that is not the group's own, drops the message too (a safety net,
never the plan).

Each 口令 standing alone is resolved on its own, even when the recogniser paired it with a link beside
it: a 线报 puts one product's 淘口令 right next to another product's JD link, and each must keep its own
product. The dedupe key is the product, "league:item_id" (`Item.key`), whatever link or 口令 named it.

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
_SURROGATE = re.compile("[\ud800-\udfff]")
_NN_PREFIX = re.compile(r"\d{1,3}:/[ \u3000]*$")
"""`12:/` before a newer share 口令."""
_WRAPPED_CODE = re.compile(r"[\W_]*([A-Za-z0-9]{8,20})[\W_]*")
"""A 口令 between signs (`￥AbCd1234567￥`, `(AbCd1234567)`): Chinese words around it do not match."""
_CODE_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8,20}(?![A-Za-z0-9])")
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
    m = _WRAPPED_CODE.fullmatch(code)
    return m.group(1) if m else ""


CODE_FALLBACK: Mapping[str, str] = {"jd": "taobao"}
"""A 口令 the recogniser gave to JD only because the message says 京东 (`￥…￥` is a 淘口令's shape) is
asked of Taobao when JD does not know it."""


@dataclass(frozen=True)
class _Ask:
    """One thing to resolve: a link (with the 口令 a share text carries inside it), or a 口令 standing
    alone — resolved on its own even when the recogniser paired it with a link nearby, since a 线报
    puts one product's 口令 right next to another product's link."""

    ref: ProductRef
    by: Literal["link", "code"]

    @property
    def written(self) -> str:
        return (self.ref.url if self.by == "link" else self.ref.code) or ""


def _asks(
    text: str, refs: Sequence[ProductRef], urls: Sequence[tuple[int, int, str]]
) -> tuple[list[_Ask], tuple[_Swap, ...]]:
    """What to resolve, and where each answer goes in the text (`_Swap.item` indexes the asks)."""
    by_url = {ref.url: ref for ref in refs if ref.url}
    taken = [(start, end) for start, end, url in urls if url in by_url]
    asks: list[_Ask] = []
    swaps: list[_Swap] = []
    link_ask: dict[int, int] = {}
    alone: set[int] = set()
    for ref in refs:
        if ref.url:
            link_ask[id(ref)] = len(asks)
            asks.append(_Ask(ref, "link"))
        places = _code_places(text, ref.code, taken) if ref.code else []
        if places or not ref.url:
            at = len(asks)
            asks.append(_Ask(ref, "code"))
            alone.add(id(ref))
            for start, end, outer_start, outer_end in places:
                swaps.append(_Swap(start, end, at, "code", outer_start=outer_start, outer_end=outer_end))
    for start, end, url in urls:
        linked = by_url.get(url)
        if linked is not None:
            with_code = bool(linked.code) and id(linked) not in alone
            swaps.append(_Swap(start, end, link_ask[id(linked)], "url", with_code=with_code))
    return asks, tuple(sorted(swaps, key=lambda s: s.start))


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
        text = _SURROGATE.sub("", text)  # half an emoji from a broken client: no chat can send it
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
        asks, swaps = _asks(text, refs, urls)
        if len(asks) > MAX_ITEMS:
            return Prepared(text, (), f"链接和口令太多（{len(asks)} 个，最多 {MAX_ITEMS} 个）")
        for ask in asks:
            failed = self._cannot(text, ask)
            if failed is not None:
                return Prepared(text, (), failed.reason)
        resolved = await self._resolve_all(asks)
        if isinstance(resolved, _Failed):
            return Prepared(text, (), resolved.reason, resolved.transient)
        items = tuple(
            Item(league, product.product_id, ask.written)
            for ask, (league, product) in zip(asks, resolved, strict=True)
        )
        return Prepared(text, items, products=tuple(p for _, p in resolved), swaps=swaps)

    def _platforms(self, ask: _Ask) -> list[str]:
        """The platforms to ask, in order: the recogniser's, then — for a 口令 standing alone that it
        gave to JD — Taobao (`￥…￥` reads as JD in a message that says 京东, yet a 淘口令 in a mixed 线报
        often does not say 淘宝). A 口令 belongs to one platform: whoever knows it answers, never a guess."""
        first = [ask.ref.platform]
        if ask.by == "code" and ask.ref.platform in CODE_FALLBACK:
            first.append(CODE_FALLBACK[ask.ref.platform])
        return [p for p in first if self.finder.league_for(p) is not None]

    def _cannot(self, text: str, ask: _Ask) -> _Failed | None:
        """Why a link cannot be remade, known without asking a league; None when a league must say."""
        ref = ask.ref
        written = _short(ask.written)
        why = ref.not_product or unpromotable_reason(ref.url or "", _paragraph(text, ref.start))
        if why:
            return _Failed(f"{_name(ref.platform)}商品不能推广（{REASONS.get(why, why)}）：{written}")
        if not self._platforms(ask):
            return _Failed(f"{_name(ref.platform)}的链接暂不支持转链（没有启用这个联盟）：{written}")
        return None

    async def _resolve_all(self, asks: Sequence[_Ask]) -> list[tuple[str, Product]] | _Failed:
        """Every ask's product, a few at a time; the first link that cannot be remade stops the rest (a
        league slow or down only once no other link has a lasting reason)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(ask: _Ask) -> tuple[str, Product]:
            async with gate:
                return await self._resolve(ask)

        return await _all_or_reason([one(ask) for ask in asks])

    async def _resolve(self, ask: _Ask) -> tuple[str, Product]:
        ref = ask.ref
        if ask.by == "code":
            key: tuple[str, ...] = ("code", ref.code or "")
            product_id, url, code = None, None, ref.code
        else:
            key = (ref.platform, ref.id or "", ref.url or "", ref.code or "")
            product_id, url, code = ref.id, ref.url, ref.code
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        platforms = self._platforms(ask)
        for n, platform in enumerate(platforms):
            league = self.finder.league_for(platform)
            assert league is not None  # `_platforms` lists enabled ones only
            try:
                with budget(self.deadline):
                    async with asyncio.timeout(self.deadline + HARD_STOP_MARGIN):
                        product = await self.finder.product(league, product_id=product_id, url=url, code=code)
            except (LeagueError, TimeoutError) as exc:
                unknown = isinstance(exc, ProductNotFound) and (
                    not isinstance(exc, NotPromotable) or exc.reason == "code_unresolved"
                )
                if unknown and n + 1 < len(platforms):
                    continue  # not this platform's 口令: the next one's?
                raise _failure(ref.platform, ask.written, exc) from None
            self._memo.put(key, league.name, product)
            return league.name, product
        raise AssertionError("no platform to ask")  # pragma: no cover - `_cannot` said so first

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
        leftover = _foreign_left(text, prepared, swaps)
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


def _foreign_left(text: str, prepared: Prepared, swaps: Sequence[LinkSwap]) -> str:
    """A link or 口令 of the source still in the remade text, or a link that is not one of the group's
    own ('' when there is none). Every link and 口令 of the source has its swap by construction (each
    link is a product's or the message was dropped; each 口令 is found wherever it stands): this checks
    the swap, cheaply, for every group."""
    ours = {word for s in swaps for word in s.target.split()}
    urls = [url for _start, _end, url in _urls(text)]
    present = set(urls) | set(_CODE_RUN.findall(text))
    for written in {s.source for s in swaps} | {item.source for item in prepared.items}:
        if written and written not in ours and written in present:
            return written
    for url in urls:
        if url not in ours and not _bare_domain(url):
            return url
    return ""
