"""What each template kind receives: the contract between handlers and templates.

`KINDS` names the exact variables each message kind gets; `tuike templates check` refuses a template
that uses one its kind never receives, and `bot.render.samples` holds data for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KINDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "help": frozenset({"bot_name", "is_group", "is_owner", "platforms", "takeout", "shops", "rebate"}),
        "deal": frozenset({"product", "coupon", "link", "final_price_fen", "asker"}),
        "search_results": frozenset({"keyword", "items", "asker"}),
        "daily_deals": frozenset({"group_name", "date", "items", "categories", "coupons", "feeds"}),
        "broadcast_deals": frozenset({"group_name", "intro", "items"}),
        "live_soon": frozenset({"live", "minutes", "link"}),
        "live_now": frozenset({"live", "link"}),
        "subscribed": frozenset(
            {
                "kind",
                "at_time",
                "categories",
                "replaced",
                "slots",
                "talents",
                "unnamed_talents",
                "remind_minutes",
            }
        ),
        "unsubscribed": frozenset({"kind", "at_time", "removed", "slots"}),
        "subscription_status": frozenset({"subscriptions", "talents", "unnamed_talents"}),
        "unknown_category": frozenset({"given", "valid"}),
        "not_owner": frozenset({"asker"}),
        "rate_limited": frozenset({"asker", "seconds"}),
        "product_not_found": frozenset({"platform_name", "url"}),
        "platform_unsupported": frozenset({"platform_name"}),
        "not_promotable": frozenset({"platform_name", "reason"}),
        "league_busy": frozenset({"reason", "follows"}),
        "searching": frozenset({"keyword", "asker"}),
        "thanks": frozenset({"asker", "is_group"}),
        "not_understood": frozenset({"asker", "is_group"}),
        "commission_report": frozenset(
            {
                "group_name",
                "period",
                "orders",
                "paid_fen",
                "commission_fen",
                "settled_fen",
                "periods",
                "owner_share_percent",
                "owner_share_fen",
                "owner_settled_share_fen",
            }
        ),
        "own_store": frozenset({"group_name", "items", "trouble"}),
        "welcome": frozenset({"member_name", "group_name", "bot_name"}),
        "subscribe_usage": frozenset({"reason", "given"}),
        "chat_ids": frozenset({"which", "sender_id", "sender_name", "chat_id", "chat_name"}),
        "takeout": frozenset({"links", "missing", "asker", "is_group"}),
        "takeout_push": frozenset({"group_name", "date", "links", "missing"}),
        "rebate_paid_notice": frozenset({"order_id", "league", "pending_fen"}),
        "rebate_bind": frozenset({"outcome", "number", "pending_fen", "available_fen", "cancelled"}),
        "sharer_bind": frozenset(
            {"outcome", "sharer_appid", "nickname", "register_status", "query", "card", "current_appid"}
        ),
        "sharer_status": frozenset(
            {
                "outcome",
                "sharer_appid",
                "nickname",
                "bound_at",
                "register_status",
                "query",
                "card",
                "current_appid",
            }
        ),
        "sharer_unbind": frozenset({"outcome", "sharer_appid"}),
        "rebate_balance": frozenset({"available_fen", "pending_fen", "withdrawing_fen", "paid_fen"}),
        "rebate_withdraw": frozenset({"outcome", "request_id", "amount_fen", "available_fen"}),
        "rebate_off": frozenset({"asked"}),
        "forward": frozenset({"text", "group_name", "links"}),
    }
)


LABELS: Mapping[str, str] = MappingProxyType(
    {
        "broadcast_deals": "群发里带的商品",
        "chat_ids": "我的ID / 群ID 的回复",
        "commission_report": "佣金报告",
        "daily_deals": "每日好物推送",
        "deal": "单个商品（转链结果）",
        "forward": "线报转发（来源群的消息，换成本群的链接）",
        "help": "帮助",
        "league_busy": "联盟暂时不可用",
        "live_now": "开播提醒",
        "live_soon": "直播预告",
        "not_owner": "只有群主能用",
        "not_promotable": "商品不能推广",
        "not_understood": "看不懂的消息（提示怎么问）",
        "own_store": "店铺：自营好物（群主发「店铺」）",
        "platform_unsupported": "暂不支持的平台",
        "product_not_found": "找不到商品",
        "rate_limited": "问得太频繁",
        "rebate_balance": "返利余额",
        "rebate_bind": "返利：绑定订单",
        "rebate_off": "返利没有开（成员问绑定/余额/提现时）",
        "rebate_paid_notice": "返利：订单已在跟踪",
        "rebate_withdraw": "返利：申请提现",
        "search_results": "搜索结果",
        "searching": "正在搜索",
        "sharer_bind": "绑定推客",
        "sharer_status": "推客绑定状态",
        "sharer_unbind": "解绑推客",
        "subscribe_usage": "订阅用法提示",
        "subscribed": "订阅成功",
        "subscription_status": "订阅状态",
        "takeout": "外卖红包",
        "takeout_push": "每日外卖红包推送",
        "thanks": "回应道谢",
        "unknown_category": "没有这个类目",
        "unsubscribed": "退订成功",
        "welcome": "新人入群欢迎",
    }
)
"""What operators read for each kind (the console's 模板 page, `tuike templates list`): Chinese first,
the kind's file name beside it."""


def label(kind: str) -> str:
    """The kind's Chinese name (a kind added without one still reads as its file name)."""
    return LABELS.get(kind, kind)
