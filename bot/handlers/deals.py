"""Members ask, the bot answers: product links and 淘口令 become deals, keywords become a short list.

The chat's face over `bot.services.deals` (finding the product, searching and ranking, making the link):
here the answer is timed, rendered and recorded.

Every answer carries a link made for this group's promotion identity (`Spot`), so the group's owner
is credited. Whatever goes wrong, the member hears something friendly: an unsupported platform, an
unknown product or a league in trouble each have their own template — never silence, never a trace.
And they hear it in time: past `answer_deadline_seconds` the member gets "联盟那边有点慢"; the real
answer follows once if it comes within the grace, else it only fills the caches for the next asker.
A keyword search still running after `searching_notice_seconds` first sends one "正在帮你找…".
A keyword that is a product's whole title (pasted from a deal the bot posted) is answered with that
product alone, found without a search when a league showed it lately.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from bot.chat.base import Image, Incoming, LinkCard, MiniProgramCard, Reply, ReplyPart, Text
from bot.config import DealSettings
from bot.handlers.parse import ProductRef, shown_keyword
from bot.handlers.ratelimit import RateLimiter, Verdict
from bot.handlers.request import Request, RequestKind, as_request
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
    QuotaExhausted,
    Spot,
)
from bot.leagues.budget import budget, remaining
from bot.leagues.linkcache import LinkCache
from bot.leagues.metering import metered
from bot.render.engine import Renderer
from bot.render.filters import shorten, yuan
from bot.services.deals import HARD_STOP_MARGIN, DealFinder, SearchCache
from bot.services.platforms import PLATFORM_NAMES
from bot.store.requests import RequestRecord, RequestRecorder

log = logging.getLogger(__name__)

SpotResolver = Callable[[Incoming, str], Awaitable[Spot]]
"""(message, league name) → the promotion identity for the message's group on that league."""
LateSend = Callable[[Incoming, Reply], Coroutine[Any, Any, Any]]
"""Sends an answer that finished after the deadline (the member already has the fallback)."""
KEEP_FETCHING_SECONDS = 20.0
"""After the deadline, a slow answer is fetched at least this much longer, so its products and links
are cached for the next asker even when it is too late to send."""


@dataclass(slots=True)
class _Outcome:
    text: str
    outcome: str
    product_id: str = ""
    card: MiniProgramCard | LinkCard | None = None
    """A card to send after the text (a mini-program card for union products, a link card when
    `[deals] link_card`); the text carries the link anyway, so a channel that cannot send cards just
    leaves it out."""
    image: str = ""
    """The product picture sent before the text (`[deals] with_image`)."""


def mini_program_card(product: Product, link: PromotionLink) -> MiniProgramCard | None:
    """The card that opens the product in its shop's mini program, where the league gave a page path."""
    if not (link.mini_path and link.shop_id):
        return None
    return MiniProgramCard(
        appid=link.shop_id,
        title=product.title,
        page_path=link.mini_path,
        thumb_url=product.image,
        description=product.shop_name,  # the gateway shows it as the mini program's name
    )


def link_card(product: Product, link: PromotionLink) -> LinkCard | None:
    """A card for a link that opens in WeChat's browser: not a 口令, not a mini-program path, and not
    Taobao (WeChat does not open Taobao links; its answer leads with the 淘口令 instead)."""
    url = link.http_short_link
    if not url.startswith(("http://", "https://")) or product.platform == "taobao":
        return None
    coupon = product.best_coupon()
    price = f"券后 ¥{yuan(product.final_price_fen)}" if coupon else f"¥{yuan(product.price_fen)}"
    return LinkCard(
        url=url,
        title=shorten(product.title, 60),
        description=f"{price} · {product.shop_name}" if product.shop_name else price,
        thumbnail_url=web_image(product.image),
    )


def web_image(url: str) -> str:
    """The picture's address when a chat platform can fetch it (http/https), else ''."""
    return url if url.startswith(("http://", "https://")) else ""


