"""The paid-order notice (`[rebate] notify_paid`): after a sync, a member whose bound order is now paid
and tracked hears it once in private chat — 「订单已跟踪，确认收货后返 ¥x.xx」 from the
`rebate_paid_notice` template.

Once per order: the ledger records the notice (`bot.store.rebate.claim_paid_notices`) before it is
handed to `send`, so a restart or a second sync never repeats it; the 绑定 answer counts as the
notice when the order was already paid at binding. `send(chat_id, text)` is the app's: it queues the
message on the account's paced sender.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import Engine

from bot.render.engine import Renderer, RenderError
from bot.store import rebate as ledger

log = logging.getLogger(__name__)

Send = Callable[[str, str], Awaitable[object]]


async def notify_paid(
    engine: Engine, send: Send, renderer: Renderer | None = None, *, via: Mapping[str, Send] | None = None
) -> int:
    """Tell every member whose bound order newly became paid; how many were told.

    `via` maps a chat account to its sender: a member is told through the account they bound through
    (a member id means nothing on another account's platform), and `send` tells the members bound
    before accounts were recorded. A member bound through an account not in `via` (one that may not
    write first, as iLink, or one another process serves) is left for later, unclaimed. Without `via`,
    `send` tells everyone."""
    accounts = None if via is None else list(via)
    notices = await asyncio.to_thread(ledger.claim_paid_notices, engine, accounts)
    renderer = renderer or Renderer(None)
    told = 0
    for notice in notices:
        context = {
            "order_id": notice.order_id,
            "league": notice.league,
            "pending_fen": notice.pending_fen,
        }
        try:
            text = await renderer.render_async("rebate_paid_notice", context, group=notice.member_id)
            await (via.get(notice.account, send) if via is not None else send)(notice.member_id, text)
        except (RenderError, RuntimeError, OSError) as exc:  # e.g. the sender is closing: not again
            log.warning("paid-order notice for order %s not sent: %s", notice.order_id, exc)
            continue
        told += 1
    if notices:
        log.info("rebates: %d paid-order notices", told)
    return told
