"""Which chat account is in which group, as far as sending has shown: a group belongs to the account
that is in it.

A database from before accounts has groups (and subscriptions) with no account (''); each is adopted
by the first account that hears from it or lists it (`bot.store.groups.ensure_group`). Until then,
every account's process may push it, and the one that claims a slot first may not be in the group:
the gateway answers 「你不在该群聊中」 and the group got nothing that day (4 of 20 groups with two
accounts on one PostgreSQL database). Now such a refusal hands the slot over (`hand_over`): the claim
is released for an account that is in the group, this account is recorded as not in it (a
`chat_state` row `not_in:<room id>`, so its pushes leave the group alone from then on, across
restarts), and a group this account had adopted goes back to unadopted for the one that is in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, exists, literal, update
from sqlmodel import Session, col

from bot.store import chat_state
from bot.store.models import ChatState, Group, PushLog, Subscription, utcnow

NOT_IN = "not_in:"
"""The `chat_state` key prefix of a group (by room id) the account was refused sending to."""
_OPEN = ("claimed", "sending")
"""Push-log statuses of a claim still in hand (`bot.push.claims`)."""


def hand_over(engine: Engine, account: str, group_id: int, slot: str, owner: str) -> bool:
    """`account` was refused sending slot `slot` to group `group_id` as not a member: release the claim
    (`owner`'s, still open) so another account's process claims it, remember that `account` is not in
    the group, and give the group back if `account` held it. True when the claim was released."""
    with Session(engine) as session:
        group = session.get(Group, group_id)
        if group is None:
            return False
        room_id = group.room_id
        if group.account == account:
            group.account, group.updated_at = "", utcnow()
            session.add(group)
            session.execute(
                update(Subscription)
                .where(col(Subscription.group_id) == group_id, col(Subscription.account) == account)
                .values(account="")
            )
        released = session.execute(
            delete(PushLog).where(
                col(PushLog.group_id) == group_id,
                col(PushLog.slot) == slot,
                col(PushLog.claimed_by) == owner,
                col(PushLog.status).in_(_OPEN),
            )
        )
        session.commit()
    chat_state.put(engine, account, NOT_IN + room_id, utcnow().isoformat())
    return bool(getattr(released, "rowcount", 0))


def adopt(engine: Engine, group_id: int, account: str) -> bool:
    """`account` just sent to the unadopted group `group_id`, so it is in it: the group and its
    subscriptions become the account's (as when it hears from the group). True when it adopted it."""
    with Session(engine) as session:
        adopted = session.execute(
            update(Group)
            .where(col(Group.id) == group_id, col(Group.account) == "")
            .values(account=account, updated_at=utcnow())
        )
        if not getattr(adopted, "rowcount", 0):
            return False
        session.execute(
            update(Subscription)
            .where(col(Subscription.group_id) == group_id, col(Subscription.account) == "")
            .values(account=account)
        )
        session.commit()
    return True


def not_refused(account: str) -> ColumnElement[bool]:
    """A WHERE clause on `Group`: leaves out the unadopted groups `account` was refused sending to (the
    account's own groups stay, whatever was recorded before it adopted them)."""
    refused: Any = (
        exists()
        .where(col(ChatState.account) == account, col(ChatState.key) == literal(NOT_IN) + col(Group.room_id))
        .correlate(Group)
    )
    clause: ColumnElement[bool] = (col(Group.account) != "") | ~refused
    return clause
