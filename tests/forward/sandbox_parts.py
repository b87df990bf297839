"""What the 线报 forwarding tests share: the composition's parts (leagues over real HTTP against the
sandbox, the link cache, each group's spots, the renderer) on a given store, and links or 口令 that
someone else made for the sandbox's products (what a source group carries)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.compose import Composition
from bot.config import Settings, parse_settings
from bot.forward.remake import Remaker
from bot.handlers.links import find_product_refs
from bot.leagues.setup import open_leagues
from bot.store.groups import ensure_group
from bot.store.models import Group
from tuike_sandbox.catalogue import SandboxProduct
from tuike_sandbox.jd_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, JdFace, jd_sku
from tuike_sandbox.pdd_face import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID, PddFace
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE, TopFace

ADZONES = [f"1200000000{n:02d}" for n in range(1, 21)]


def settings_for(base_url: str, data_dir: Path, **deals: Any) -> Settings:
    """Channels, union, Taobao, JD and PDD on the sandbox with the real APIs' settings."""
    return parse_settings(
        {
            "bot": {"data_dir": str(data_dir)},
            "deals": deals,
            "leagues": {
                "channels": {
                    "sandbox": False,
                    "base_url": base_url,
                    "appid": "wx_e2e_org",
                    "secret": "e2e-secret",
                    "sharer_appid": "wx_sharer_demo02",
                    "max_retries": 1,
                },
                "union": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": base_url,
                    "appid": "wx_union_e2e",
                    "secret": "e2e-secret",
                },
                "taobao": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": f"{base_url}/router/rest",
                    "app_key": SANDBOX_APP_KEY,
                    "app_secret": SANDBOX_APP_SECRET,
                    "pid": f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001",
                    "adzones": ADZONES,
                    "max_retries": 1,
                },
                "jd": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": f"{base_url}/routerjson",
                    "app_key": DEFAULT_APP_KEY,
                    "app_secret": DEFAULT_APP_SECRET,
                    "position_id": "3100012345",
                    "max_retries": 1,
                },
                "pdd": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": f"{base_url}/api/router",
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": DEFAULT_CLIENT_SECRET,
                    "pid": DEFAULT_PID,
                    "max_retries": 1,
                },
                "eleme": {"enabled": False},
                "meituan": {"enabled": False},
            },
            "shops": {"youzan": {"enabled": False}},
        }
    )


@dataclass
class Foreign:
    """The sandbox's faces, and links or 口令 someone else made there (what a source group carries)."""

    sandbox: SandboxServer

    # -- the faces and someone else's links -----------------------------------------------------

    @property
    def top(self) -> TopFace:
        face: TopFace = self.sandbox.face("/router/rest")
        return face

    @property
    def jd(self) -> JdFace:
        face: JdFace = self.sandbox.face("/routerjson")
        return face

    @property
    def pdd(self) -> PddFace:
        face: PddFace = self.sandbox.face("/api/router")
        return face

    def taobao_products(self) -> list[SandboxProduct]:
        return [p for p in self.sandbox.state.catalogue.products if self.top.on_sale(p)]

    def jd_products(self) -> list[SandboxProduct]:
        return [
            p for p in self.jd.catalogue.products if self.jd.promotable(p) and self.jd.share_percent(p) > 0
        ]

    def pdd_products(self) -> list[SandboxProduct]:
        return [p for p in self.pdd.catalogue.products if self.pdd.on_jinbao(p)]

    def taobao_share(self, product: SandboxProduct) -> str:
        """Someone else's 淘宝 share text: their short link with their 口令 in `tk=`."""
        return self.top.foreign_share_text(product)

    def taobao_code(self, product: SandboxProduct) -> str:
        """Someone else's bare 淘口令 for the product (the code alone, without ￥)."""
        code = find_product_refs(self.top.foreign_share_text(product))[0].code
        assert code is not None
        return code

    def jd_link(self, product: SandboxProduct) -> str:
        issued = self.jd.issue_link(jd_sku(product.product_id), "another_operator", "777", "4000999999", "")
        return f"https://u.jd.com/{issued.token}"

    def pdd_link(self, product: SandboxProduct) -> str:
        issued = self.pdd.issue_link(product, "10000001_123456789", '{"uid":"stranger"}')
        return f"https://p.pinduoduo.com/{issued.token}"


@dataclass
class Parts(Foreign):
    """The composition's parts on a store, with the sandbox's faces."""

    engine: Engine
    parts: Composition

    @property
    def remaker(self) -> Remaker:
        return self.parts.remaker

    def remaker_with(self, **kw: Any) -> Remaker:
        """A remaker on the same parts with other knobs (a shorter deadline)."""
        p = self.parts
        return Remaker(
            leagues=p.leagues,
            links=p.links,
            spots=p.spots.for_group,
            renderer=p.renderer,
            settings=p.settings.deals,
            **kw,
        )

    async def group(self, room_id: str, name: str = "") -> Group:
        return await asyncio.to_thread(
            ensure_group, self.engine, room_id, name or room_id, "", "console:bot", ""
        )


@asynccontextmanager
async def sandbox_parts(
    sandbox: SandboxServer, engine: Engine, data_dir: Path, **deals: Any
) -> AsyncIterator[Parts]:
    """The composition's parts on `engine`, its leagues on the running sandbox (closed afterwards)."""
    settings = settings_for(sandbox.base_url, data_dir, **deals)
    async with AsyncExitStack() as stack:
        leagues = await open_leagues(settings, engine, stack)
        yield Parts(sandbox, engine, Composition(settings, engine, leagues=leagues))
