"""`tuike sandbox`, `tuike search`, `tuike promote`: the league from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import click

from bot.cli.context import settings_of
from bot.config import Settings
from bot.handlers.parse import find_product_refs
from bot.handlers.ranking import rank_products
from bot.leagues.base import League, LeagueError, Product, SearchQuery, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.sandbox.server import SandboxServer
from bot.leagues.setup import default_spots, open_leagues
from bot.render import yuan
from bot.store import db
from bot.store.groups import find_group


def _row(product: Product, **extra: Any) -> dict[str, Any]:
    coupon = product.best_coupon()
    return {
        "platform": product.platform,
        "id": product.product_id,
        "title": product.title,
        "price_fen": product.price_fen,
        "coupon_fen": coupon.amount_fen if coupon else 0,
        "final_price_fen": product.final_price_fen,
        "commission_fen": product.commission.amount_fen if product.commission else 0,
        "shop": product.shop_name,
        **extra,
    }


@click.command("sandbox")
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0 picks a free one).")
def sandbox(port: int) -> None:
    """Run the sandbox league alone on 127.0.0.1 until Ctrl-C."""

    async def serve() -> None:
        async with SandboxServer(port=port) as server:
            click.echo(
                f"sandbox league on {server.base_url} ({len(server.state.catalogue.products)} products)"
            )
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


LEAGUE_NAMES = ("channels", "union", "taobao", "jd", "pdd")
league_option = click.option(
    "--league",
    "league_name",
    type=click.Choice(LEAGUE_NAMES),
    default="channels",
    show_default=True,
    help="Which league to ask (it must be enabled in the config).",
)


async def _with_league(settings: Settings, work: Any, league_name: str = "channels") -> Any:
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    try:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            if league_name not in leagues:
                click.echo(
                    f"联盟 {league_name} 没有启用 (not enabled: see [leagues.{league_name}] enabled)",
                    err=True,
                )
                sys.exit(2)
            return await work(leagues[league_name], engine, leagues)
    except LeagueError as exc:
        click.echo(f"联盟出错 (league error): {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()


def _id_shape_ok(league: str, product_id: str) -> bool:
    """Channels, union and JD ids are digits; Taobao's may carry letters, PDD's goods_sign too."""
    if league in ("channels", "union", "jd"):
        return product_id.isdigit()
    return bool(product_id) and not any(c.isspace() for c in product_id)


async def _group_spot(
    settings: Settings, engine: Any, leagues: dict[str, League], league: str, group: str
) -> Spot:
    """The spot the group's chat replies use on `league` (made and kept on first use, as in chat)."""
    from bot.app import spot_issuers
    from bot.chat.base import Incoming
    from bot.handlers.spots import GroupSpots

    row = await asyncio.to_thread(find_group, engine, group)
    if row is None:
        click.echo(f"没有这个群：{group}", err=True)
        sys.exit(2)
    spots = GroupSpots(engine, default_spots(settings), issuers=spot_issuers(leagues))
    asking = Incoming("cli", row.room_id, row.name, "cli", "cli", "", sender_is_owner=False)
    return await spots(asking, league)


@click.command("search")
@click.argument("keyword")
@league_option
@click.option("--limit", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def search(ctx: click.Context, keyword: str, league_name: str, limit: int, as_json: bool) -> None:
    """Search the league for KEYWORD and print the products, best deal first."""
    settings = settings_of(ctx)

    async def work(league: League, _engine: Any, _leagues: Any) -> list[Product]:
        return rank_products(await league.search(SearchQuery(keyword=keyword, limit=max(limit * 2, 10))))[
            :limit
        ]

    for p in asyncio.run(_with_league(settings, work, league_name)):
        row = _row(p)
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            coupon = (
                f"券 {yuan(row['coupon_fen'])} 券后 {yuan(row['final_price_fen'])}"
                if row["coupon_fen"]
                else "无券"
            )
            click.echo(
                f"{p.product_id}  {p.title}  {yuan(p.price_fen)}  {coupon}  佣金 {yuan(row['commission_fen'])}"
            )


@click.command("promote")
@click.argument("id_or_link")
@league_option
@click.option("--group", default=None, help="Group name or room id: links credit that group's identity.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def promote(ctx: click.Context, id_or_link: str, league_name: str, group: str | None, as_json: bool) -> None:
    """Print the promotion links of a product (id or a link this bot issued) for a group."""
    settings = settings_of(ctx)

    async def work(league: League, engine: Any, leagues: dict[str, League]) -> tuple[Product, Any]:
        spot = default_spots(settings).get(league.name, Spot(league.name))
        if group:
            spot = await _group_spot(settings, engine, leagues, league.name, group)
        links = LinkCache(engine)
        product_id, shop = id_or_link.strip(), ""
        refs = find_product_refs(id_or_link)
        if refs and refs[0].url:
            issued = await links.find(refs[0].url)
            if issued is None or issued[0] != league.name:
                click.echo("这个链接不是本机器人在这个联盟生成的，请用商品 id", err=True)
                sys.exit(2)
            product_id, shop = issued[1], issued[2]
        elif not _id_shape_ok(league.name, product_id):
            click.echo(f"不是商品 id 也不是链接：{id_or_link}", err=True)
            sys.exit(2)
        product = await league.product(product_id, shop)
        link = await links.get_or_create(
            league.name, product.product_id, spot, lambda: league.promote(product, spot)
        )
        return product, link

    product, link = asyncio.run(_with_league(settings, work, league_name))
    row = _row(
        product,
        url=link.best_url,
        code=link.code,
        http_short_link=link.http_short_link,
        short_link=link.short_link,
        sharer_appid=link.spot.sharer_appid,
        pid=link.spot.pid,
        tag=link.spot.tag,
        mini_path=link.mini_path,
    )
    if as_json:
        click.echo(json.dumps(row, ensure_ascii=False))
    else:
        who = link.spot.sharer_appid or link.spot.pid or "-"
        lines = [product.title, f"  {link.best_url}"]
        lines += [f"  {extra}" for extra in (link.code, link.short_link, link.mini_path) if extra]
        click.echo("\n".join([*lines, f"  推广身份: {who}"]))


QUOTA_PATHS = (
    "/channels/ec/promoter/get_promote_product_list",
    "/channels/ec/promoter/get_promote_product_detail",
    "/channels/ec/promoter/get_product_promotion_link_info",
    "/channels/ec/promoter/get_coupon_detail",
    "/channels/ec/promoter/get_live_notice_record_list",
    "/channels/ec/league/headsupplier/order/list/get",
)


@click.command("quota")
@click.pass_context
def quota(ctx: click.Context) -> None:
    """How much of today's API quota the league calls the bot makes have used."""
    settings = settings_of(ctx)

    async def work(league: League, _engine: Any, _leagues: Any) -> list[tuple[str, dict[str, Any]]]:
        client = getattr(league, "client", None)
        if client is None:
            return []
        return [(path, (await client.quota(path)).get("quota", {})) for path in QUOTA_PATHS]

    rows = asyncio.run(_with_league(settings, work))
    for path, q in rows:
        used, limit = q.get("used", 0), q.get("daily_limit", 0)
        warn = "  ⚠ 快用完了 (nearly used up)" if limit and used >= 0.9 * limit else ""
        click.echo(f"{path.rsplit('/', 1)[-1]:42} {used:>7} / {limit:<7} 剩余 {q.get('remain', 0)}{warn}")
