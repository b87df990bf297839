"""Realistic data to check and preview templates with, per message kind.

`SAMPLES` holds, per kind, the data `tuike templates preview` shows first plus the awkward variants
(no coupon, empty lists, no start time) that `tuike templates check` renders too, so a template that
only works on the happy path is caught before a member sees it fall back. The variables each kind
receives are `bot.render.kinds.KINDS`.

The one part of `bot.render` that builds `bot.leagues.base` types: the engine itself does not depend on
the leagues layer (an import contract in pyproject.toml holds it to that).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from bot.leagues.base import Commission, Coupon, LiveEvent, Product, PromotionLink, Spot
from bot.leagues.registry import display_name

SPOT = Spot(league="channels", sharer_appid="wx8d2f3c4b5a697081")
SHARER_QUERY = "head_supplier_appid=wx5b1e0c9d8a7f6e21&sharer_appid=wx3f9a1c2b7d5e8f60&ticket=9c1f2e7a"

_SUBSCRIBED: Mapping[str, Any] = MappingProxyType(
    {
        "kind": "daily",
        "at_time": "08:30",
        "categories": [],
        "replaced": False,
        "slots": [],
        "talents": [],
        "unnamed_talents": 0,
        "remind_minutes": 15,
    }
)

TAKEOUT_LINKS: tuple[dict[str, Any], ...] = (
    {
        "platform": "eleme",
        "name": "饿了么",
        "title": "饿了么外卖 · 天天领红包",
        "url": "https://s.click.ele.me/wR9ecuu",
        "mini_program": {
            "appid": "wxece3a9a4c82f58c9",
            "path": "pages/sharePid/web/index?scene=https://s.click.ele.me/wR9ecuu",
        },
        "ends_at": datetime(2024, 7, 1, 16, 0, tzinfo=UTC),
    },
    {
        "platform": "meituan",
        "name": "美团",
        "title": "美团外卖红包",
        "url": "https://dpurl.cn/aB3dE5f",
        "mini_program": None,
        "ends_at": None,
    },
)
"""Takeout links as the `takeout` templates read them (`bot.services.takeout.link_context`)."""

EARBUDS_COUPON = Coupon(
    coupon_id="1126004503281",
    amount_fen=2000,
    threshold_fen=9900,
    name="店铺券 满99减20",
    valid_from=datetime(2024, 6, 1, 16, 0, tzinfo=UTC),
    valid_until=datetime(2024, 6, 20, 15, 59, tzinfo=UTC),
    remaining=812,
)
EARBUDS = Product(
    platform="channels",
    product_id="10000087654321",
    title="倍思 Bowie E19 真无线蓝牙耳机 主动降噪 超长续航 运动游戏通用 适用苹果华为小米",
    price_fen=12900,
    shop_id="wxa1b2c3d4e5f60718",
    shop_name="倍思数码官方旗舰店",
    images=("https://wxshop.example-cdn.qq.com/10000087654321/main.jpg",),
    sales=23456,
    category="数码",
    commission=Commission(ratio_ppm=150_000, amount_fen=1935),
    coupons=(EARBUDS_COUPON,),
    promotion_param="pp_7Kx9mPq2Lr",
)
EARBUDS_LINK = PromotionLink(
    product_id=EARBUDS.product_id,
    spot=SPOT,
    short_link="#小店://倍思数码官方旗舰店/7Kx9mPq2",
    http_short_link="https://store.weixin.qq.com/shop/a/7Kx9mPq2?sharer=wx8d2f3c4b5a697081&scene=tuike",
)

NO_THRESHOLD_COUPON = Coupon(coupon_id="1126004509917", amount_fen=500, name="无门槛券 5元")
TISSUE = Product(
    platform="channels",
    product_id="10000012345678",
    title="清风 原木纯品 抽纸 3层120抽×24包 整箱装",
    price_fen=4990,
    shop_name="清风官方旗舰店",
    sales=108_000,
    category="日用百货",
    commission=Commission(ratio_ppm=80_000, amount_fen=359),
    coupons=(NO_THRESHOLD_COUPON,),
)
TISSUE_LINK = PromotionLink(
    product_id=TISSUE.product_id,
    spot=SPOT,
    http_short_link="https://store.weixin.qq.com/shop/a/Qf3nT8wZ?sharer=wx8d2f3c4b5a697081&scene=tuike",
)

TEA = Product(
    platform="channels",
    product_id="10000099887766",
    title="八马茶业 福建安溪铁观音 浓香型 礼盒装 250g",
    price_fen=15800,
    shop_name="八马茶业旗舰店",
    sales=356,
    category="食品饮料",
)
TEA_LINK = PromotionLink(
    product_id=TEA.product_id,
    spot=SPOT,
    http_short_link="https://store.weixin.qq.com/shop/a/Bm6cR1yH?sharer=wx8d2f3c4b5a697081&scene=tuike",
)

SUNSCREEN = Product(
    platform="taobao",
    product_id="Kx7pQ2mZrT9aLw",
    title="安热沙 小金瓶 防晒霜 SPF50+ 60ml 户外防水防汗",
    price_fen=16800,
    shop_name="ANESSA安热沙官方旗舰店",
    sales=42_000,
    category="美妆",
    commission=Commission(ratio_ppm=60_000, amount_fen=1008),
    coupons=(Coupon(coupon_id="tb-20", amount_fen=2000, threshold_fen=15900, name="店铺券 满159减20"),),
)
SUNSCREEN_LINK = PromotionLink(
    product_id=SUNSCREEN.product_id,
    spot=Spot(league="taobao", pid="mm_2663285701_2345678_110000000002"),
    short_link="https://m.tb.cn/h.5AMOUBE",
    http_short_link="https://s.click.taobao.com/Xhrwx0S",
    code="￥VU1pXk3w4rS￥",
)
JD_FRYER_COUPON = Coupon(
    coupon_id="https://coupon.m.jd.com/coupons/show.action?key=c1e2a3b4&roleId=1598765",
    amount_fen=3000,
    threshold_fen=29900,
    name="满299减30",
)
JD_FRYER = Product(
    platform="jd",
    product_id="100012345678",
    title="美的 空气炸锅 家用大容量 5.5L 可视窗口 不用翻面 多功能电炸锅",
    price_fen=32900,
    shop_name="美的京东自营旗舰店",
    sales=20000,
    coupons=(JD_FRYER_COUPON,),
    badges=("京东自营",),
)
JD_FRYER_LINK = PromotionLink(
    product_id=JD_FRYER.product_id,
    spot=Spot(league="jd", pid="3100012345", tag="tk_5f2a9c0e1b7d3a48"),
    http_short_link="https://u.jd.com/aB3cD4e",
    code="【京东】https://3.cn/-aB3cD4e「美的 空气炸锅 家用大容量」点击链接直接打开",
)
PDD_TISSUE = Product(
    platform="pdd",
    product_id="E9b2omogKFFAc7WBwvbZU1ikIb16_J3CTa8HNN",
    title="洁柔 抽纸 3层120抽*24包 家用整箱 餐巾纸卫生纸",
    price_fen=3990,
    shop_name="洁柔官方旗舰店",
    sales=100000,
    list_price_fen=5990,
    badges=("百亿补贴",),
)
PDD_TISSUE_LINK = PromotionLink(
    product_id=PDD_TISSUE.product_id,
    spot=Spot(league="pdd", pid="10326915_188461783", tag='{"uid":"g3f1a2b4c5d6e7f80"}'),
    http_short_link="https://p.pinduoduo.com/Xy7Kp2Qa",
    mini_path="package_e/welfare_coupon/welfare_coupon?goods_sign=E9b2omog&pid=10326915_188461783",
)


def _item(product: Product, link: PromotionLink) -> dict[str, Any]:
    coupon = product.best_coupon()
    return {
        "product": product,
        "platform_name": display_name(product.platform),
        "coupon": coupon,
        "link": link,
        "final_price_fen": product.final_price_fen,
    }


ITEMS = [_item(EARBUDS, EARBUDS_LINK), _item(TISSUE, TISSUE_LINK), _item(TEA, TEA_LINK)]
MIXED_ITEMS = [
    _item(PDD_TISSUE, PDD_TISSUE_LINK),
    _item(EARBUDS, EARBUDS_LINK),
    _item(JD_FRYER, JD_FRYER_LINK),
    _item(SUNSCREEN, SUNSCREEN_LINK),
]

ORG_COUPONS = [
    {"coupon": EARBUDS_COUPON, "kind": "定向券", "link": "#小店://券/1126004503281/wx_sharer_demo01"},
    {"coupon": NO_THRESHOLD_COUPON, "kind": "公开券", "link": "#小店://券/1126004509917/wx_sharer_demo01"},
]
FEEDS = [
    {
        "title": "漫步者 Lolli Pro 3 真无线降噪蓝牙耳机",
        "talent_name": "小鹿爱好物",
        "export_id": "export/UzFfAgtgekIEAQAAAAAAfeed0001",
        "link": "feed_promoter_share_link_0001",
        "card": True,
    },
    {
        "title": "清风 原木纯品 抽纸",
        "talent_name": "",
        "export_id": "export/feed0002",
        "link": "feed_link_0002",
        "card": False,
    },
]

LIVE = LiveEvent(
    talent_appid="wx5e6f7a8b9c0d1e2f",
    talent_name="小鹿爱好物",
    notice_id="notice_20240618_2000",
    description="618 数码家电专场，耳机、充电宝全场券后价，整点抽免单",
    start_time=datetime(2024, 6, 18, 12, 0, tzinfo=UTC),
    share_link="https://channels.weixin.qq.com/live/notice?id=notice_20240618_2000",
)
LIVE_NO_TIME = LiveEvent(
    talent_appid=LIVE.talent_appid,
    talent_name=LIVE.talent_name,
    notice_id="notice_x",
    description="",
    start_time=None,
    is_live=True,
)

_HELP_OFFER: Mapping[str, Any] = {
    "platforms": ["淘宝", "京东", "拼多多", "微信小店", "唯品会"],
    "takeout": True,
    "shops": True,
    "rebate": True,
}

SAMPLES: Mapping[str, tuple[Mapping[str, Any], ...]] = MappingProxyType(
    {
        "help": (
            {"bot_name": "推客小助手", "is_group": True, "is_owner": False, **_HELP_OFFER},
            {"bot_name": "推客小助手", "is_group": True, "is_owner": True, **_HELP_OFFER},
            {"bot_name": "推客小助手", "is_group": False, "is_owner": False, **_HELP_OFFER},
        ),
        "deal": (
            {
                "product": EARBUDS,
                "coupon": EARBUDS_COUPON,
                "link": EARBUDS_LINK,
                "final_price_fen": EARBUDS.final_price_fen,
                "asker": "小明",
            },
            {"product": TEA, "coupon": None, "link": TEA_LINK, "final_price_fen": 15800, "asker": "阿珍"},
            {
                "product": SUNSCREEN,
                "coupon": SUNSCREEN.best_coupon(),
                "link": SUNSCREEN_LINK,
                "final_price_fen": SUNSCREEN.final_price_fen,
                "asker": "小明",
            },
            {
                "product": JD_FRYER,
                "coupon": JD_FRYER_COUPON,
                "link": JD_FRYER_LINK,
                "final_price_fen": JD_FRYER.final_price_fen,
                "asker": "小明",
            },
            {
                "product": PDD_TISSUE,
                "coupon": None,
                "link": PDD_TISSUE_LINK,
                "final_price_fen": PDD_TISSUE.final_price_fen,
                "asker": "阿珍",
            },
        ),
        "search_results": (
            {"keyword": "蓝牙耳机", "items": ITEMS, "asker": "小明"},
            {"keyword": "会飞的拖鞋", "items": [], "asker": "小明"},
            {"keyword": "防晒", "items": MIXED_ITEMS, "asker": "小明"},
        ),
        "daily_deals": (
            {
                "group_name": "宝妈好物分享群",
                "date": datetime(2024, 6, 18, 0, 30, tzinfo=UTC),
                "items": ITEMS,
                "categories": ["数码", "日用百货"],
                "coupons": ORG_COUPONS,
                "feeds": FEEDS,
            },
            {
                "group_name": "宝妈好物分享群",
                "date": datetime(2024, 6, 18, 0, 30, tzinfo=UTC),
                "items": ITEMS[:1],
                "categories": [],
                "coupons": [],
                "feeds": [],
            },
            {
                "group_name": "宝妈好物分享群",
                "date": datetime(2024, 6, 18, 0, 30, tzinfo=UTC),
                "items": MIXED_ITEMS,
                "categories": [],
                "coupons": ORG_COUPONS[1:],
                "feeds": [],
            },
        ),
        "broadcast_deals": (
            {
                "group_name": "宝妈好物分享群",
                "intro": "宝妈好物分享群专属福利，今晚 8 点前有效",
                "items": ITEMS,
            },
            {"group_name": "宝妈好物分享群", "intro": "", "items": MIXED_ITEMS[:1]},
            {"group_name": "宝妈好物分享群", "intro": "周末囤货\n\n都是群友问过的", "items": MIXED_ITEMS},
        ),
        "live_soon": (
            {"live": LIVE, "minutes": 15, "link": LIVE.share_link},
            {"live": LIVE_NO_TIME, "minutes": 5, "link": ""},
        ),
        "live_now": (
            {"live": LIVE, "link": LIVE.share_link},
            {"live": LIVE_NO_TIME, "link": ""},
        ),
        "subscribed": (
            {**_SUBSCRIBED, "at_time": "08:30", "categories": ["数码", "母婴"], "slots": ["08:30", "20:00"]},
            {**_SUBSCRIBED, "at_time": "", "categories": []},
            {**_SUBSCRIBED, "at_time": "20:00", "replaced": True, "slots": ["20:00"]},
            {**_SUBSCRIBED, "kind": "live", "talents": ["小鹿爱好物"], "unnamed_talents": 1},
            {**_SUBSCRIBED, "kind": "live"},
            {**_SUBSCRIBED, "kind": "takeout", "at_time": "10:30", "slots": ["10:30", "16:30"]},
            {**_SUBSCRIBED, "kind": "takeout", "at_time": "10:30", "replaced": True, "slots": ["10:30"]},
        ),
        "unsubscribed": (
            {"kind": "daily", "at_time": "", "removed": 2, "slots": []},
            {"kind": "daily", "at_time": "08:30", "removed": 1, "slots": ["20:00"]},
            {"kind": "daily", "at_time": "09:00", "removed": 0, "slots": ["20:00"]},
            {"kind": "live", "at_time": "", "removed": 1, "slots": []},
            {"kind": "all", "at_time": "", "removed": 3, "slots": []},
            {"kind": "takeout", "at_time": "16:30", "removed": 1, "slots": ["10:30"]},
            {"kind": "takeout", "at_time": "", "removed": 2, "slots": []},
        ),
        "subscription_status": (
            {
                "subscriptions": [
                    {
                        "kind": "daily",
                        "at_time": "08:30",
                        "categories": ["数码", "母婴"],
                        "next_run": datetime(2024, 6, 19, 0, 30, tzinfo=UTC),
                    },
                    {
                        "kind": "daily",
                        "at_time": "20:00",
                        "categories": [],
                        "next_run": datetime(2024, 6, 19, 12, 0, tzinfo=UTC),
                    },
                    {"kind": "live", "at_time": "", "categories": [], "next_run": None},
                    {"kind": "takeout", "at_time": "10:30", "categories": [], "next_run": None},
                ],
                "talents": ["小鹿爱好物"],
                "unnamed_talents": 0,
            },
            {"subscriptions": [], "talents": [], "unnamed_talents": 0},
        ),
        "unknown_category": (
            {"given": "零食", "valid": ["数码", "母婴", "美妆", "食品饮料", "日用百货"]},
            {"given": "零食", "valid": []},
        ),
        "not_owner": ({"asker": "小明"},),
        "rate_limited": ({"asker": "小明", "seconds": 42},),
        "product_not_found": (
            {"platform_name": "淘宝", "url": "https://item.taobao.com/item.htm?id=712345678901"},
        ),
        "platform_unsupported": ({"platform_name": "唯品会"},),
        "not_promotable": (
            *(
                {"platform_name": "淘宝/天猫", "reason": reason}
                for reason in ("xianyu", "chaoshi", "not_alliance", "coupon_expired", "code_unresolved")
            ),
            {"platform_name": "京东", "reason": "not_alliance"},
            {"platform_name": "拼多多", "reason": "not_alliance"},
        ),
        "league_busy": (
            {"reason": "quota", "follows": False},
            {"reason": "error", "follows": False},
            {"reason": "slow", "follows": True},
            {"reason": "slow", "follows": False},
        ),
        "searching": ({"keyword": "蓝牙耳机", "asker": "小明"}, {"keyword": "", "asker": ""}),
        "thanks": ({"asker": "小明", "is_group": True}, {"asker": "", "is_group": False}),
        "not_understood": ({"asker": "小明", "is_group": True}, {"asker": "", "is_group": False}),
        "own_store": (
            {"group_name": "宝妈好物分享群", "items": ITEMS[:2], "trouble": False},
            {"group_name": "宝妈好物分享群", "items": ITEMS[:1], "trouble": True},
            {"group_name": "宝妈好物分享群", "items": [], "trouble": False},
        ),
        "commission_report": (
            {
                "group_name": "宝妈好物分享群",
                "period": "今天",
                "orders": 3,
                "paid_fen": 25_970,
                "commission_fen": 3_116,
                "settled_fen": 0,
                "owner_share_percent": 0,
                "owner_share_fen": 0,
                "owner_settled_share_fen": 0,
                "periods": [
                    {
                        "period": "今天",
                        "orders": 3,
                        "paid_fen": 25_970,
                        "commission_fen": 3_116,
                        "settled_fen": 0,
                        "owner_share_fen": 0,
                        "owner_settled_share_fen": 0,
                    },
                    {
                        "period": "本月",
                        "orders": 37,
                        "paid_fen": 428_650,
                        "commission_fen": 51_438,
                        "settled_fen": 20_112,
                        "owner_share_fen": 0,
                        "owner_settled_share_fen": 0,
                    },
                    {
                        "period": "上月",
                        "orders": 0,
                        "paid_fen": 0,
                        "commission_fen": 0,
                        "settled_fen": 0,
                        "owner_share_fen": 0,
                        "owner_settled_share_fen": 0,
                    },
                ],
            },
            {
                "group_name": "宝妈好物分享群",
                "period": "今天",
                "orders": 0,
                "paid_fen": 0,
                "commission_fen": 0,
                "settled_fen": 0,
                "owner_share_percent": 0,
                "owner_share_fen": 0,
                "owner_settled_share_fen": 0,
                "periods": [
                    {
                        "period": name,
                        "orders": 0,
                        "paid_fen": 0,
                        "commission_fen": 0,
                        "settled_fen": 0,
                        "owner_share_fen": 0,
                        "owner_settled_share_fen": 0,
                    }
                    for name in ("今天", "本月", "上月")
                ],
            },
            {
                "group_name": "宝妈好物分享群",
                "period": "本月",
                "orders": 37,
                "paid_fen": 428_650,
                "commission_fen": 51_438,
                "settled_fen": 0,
                "owner_share_percent": 30,
                "owner_share_fen": 15_431,
                "owner_settled_share_fen": 0,
                "periods": [],
            },
            {
                "group_name": "宝妈好物分享群",
                "period": "今天",
                "orders": 3,
                "paid_fen": 25_970,
                "commission_fen": 3_116,
                "settled_fen": 0,
                "owner_share_percent": 30,
                "owner_share_fen": 934,
                "owner_settled_share_fen": 0,
                "periods": [
                    {
                        "period": "今天",
                        "orders": 3,
                        "paid_fen": 25_970,
                        "commission_fen": 3_116,
                        "settled_fen": 0,
                        "owner_share_fen": 934,
                        "owner_settled_share_fen": 0,
                    },
                    {
                        "period": "本月",
                        "orders": 37,
                        "paid_fen": 428_650,
                        "commission_fen": 51_438,
                        "settled_fen": 20_112,
                        "owner_share_fen": 15_431,
                        "owner_settled_share_fen": 6_033,
                    },
                ],
            },
        ),
        "rebate_paid_notice": (
            {"order_id": "280175066411", "league": "jd", "pending_fen": 1_500},
            {"order_id": "4100000999456-21", "league": "pdd", "pending_fen": 1},
        ),
        "rebate_bind": tuple(
            {
                "outcome": outcome,
                "number": "066411" if outcome in ("ambiguous", "whole_number") else "280175066411",
                "pending_fen": pending,
                "available_fen": available,
                "cancelled": cancelled,
            }
            for outcome, pending, available, cancelled in (
                ("bound", 1_500, 0, False),
                ("bound", 0, 2_380, False),
                ("bound", 0, 0, True),
                ("bound", 0, 0, False),
                ("mine", 0, 0, False),
                ("taken", 0, 0, False),
                ("unknown", 0, 0, False),
                ("ambiguous", 0, 0, False),
                ("whole_number", 0, 0, False),
                ("malformed", 0, 0, False),
                ("usage", 0, 0, False),
            )
        ),
        "sharer_bind": tuple(
            {
                "outcome": outcome,
                "sharer_appid": "" if outcome == "usage" else "wx3f9a1c2b7d5e8f60",
                "nickname": nickname,
                "register_status": register_status,
                "query": query,
                "card": card,
                "current_appid": current,
            }
            for outcome, nickname, register_status, query, card, current in (
                ("bound", "宝妈好物-阿珍", 2, "", False, ""),
                ("bound", "", 2, "", False, ""),
                ("pending", "", 2, "", True, ""),
                ("pending", "", 2, SHARER_QUERY, False, "wx8d2f3c4b5a697081"),
                ("register", "", 0, "", True, ""),
                ("register", "", 1, SHARER_QUERY, False, ""),
                ("register", "", 3, "", False, ""),
                ("taken", "", 0, "", False, ""),
                ("already", "", 0, "", False, "wx3f9a1c2b7d5e8f60"),
                ("is_default", "", 0, "", False, ""),
                ("bad_appid", "", 0, "", False, ""),
                ("unavailable", "", 0, "", False, ""),
                ("usage", "", 0, "", False, ""),
            )
        ),
        "sharer_status": tuple(
            {
                "outcome": outcome,
                "sharer_appid": "" if outcome == "default" else "wx3f9a1c2b7d5e8f60",
                "nickname": nickname,
                "bound_at": bound_at,
                "register_status": register_status,
                "query": query,
                "card": card,
                "current_appid": current,
            }
            for outcome, nickname, bound_at, register_status, query, card, current in (
                ("own", "宝妈好物-阿珍", datetime(2026, 6, 12, 3, 20, tzinfo=UTC), 2, "", False, ""),
                ("own", "", None, 2, "", False, ""),
                ("own_unbound", "", None, 2, "", False, ""),
                ("default", "", None, 0, "", False, ""),
                ("now_bound", "宝妈好物-阿珍", None, 2, "", False, ""),
                ("now_bound", "", None, 2, "", False, ""),
                ("pending", "", None, 2, "", True, ""),
                ("pending", "", None, 2, SHARER_QUERY, False, "wx8d2f3c4b5a697081"),
                ("register", "", None, 0, "", True, ""),
                ("register", "", None, 1, SHARER_QUERY, False, ""),
                ("register", "", None, 3, "", False, ""),
                ("taken", "", None, 2, "", False, ""),
            )
        ),
        "sharer_unbind": (
            {"outcome": "unbound", "sharer_appid": "wx3f9a1c2b7d5e8f60"},
            {"outcome": "default", "sharer_appid": ""},
        ),
        "rebate_balance": (
            {"available_fen": 450, "pending_fen": 1_500, "withdrawing_fen": 1_050, "paid_fen": 3_000},
            {"available_fen": 0, "pending_fen": 0, "withdrawing_fen": 0, "paid_fen": 0},
            {"available_fen": -550, "pending_fen": 0, "withdrawing_fen": 0, "paid_fen": 1_050},
        ),
        "rebate_withdraw": (
            {"outcome": "requested", "request_id": 17, "amount_fen": 1_050, "available_fen": 0},
            {"outcome": "too_much", "request_id": 0, "amount_fen": 0, "available_fen": 1_500},
            {"outcome": "nothing", "request_id": 0, "amount_fen": 0, "available_fen": 0},
            {"outcome": "usage", "request_id": 0, "amount_fen": 0, "available_fen": 0},
        ),
        "rebate_off": tuple({"asked": asked} for asked in ("bind", "balance", "withdraw")),
        "chat_ids": tuple(
            {
                "which": which,
                "sender_id": "wxid_k3j9a8s7d6f5",
                "sender_name": "小明",
                "chat_id": "34567890123@chatroom" if which.startswith("group") else "",
                "chat_name": "宝妈好物分享群" if which.startswith("group") else "",
            }
            for which in ("me", "me_in_group", "group", "group_not_owner", "group_in_private")
        ),
        "subscribe_usage": (
            {"reason": "unknown", "given": ""},
            {"reason": "private", "given": ""},
            {"reason": "bad_hour", "given": "25:00"},
            {"reason": "bad_minute", "given": "8:60"},
            {"reason": "bad_form", "given": "8:30pm"},
        ),
        "welcome": ({"member_name": "阿珍", "group_name": "宝妈好物分享群", "bot_name": "推客小助手"},),
        "takeout": (
            {"links": TAKEOUT_LINKS, "missing": [], "asker": "小明", "is_group": True},
            {"links": TAKEOUT_LINKS[:1], "missing": ["美团"], "asker": "小明", "is_group": False},
            {"links": [], "missing": ["饿了么", "美团"], "asker": "小明", "is_group": True},
        ),
        "takeout_push": (
            {
                "group_name": "宝妈好物分享群",
                "date": datetime(2024, 6, 18, 2, 30, tzinfo=UTC),
                "links": TAKEOUT_LINKS,
                "missing": [],
            },
            {
                "group_name": "宝妈好物分享群",
                "date": datetime(2024, 6, 18, 8, 30, tzinfo=UTC),
                "links": TAKEOUT_LINKS[1:],
                "missing": ["饿了么"],
            },
        ),
        "forward": (
            {
                "text": (
                    "【淘宝】安热沙防晒霜 小金瓶 到手 168 元\n"
                    f"{SUNSCREEN_LINK.http_short_link} {SUNSCREEN_LINK.code}\n"
                    f"京东 空气炸锅 券后 199 {JD_FRYER_LINK.http_short_link}"
                ),
                "group_name": "宝妈好物分享群",
                "links": [
                    {
                        "platform": "taobao",
                        "platform_name": "淘宝",
                        "source": "https://m.tb.cn/h.Uw2Ce6iLX2w",
                        "target": SUNSCREEN_LINK.http_short_link,
                    },
                    {
                        "platform": "taobao",
                        "platform_name": "淘宝",
                        "source": "qrHvRpp8t26",
                        "target": SUNSCREEN_LINK.code.strip("￥"),
                    },
                    {
                        "platform": "jd",
                        "platform_name": "京东",
                        "source": "https://u.jd.com/dm84S6DTQuf",
                        "target": JD_FRYER_LINK.http_short_link,
                    },
                ],
            },
        ),
    }
)
