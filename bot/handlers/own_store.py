"""The owner's 店铺 in a group: the operator's own shops' current highlights (`[shops.*]`), each with this
group's own link (its Youzan salesman, its Shopify campaign and code), from the `own_store` template.

Owner-only (and configured operators), like 佣金: pasting the shop into the group is the owner's call.
A shop that fails or is slow is left out and the template says so (`trouble`); the answer never waits
past the member deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from bot.chat.base import Incoming, Reply
from bot.handlers.owners import owner_refusal
from bot.handlers.request import Request, RequestKind, as_request
from bot.leagues.base import League, LeagueError, SearchQuery
from bot.leagues.budget import budget
from bot.leagues.linkcache import LinkCache
from bot.render.engine import Renderer
from bot.services.attribution import GroupSpots
from bot.store.models import Group

IN_GROUP_ONLY = (
    "「店铺」要在群里说哦：群主在自己的群里发「店铺」，我就把自营店铺的好物连同这个群的专属链接发出来。"
)


class OwnStoreHandler:
    def __init__(
        self,
        *,
        shops: Mapping[str, League],
        links: LinkCache,
        renderer: Renderer,
        groups: GroupSpots,
        operators: Iterable[str] = (),
        per_shop: int = 5,
        deadline: float = 5.0,
    ) -> None:
        self.shops = dict(shops)
        self.links = links
        self.renderer = renderer
        self.groups = groups
        self.operators = frozenset(operators)
        self.per_shop = per_shop
        self.deadline = deadline

    takes: frozenset[RequestKind] = frozenset({"own_store"})

    async def __call__(self, message: Incoming) -> Reply | None:
        return await self.handle(as_request(message))

    async def handle(self, request: Request) -> Reply | None:
        message, command = request.message, request.command
        if command is None or command.kind != "own_store":
            return None
        refused = await owner_refusal(message, self.renderer, self.operators, IN_GROUP_ONLY)
        if refused is not None:
            return refused
        group = await self.groups.group(message)
        items: list[dict[str, Any]] = []
        trouble = False
        with budget(self.deadline):
            for shop in self.shops.values():
                try:
                    items += await self._highlights(shop, group)
                except LeagueError:
                    trouble = True
        context = {
            "group_name": group.name if group else message.chat_name,
            "items": items,
            "trouble": trouble,
        }
        text = await self.renderer.render_async("own_store", context, group=message.chat_id)
        return Reply.text(text, mention_sender=True)

    async def _highlights(self, shop: League, group: Group | None) -> list[dict[str, Any]]:
        """The shop's products on sale (newest first), each linked for the group's spot on it."""
        spot = await self.groups.for_group(group, shop.name)
        items = []
        for product in await shop.search(SearchQuery(limit=self.per_shop)):
            link = await self.links.get_or_create(
                shop.name, product.product_id, spot, partial(shop.promote, product, spot)
            )
            items.append(
                {
                    "product": product,
                    "coupon": product.best_coupon(),
                    "link": link,
                    "final_price_fen": product.final_price_fen,
                }
            )
        return items
