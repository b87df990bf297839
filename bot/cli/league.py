"""`tuike sandbox`, `tuike search`, `tuike promote`: the leagues from the command line."""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

import click

from bot.cli.context import fail, settings_of
from bot.compose import Composition
from bot.config import Settings, plugin_tables
from bot.handlers.parse import find_product_refs
from bot.leagues.base import (
    League,
    LeagueError,
    NotPromotable,
    Product,
    ProductNotFound,
    PromotionLink,
    SearchQuery,
)
from bot.leagues.capabilities import HasDailyQuota
from bot.leagues.metering import Quota, daily_quota
from bot.leagues.ranking import mix_leagues, rank_products
from bot.leagues.registry import FIRST_LEAGUE, LEAGUES
from bot.leagues.setup import open_leagues
from bot.render.filters import yuan
from bot.render.width import display_width, ljust
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


LEAGUE_NAMES = tuple(plugin.name for plugin in LEAGUES)
SHORT_NAMES = {plugin.name: plugin.short_name for plugin in LEAGUES}
SEARCH_LIMIT = 50
"""The most products `tuike search` lists: each one asked for costs about two league calls per league."""


async def _with_leagues(settings: Settings, work: Any) -> Any:
    """Open the enabled leagues, run `work(leagues, engine)`, and turn league errors into one line."""
    engine = db.make_engine(settings.database_url)
    if db.is_sqlite(settings.database_url):
        db.upgrade(engine)
    try:
        async with AsyncExitStack() as stack:
            leagues = await open_leagues(settings, engine, stack)
            if not leagues:
                click.echo("没有启用的联盟 (no league enabled: see [leagues.*] enabled)", err=True)
                sys.exit(2)
            return await work(leagues, engine)
    except NotPromotable as exc:
        click.echo(f"这个商品不能推广 (not promotable: {exc.reason}): {exc}", err=True)
        sys.exit(1)
    except ProductNotFound as exc:
        click.echo(f"没找到这个商品 (product not found): {exc}", err=True)
        sys.exit(2)  # not found is exit 2, as everywhere (README: exit codes)
    except LeagueError as exc:
        click.echo(f"联盟出错 (league error): {exc}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()


def _pick(leagues: dict[str, League], name: str | None) -> League:
    if name not in leagues:
        enabled = ", ".join(leagues) or "none"
        click.echo(f"联盟 {name} 没有启用 (league not enabled; enabled: {enabled})", err=True)
        sys.exit(2)
    return leagues[name]


@click.command("search")
@click.argument("keyword")
@click.option(
    "--league", "league_name", type=click.Choice(LEAGUE_NAMES), help="One league (default: [deals] leagues)."
)
@click.option(
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(1, SEARCH_LIMIT),
    help=f"How many products to list, 1 to {SEARCH_LIMIT}.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def search(ctx: click.Context, keyword: str, league_name: str | None, limit: int, as_json: bool) -> None:
    """Search the leagues for KEYWORD and print the products, best deal first."""
    settings = settings_of(ctx)

    async def work(leagues: dict[str, League], _engine: Any) -> list[Product]:
        chosen = (
            [_pick(leagues, league_name)]
            if league_name
            else [leagues[n] for n in settings.deals.leagues if n in leagues]
        )
        rank_by = settings.deals.rank_by
        query = SearchQuery(keyword=keyword, limit=max(limit * 2, 10), shown=limit, rank_by=rank_by)
        results = await asyncio.gather(*(league.search(query) for league in chosen))
        if len(results) == 1:
            return rank_products(results[0], rank_by, keyword)[:limit]
        if settings.deals.own_store_first:  # as members see it: the own shops' best first
            from bot.services.deals import own_store_first

            return own_store_first(
                [(lg.name, r) for lg, r in zip(chosen, results, strict=True)], limit, rank_by, keyword
            )
        return mix_leagues(list(results), limit, rank_by, keyword)

    found = asyncio.run(_with_leagues(settings, work))
    if not found:
        # stdout stays empty (a script reading JSON lines gets none), as `tuike parse` does
        click.echo(f"没有找到「{keyword}」相关的商品 (nothing found)", err=True)
        return
    for p in found:
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
                f"[{p.platform}] {p.product_id}  {p.title}  {yuan(p.price_fen)}  {coupon}  "
                f"佣金 {yuan(row['commission_fen'])}"
            )


@click.command("promote")
@click.argument("text_or_link_or_id")
@click.option(
    "--league",
    "league_name",
    type=click.Choice(LEAGUE_NAMES),
    help="The product's league (default: the one the link or 口令 names; channels for a bare id).",
)
@click.option("--group", default=None, help="Group name or room id: links credit that group's identity.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_context
def promote(
    ctx: click.Context, text_or_link_or_id: str, league_name: str | None, group: str | None, as_json: bool
) -> None:
    """Make a product's promotion link (and 淘口令) for a group: a product id, a link, a share text or a 口令."""
    settings = settings_of(ctx)
    text = text_or_link_or_id.strip()

    async def work(leagues: dict[str, League], engine: Any) -> tuple[Product, PromotionLink]:
        refs = find_product_refs(text)
        ref = refs[0] if refs else None
        if ref is not None:
            by_platform: dict[str, League] = {lg.platform: lg for lg in leagues.values()}
            league = _pick(leagues, league_name) if league_name else by_platform.get(ref.platform)
            if league is None:
                click.echo(f"{ref.platform} 的联盟没有启用 (league not enabled)", err=True)
                sys.exit(2)
        elif text.isdigit() and league_name in (None, FIRST_LEAGUE):
            league = _pick(
                leagues, FIRST_LEAGUE
            )  # a bare number is the first league's product id unless told
        elif league_name not in (None, FIRST_LEAGUE) and text.replace("-", "").replace("_", "").isalnum():
            league = _pick(leagues, league_name)  # Taobao ids may be alphanumeric
        else:
            click.echo(f"不是商品 id、链接也不是口令：{text}（别家联盟的 id 请加 --league）", err=True)
            sys.exit(2)
        row = await asyncio.to_thread(find_group, engine, group) if group else None
        if group and row is None:
            click.echo(f"没有这个群：{group}", err=True)
            sys.exit(2)
        parts = Composition(settings, engine, leagues=leagues)
        spot = await parts.spots.for_group(row, league.name)
        links = parts.links
        if ref is None:
            product = await league.product(text)
        else:
            issued = await links.find(ref.url) if ref.url else None
            if issued is not None and issued[0] == league.name:
                product = await league.product(issued[1], issued[2])
            elif ref.id:
                product = await league.product(ref.id)
            else:
                product = await league.lookup_link(ref.url or ref.code or "")
        link = await links.get_or_create(
            league.name, product.product_id, spot, lambda: league.promote(product, spot)
        )
        return product, link

    product, link = asyncio.run(_with_leagues(settings, work))
    out = _row(
        product,
        url=link.best_url,
        tpwd=link.code if product.platform == "taobao" else "",
        code=link.code,
        http_short_link=link.http_short_link,
        short_link=link.short_link,
        sharer_appid=link.spot.sharer_appid,
        pid=link.spot.pid,
        tag=link.spot.tag,
        mini_path=link.mini_path,
    )
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
    else:
        lines = [product.title]
        if link.code:
            lines.append(f"  口令: {link.code}")
        lines += [f"  {u}" for u in (link.http_short_link, link.short_link) if u]
        who = link.spot.sharer_appid or link.spot.pid
        lines.append(f"  推广身份: {who}" if who else "  推广身份: (默认)")
        click.echo("\n".join(lines))


QUOTA_NAMES = {
    "/channels/ec/promoter/get_promote_product_list": "商品列表",
    "/channels/ec/promoter/get_promote_product_detail": "商品详情",
    "/channels/ec/promoter/get_product_promotion_link_info": "推广链接",
    "/channels/ec/promoter/get_coupon_detail": "优惠券",
    "/channels/ec/promoter/get_live_notice_record_list": "直播预告",
    "/channels/ec/league/headsupplier/order/list/get": "订单列表",
}
"""How `tuike quota` names the Channels API paths whose daily quota WeChat reports."""


@click.command("quota")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per league and API, one per line.")
@click.pass_context
def quota(ctx: click.Context, as_json: bool) -> None:
    """How much of today's API quota the league calls the bot makes have used."""
    settings = settings_of(ctx)

    async def work(leagues: dict[str, League], _engine: Any) -> tuple[list[Quota], list[str]]:
        metered = [league for league in leagues.values() if isinstance(league, HasDailyQuota)]
        read = [await daily_quota(league, fresh=True) for league in metered]
        others = [name for name, league in leagues.items() if not isinstance(league, HasDailyQuota)]
        return [q for q in read if q is not None], others

    read, others = asyncio.run(_with_leagues(settings, work))
    if not read:
        fail("没有启用的联盟报告每日调用额度 (no enabled league reports a daily quota)")
    failed = [q for q in read if q.error]
    if as_json:
        for q in read:
            for line in q.lines:
                row = {
                    "league": q.league,
                    "api": line.path,
                    "name": QUOTA_NAMES.get(line.path, line.name),
                    "used": line.used,
                    "limit": line.limit,
                    "remain": line.remain,
                    "nearly_used": line.nearly_used,
                }
                click.echo(json.dumps(row, ensure_ascii=False))
    else:
        tables = plugin_tables(settings)
        if any(tables[q.league].sandbox for q in read):
            click.echo(
                "沙盒模式：这个命令启动了自己的沙盒，看不到正在运行的机器人用了多少调用；"
                "运行中的数字在运营后台的「联盟」页。\n"
                "(sandbox mode: this command runs its own sandbox and cannot see the running bot's calls; "
                "the web console's 联盟 page shows them)"
            )
        for q in read:
            click.echo(f"{SHORT_NAMES.get(q.league, q.league)} ({q.league})")
            names = {
                line.path: f"{QUOTA_NAMES.get(line.path, '')} {line.path.removeprefix('/channels/ec/')}".strip()
                for line in q.lines
            }
            width = max((display_width(name) for name in names.values()), default=0)
            for line in q.lines:
                warn = "  ⚠ 快用完了 (nearly used up)" if line.nearly_used else ""
                click.echo(
                    f"  {ljust(names[line.path], width)}  {line.used:>7} / {line.limit:<7} "
                    f"剩余 {line.remain}{warn}"
                )
        if others:
            named = "、".join(f"{SHORT_NAMES.get(n, n)} ({n})" for n in others)
            click.echo(f"不报告每日额度的联盟 (no daily quota reported): {named}")
    for q in failed:
        click.echo(
            f"{SHORT_NAMES.get(q.league, q.league)}：额度读不出来 (quota unreadable): {q.error}", err=True
        )
    if failed:
        sys.exit(1)
