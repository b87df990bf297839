"""What each template kind receives: the contract between handlers and templates.

`KINDS` names the exact variables each message kind gets; `tuike templates check` refuses a template
that uses one its kind never receives, and `bot.render.samples` holds data for every kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KINDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "help": frozenset({"bot_name", "is_group", "is_owner"}),
        "deal": frozenset({"product", "coupon", "link", "final_price_fen", "asker"}),
        "search_results": frozenset({"keyword", "items", "asker"}),
        "daily_deals": frozenset({"group_name", "date", "items", "categories", "coupons", "feeds"}),
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
        "welcome": frozenset({"member_name", "group_name", "bot_name"}),
        "subscribe_usage": frozenset({"reason", "given"}),
        "chat_ids": frozenset({"which", "sender_id", "sender_name", "chat_id", "chat_name"}),
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
    }
)