class DealsHandler:
    def __init__(
        self,
        *,
        leagues: Mapping[str, League],
        renderer: Renderer,
        links: LinkCache,
        spots: SpotResolver,
        limiter: RateLimiter | None,
        recorder: RequestRecorder,
        settings: DealSettings,
        search_cache: SearchCache | None = None,
        late: LateSend | None = None,
    ) -> None:
        self.finder = DealFinder(leagues=leagues, links=links, settings=settings, search_cache=search_cache)
        self.renderer = renderer
        self.spots = spots
        self.limiter = limiter
        self.recorder = recorder
        self.settings = settings
        self.late = late
        self._late: set[asyncio.Task[Any]] = set()

    takes: frozenset[RequestKind] = frozenset({"link", "keyword"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(
            as_request(message, keyword_needs_mention=self.settings.keyword_needs_mention)
        )

    async def handle(self, request: Request) -> Reply | None:
        message = request.message
        refs = list(request.refs)
        keyword = ""
        if not refs:
            keyword = request.keyword
            if not keyword:
                return None

        # the app counts every reply in the router (`LimitRequests`); a limiter here is for the handler alone
        verdict, wait = (
            self.limiter.check(message.chat_id, message.sender_id) if self.limiter else (Verdict.ALLOW, 0)
        )
        if verdict is Verdict.SILENT:
            return Reply(())
        if verdict is Verdict.WARN:
            text = await self._render(
                message, "rate_limited", {"asker": message.sender_name, "seconds": wait}
            )
            return Reply.text(text, mention_sender=True)

        loop = asyncio.get_running_loop()
        deadline = self.settings.answer_deadline_seconds
        started = loop.time()
        # the member waits the deadline; the work may go on through the grace (to be sent) or a while
        # longer (to fill the caches for the next asker)
        with budget(deadline + max(self.settings.late_answer_grace_seconds, KEEP_FETCHING_SECONDS)):
            work = loop.create_task(self._work(message, refs, keyword))
        notice = self._notice_after(message, keyword)
        try:
            done, _ = await asyncio.wait({work}, timeout=deadline if notice is None else notice)
            if not done and notice is not None:  # still searching: say so once, then wait on
                context = {"keyword": shown_keyword(keyword), "asker": message.sender_name}
                text = await self._render(message, "searching", context)
                self._send_extra(message, Reply.text(text, mention_sender=True))
                done, _ = await asyncio.wait({work}, timeout=max(0.0, started + deadline - loop.time()))
        except asyncio.CancelledError:
            work.cancel()  # the bot is stopping: nobody waits for this answer any more
            raise
        if work in done:
            reply, outcomes, calls = work.result()
            self._record(message, refs, keyword, outcomes, calls)
            return reply
        log.warning(
            "answer to %s in %s not ready after %.1fs: fallback sent",
            message.sender_id,
            message.chat_id,
            deadline,
        )
        self._late.add(work)
        work.add_done_callback(lambda task: self._finish_late(task, message, refs, keyword, started))
        text = await self._render(
            message, "league_busy", {"reason": "slow", "follows": self.late is not None}
        )
        return Reply.text(text, mention_sender=True)

    async def _work(
        self, message: Incoming, refs: list[ProductRef], keyword: str
    ) -> tuple[Reply, list[_Outcome], int]:
        """The answer itself, cut off hard when its budget is spent (even by a league that ignores it)."""
        left = remaining() or 0.0
        async with asyncio.timeout(left + HARD_STOP_MARGIN):
            with metered() as counter:
                if refs:
                    outcomes = await asyncio.gather(
                        *(
                            self._answer_ref(message, ref)
                            for ref in refs[: self.settings.max_links_per_message]
                        )
                    )
                else:
                    outcomes = [await self._answer_keyword(message, keyword)]
        parts: list[ReplyPart] = []
        for o in outcomes:
            if o.image and self.settings.with_image:
                parts.append(Image(url=o.image, name=f"{o.product_id or 'deal'}.jpg"))
            parts.append(Text(o.text, mention_sender=True))
            if o.card is not None:
                parts.append(o.card)
        reply = Reply(tuple(parts))
        return reply, list(outcomes), counter.calls

    def _finish_late(
        self,
        task: asyncio.Task[tuple[Reply, list[_Outcome], int]],
        message: Incoming,
        refs: list[ProductRef],
        keyword: str,
        started: float,
    ) -> None:
        """A slow answer ended: within the grace it follows the fallback once (when it is a real
        answer); after it, its products and links stay in the caches for the next member who asks."""
        self._late.discard(task)
        if task.cancelled() or task.exception() is not None:
            exc = None if task.cancelled() else task.exception()
            log.info(
                "late answer in %s abandoned: %s", message.chat_id, type(exc).__name__ if exc else "stopped"
            )
            self._record(message, refs, keyword, [_Outcome("", "timeout")], 0)
            return
        reply, outcomes, calls = task.result()
        in_grace = (
            asyncio.get_running_loop().time() - started
            <= self.settings.answer_deadline_seconds + self.settings.late_answer_grace_seconds
        )
        useful = any(o.outcome == "ok" for o in outcomes)
        follows = in_grace and useful and self.late is not None
        suffix = "late_sent" if follows else "late_cached"
        self._record(
            message, refs, keyword, [_Outcome(o.text, suffix, o.product_id) for o in outcomes], calls
        )
        if follows:
            self._send_extra(message, reply)

    def _notice_after(self, message: Incoming, keyword: str) -> float | None:
        """Seconds after which a keyword search sends "正在帮你找…", or None for no notice (off, a
        group without `searching_notice_in_groups`, or a deadline that comes first anyway)."""
        s = self.settings
        if not keyword or self.late is None or not 0 < s.searching_notice_seconds < s.answer_deadline_seconds:
            return None
        if message.is_group and not s.searching_notice_in_groups:
            return None
        return s.searching_notice_seconds

    def _send_extra(self, message: Incoming, reply: Reply) -> None:
        """A message besides the handler's reply (the searching notice, a late answer), sent through
        `late` in the background; `settled` and `aclose` see it like a late answer."""
        if self.late is None:
            return
        sending: asyncio.Task[Any] = asyncio.get_running_loop().create_task(self.late(message, reply))
        self._late.add(sending)
        sending.add_done_callback(self._late.discard)

    def _record(
        self, message: Incoming, refs: list[ProductRef], keyword: str, outcomes: list[_Outcome], calls: int
    ) -> None:
        for i, outcome in enumerate(outcomes):
            ref = refs[i] if refs else None
            self.recorder.record(
                RequestRecord(
                    chat_id=message.chat_id,
                    sender_id=message.sender_id,
                    kind=ref.kind if ref else "keyword",
                    query=(ref.url or ref.code or ref.id or "") if ref else keyword,
                    platform=ref.platform if ref else "",
                    product_id=outcome.product_id,
                    league_calls=calls if i == 0 else 0,
                    outcome=outcome.outcome,
                )
            )

    async def settled(self) -> None:
        """Returns once every answer still running past its deadline has ended (sent or cached)."""
        while self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop answers still running after their deadline (at shutdown)."""
        for task in list(self._late):
            task.cancel()
        if self._late:
            await asyncio.gather(*self._late, return_exceptions=True)

    # -- one link or 口令 ----------------------------------------------------------------------

    async def _answer_ref(self, message: Incoming, ref: ProductRef) -> _Outcome:
        platform_name = PLATFORM_NAMES.get(ref.platform, ref.platform)
        league = self.finder.league_for(ref.platform)
        reason = ref.not_product or unpromotable_reason(
            ref.url or "", message.text if ref.platform == "taobao" else ""
        )
        if reason:
            context = {"platform_name": platform_name, "reason": reason}
            return _Outcome(await self._render(message, "not_promotable", context), reason)
        if league is None:
            text = await self._render(message, "platform_unsupported", {"platform_name": platform_name})
            return _Outcome(text, "unsupported")
        try:
            product = await self.finder.product(league, product_id=ref.id, url=ref.url, code=ref.code)
            spot = await self.spots(message, league.name)
            link = await self.finder.link(league, product, spot)
        except NotPromotable as exc:
            if exc.reason == "code_unresolved" and ref.title:
                return await self._answer_keyword(message, ref.title)
            context = {"platform_name": platform_name, "reason": exc.reason}
            return _Outcome(await self._render(message, "not_promotable", context), exc.reason)
        except ProductNotFound:
            if ref.title:  # an expired or foreign 口令 in a share text that quotes the title
                return await self._answer_keyword(message, ref.title)
            context = {"platform_name": platform_name, "url": ref.url or ref.code or ""}
            return _Outcome(await self._render(message, "product_not_found", context), "not_found")
        except LeagueError as exc:
            return await self._league_trouble(message, league, exc)
        context = self._deal_context(product, link)
        context["asker"] = message.sender_name
        text = await self._render(message, "deal", context)
        card = mini_program_card(product, link) or (
            link_card(product, link) if self.settings.link_card else None
        )
        return _Outcome(text, "ok", product.product_id, card, web_image(product.image))

    # -- a keyword -------------------------------------------------------------------------------

    async def _answer_keyword(self, message: Incoming, keyword: str) -> _Outcome:
        if not self.finder.search_leagues:
            return _Outcome(
                await self._render(message, "platform_unsupported", {"platform_name": "商品搜索"}),
                "unsupported",
            )
        titled = await self.finder.titled(keyword)
        if titled is not None:
            answer = await self._show(message, keyword, [titled[1]], {id(titled[1]): titled[0]})
            if isinstance(answer, _Outcome):
                return answer  # else no link for it (off promotion since?): the usual search decides
        searched = await self.finder.search_title(keyword)
        if searched.trouble is not None:
            return await self._league_trouble(message, *searched.trouble)
        answer = await self._show(message, keyword, searched.top, searched.league_of)
        return answer if isinstance(answer, _Outcome) else await self._league_trouble(message, *answer)

    async def _show(
        self,
        message: Incoming,
        keyword: str,
        top: list[Product],
        league_of: Mapping[int, League],
    ) -> _Outcome | tuple[League, LeagueError]:
        """The search answer for `top` (links made for the group's spot), or the first league's
        trouble when not one link could be made."""
        made = await self.finder.links_for(top, league_of, lambda name: self.spots(message, name))
        items = []
        shown: list[tuple[Product, PromotionLink]] = []
        failed: tuple[League, LeagueError] | None = None
        for p, link in zip(top, made, strict=True):
            if isinstance(link, LeagueError):  # e.g. a PDD PID not registered yet: the others still show
                log.warning("no %s link for %s: %s", league_of[id(p)].name, p.product_id, link)
                failed = failed or (league_of[id(p)], link)
            elif isinstance(link, BaseException):
                raise link
            else:
                items.append(self._deal_context(p, link))
                shown.append((p, link))
        if not items and failed is not None:
            return failed
        if failed is not None and isinstance(failed[1], LeagueConfigError):
            log.error("league %s needs the operator: %s", failed[0].name, failed[1])
        # Shown back under the bot's name: never a member's link, never a paragraph.
        context = {"keyword": shown_keyword(keyword), "items": items, "asker": message.sender_name}
        outcome = "ok" if items else "empty"
        # One card at most (the best-placed product that has one): a list of cards would flood a group.
        cards = (mini_program_card(p, link) for p, link in shown)
        return _Outcome(
            await self._render(message, "search_results", context),
            outcome,
            top[0].product_id if top else "",
            next((c for c in cards if c is not None), None),
            web_image(shown[0][0].image) if shown else "",
        )

    # -- shared pieces ---------------------------------------------------------------------------

    @staticmethod
    def _deal_context(product: Product, link: PromotionLink) -> dict[str, Any]:
        return {
            "product": product,
            "platform_name": PLATFORM_NAMES.get(product.platform, product.platform),
            "coupon": product.best_coupon(),
            "link": link,
            "final_price_fen": product.final_price_fen,
        }

    async def _league_trouble(self, message: Incoming, league: League, exc: LeagueError) -> _Outcome:
        if isinstance(exc, LeagueConfigError):
            log.error("league %s needs the operator: %s", league.name, exc)
        elif isinstance(exc, LeagueUnavailable):
            log.warning("league %s unavailable: %s", league.name, exc)
        else:
            log.warning("league %s failed: %s", league.name, exc)
        reason = "quota" if isinstance(exc, QuotaExhausted) else "error"
        context = {"reason": reason, "follows": False}
        return _Outcome(await self._render(message, "league_busy", context), f"league_{reason}")

    async def _render(self, message: Incoming, name: str, context: Mapping[str, Any]) -> str:
        return await self.renderer.render_async(name, context, group=message.chat_id)
