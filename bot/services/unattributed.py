"""Why an order is on no group, said the same way by the console (the 订单 list and an order's page)
and by 佣金.

What a WeChat Channels order carries back: the order, the product, the money and the sharer who made
the link (`commission_info.sharer_info`: sharer_appid, nickname, opensharerid, ratio, amount), and
nothing a link could set for one group. The promotion-link calls (get_product_promotion_link_info,
_qrcode_info, get_promoter_single_product_promotion_info) take only the sharer (appid, or a
mini-program user's openid) and the product: no custom parameter, no tag, no link id that comes back
on the order (the league's getorder and link docs; the sandbox's Channels face serves the same). So
the links made with the operator's default sharer — shared by every group whose owner has not bound
their own 推客 — bring orders that cannot be told apart by group. They are kept unattributed and said
so, with the way out: the owner binds their own 推客 (「绑定推客」), and the group's orders from then on
come back with it (`Attributor`). Orders already placed stay where they are.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.leagues.base import Spot
from bot.leagues.registry import SHARER_LEAGUE

DEFAULT_SHARER = "default_sharer"
"""A Channels order through the operator's default sharer, which every unbound group shares."""
UNBOUND_SHARER = "unbound_sharer"
"""A Channels order through a sharer no group held when it was placed."""
UNKNOWN_IDENTITY = "unknown_identity"
"""An order whose promotion identity (PID, tag) is no group's."""
NO_IDENTITY = "no_identity"
"""An order the league returned without any promotion identity."""

SHORT: Mapping[str, str] = {
    DEFAULT_SHARER: "默认推客带来的，分不出是哪个群",
    UNBOUND_SHARER: "下单时这个推客没绑定在哪个群",
    UNKNOWN_IDENTITY: "推广位不是哪个群的",
    NO_IDENTITY: "联盟没带回推广位",
}
"""A few words for a list's cell."""

WHY: Mapping[str, str] = {
    DEFAULT_SHARER: (
        "这单是运营的默认推客带来的。没绑定自己推客的群都用默认推客生成微信小店链接，"
        "而微信小店的订单只带回推客，不带群标记，也不带链接编号，所以分不出是哪个群的。"
        "群主在群里发「绑定推客 推客appid」绑定自己的推客后，这个群以后的订单就能算到群上（已经下的单不会变）。"
    ),
    UNBOUND_SHARER: (
        "这单带回的推客在下单时没有绑定在哪个群上（可能是在群外推广的，或是绑定之前、解绑之后下的单），"
        "所以没有算到群上。"
    ),
    UNKNOWN_IDENTITY: "订单带回的推广位不是哪个群的，所以没有算到群上。",
    NO_IDENTITY: "联盟没有带回推广位信息，分不出是哪个群的。",
}
"""What the order's page says, in full."""


def default_sharer(defaults: Mapping[str, Spot]) -> str:
    """The operator's default Channels sharer appid ("" when there is none): `GroupSpots.defaults`."""
    spot = defaults.get(SHARER_LEAGUE)
    return spot.sharer_appid if spot is not None else ""


def reason(league: str, sharer_appid: str, pid: str, tag: str, default: str) -> str:
    """Why an order line of `league` that came back with these identities is on no group; `default` is
    the operator's default Channels sharer."""
    if league == SHARER_LEAGUE:
        if sharer_appid and sharer_appid == default:
            return DEFAULT_SHARER
        return UNBOUND_SHARER if sharer_appid else NO_IDENTITY
    return UNKNOWN_IDENTITY if (pid or tag) else NO_IDENTITY
