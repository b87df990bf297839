"""Realistic sample data for every template kind: used by `tuike templates check` and `preview`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.leagues.base import Coupon, LiveEvent, Product, PromotionLink, Spot

_NOW = datetime(2026, 11, 22, 0, 30, tzinfo=UTC)
_SPOT = Spot("channels", sharer_appid="wx_sharer_demo01")


def _product(pid: str, title: str, price: int, coupon: int, threshold: int, sales: int) -> Product:
    coupons = (
        (Coupon(f"c{pid}", amount_fen=coupon, threshold_fen=threshold, remaining=120),) if coupon else ()
    )
    return Product(
        platform="channels",
        product_id=pid,
        title=title,
        price_fen=price,
        shop_name="小米官方旗舰店",
        images=(f"https://img.sandbox.tuike.test/p/{pid}.jpg",),
        sales=sales,
        coupons=coupons,
    )


def _item(product: Product) -> dict[str, Any]:
    link = PromotionLink(
        product_id=product.product_id,
        spot=_SPOT,
        short_link=f"#小店://商品/{product.product_id}",
        http_short_link=f"https://store.weixin.qq.com/shop/a/Sx{product.product_id[-6:]}Demo",
    )
    return {
        "product": product,
        "coupon": product.best_coupon(),
        "link": link,
        "final_price_fen": product.final_price_fen,
    }


def samples() -> dict[str, dict[str, Any]]:
    buds = _product(
        "10000000001", "小米Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 降噪", 19900, 2000, 9900, 52031
    )
    tissue = _product("10000000002", "维达抽纸 超韧3层110抽*24包 整箱", 4990, 500, 0, 120344)
    phone = _product("10000000003", "Redmi K80 至尊版 12GB+256GB 5G手机", 299900, 0, 0, 8120)
    items = [_item(buds), _item(tissue), _item(phone)]
    live = LiveEvent(
        talent_appid="wx_talent_01",
        talent_name="小杨数码严选",
        notice_id="notice-001",
        description="双11返场 数码专场 全场低至5折",
        start_time=_NOW + timedelta(minutes=30),
        share_link="https://channels.weixin.qq.com/live/notice-001",
    )
    return {
        "help": {"bot_name": "推客小助手", "is_group": True, "is_owner": True},
        "deal": {**items[0], "asker": "小明"},
        "search_results": {"keyword": "蓝牙耳机", "items": items, "asker": "小明"},
        "daily_deals": {
            "group_name": "宝妈好物群",
            "date": _NOW,
            "items": items,
            "categories": ["手机数码", "家清日用"],
        },
        "live_soon": {"live": live, "minutes": 30, "link": live.share_link},
        "live_now": {"live": live, "link": live.share_link},
        "subscribed": {"kind": "daily", "at_time": "08:30", "categories": ["手机数码"]},
        "unsubscribed": {"kind": "daily"},
        "subscription_status": {
            "subscriptions": [
                {
                    "kind": "daily",
                    "at_time": "08:30",
                    "categories": ["手机数码"],
                    "next_run": _NOW + timedelta(hours=8),
                },
                {"kind": "live", "at_time": "", "categories": [], "next_run": None},
            ]
        },
        "unknown_category": {"given": "火箭", "valid": ["手机数码", "家清日用", "食品生鲜"]},
        "not_owner": {"asker": "小红"},
        "rate_limited": {"asker": "小明", "seconds": 42},
        "product_not_found": {"platform_name": "微信小店", "url": "https://store.weixin.qq.com/shop/a/Nope"},
        "platform_unsupported": {"platform_name": "京东"},
        "league_busy": {"reason": "error"},
        "commission_report": {
            "group_name": "宝妈好物群",
            "period": "本月",
            "orders": 37,
            "paid_fen": 1289900,
            "commission_fen": 154788,
        },
        "subscribe_usage": {"reason": "unknown"},
        "welcome": {"member_name": "小红", "group_name": "宝妈好物群", "bot_name": "推客小助手"},
    }
