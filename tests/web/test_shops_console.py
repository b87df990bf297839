"""The operator's own shop in the web console: the 联盟 page lists it with its settings (never its
secret) and its "测试凭据" makes a real call to the sandbox's Youzan face; a refused secret is said in
Chinese; its orders, attributed to the group, show on the orders page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine

from bot.config import Settings
from bot.leagues.metering import LEDGER
from bot.leagues.setup import default_spots
from bot.leagues.youzan.build import build_youzan
from bot.leagues.youzan.sandbox_account import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_KDT_ID
from bot.orders.sync import OrderSync
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group
from tests.web.conftest import serve_console
from tuike_sandbox.youzan_face import YouzanFace, item_id, listed


def _settings(tmp_path: Path, sandbox: Any, secret: str) -> Settings:
    return Settings.model_validate(
        {
            "bot": {"data_dir": str(tmp_path / "data")},
            "web": {"enabled": True, "listen": "127.0.0.1:0"},
            "shops": {
                "youzan": {
                    "enabled": True,
                    "sandbox": False,
                    "base_url": f"{sandbox.base_url}/youzan",
                    "client_id": DEFAULT_CLIENT_ID,
                    "client_secret": secret,
                    "kdt_id": DEFAULT_KDT_ID,
                }
            },
        }
    )


async def test_the_shop_on_the_leagues_page_and_its_orders(
    tmp_path: Path, engine: Engine, sandbox: Any
) -> None:
    LEDGER.reset()
    settings = _settings(tmp_path, sandbox, DEFAULT_CLIENT_SECRET)
    league = build_youzan(settings, None, engine)
    face = sandbox.face("/youzan")
    assert isinstance(face, YouzanFace)
    try:
        group = ensure_group(engine, "mom@chatroom", "宝妈好物群")
        spots = GroupSpots(engine, default_spots(settings), issuers={"youzan": league})
        product = await league.product(str(item_id(next(p for p in face.shop if listed(p)))))
        await league.promote(product, await spots.for_group(group, "youzan"))
        face.clock = lambda: datetime.now(UTC).timestamp() + 600
        later = datetime.now(UTC) + timedelta(minutes=20)
        await OrderSync(engine, {"youzan": league}, clock=lambda: later, lookback=timedelta(hours=1)).run()

        serving = serve_console(tmp_path, engine, settings=settings, leagues={"youzan": league})
        console = await anext(serving)
        try:
            client = await console.logged_in()
            page = (await client.get("/leagues")).text
            assert "有赞" in page
            assert 'action="/leagues/youzan/test"' in page and DEFAULT_CLIENT_ID in page
            assert DEFAULT_CLIENT_SECRET not in page
            tested = await client.post("/leagues/youzan/test")
            assert tested.status_code == 303 and "凭据可用" in unquote(tested.headers["location"])
            orders = (await client.get("/orders")).text
            assert "宝妈好物群" in orders and product.title[:8] in orders
        finally:
            await serving.aclose()
    finally:
        await league.aclose()


async def test_a_refused_secret_is_said_and_never_shown(tmp_path: Path, engine: Engine, sandbox: Any) -> None:
    LEDGER.reset()
    settings = _settings(tmp_path, sandbox, "wrong-secret-on-purpose")
    league = build_youzan(settings, None, engine)
    try:
        serving = serve_console(tmp_path, engine, settings=settings, leagues={"youzan": league})
        console = await anext(serving)
        try:
            client = await console.logged_in()
            tested = await client.post("/leagues/youzan/test")
            text = tested.text
            assert "拒绝了凭据" in text and "wrong-secret-on-purpose" not in text
        finally:
            await serving.aclose()
    finally:
        await league.aclose()
