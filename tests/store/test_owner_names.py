"""The console lists groups by their owner's name, not a wxid: the name comes from the owner speaking in
the group or a channel listing its groups, and goes when the group gets a new owner. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.chat.base import Incoming
from bot.leagues.base import Spot
from bot.services.attribution import GroupSpots
from bot.store.groups import ensure_group, list_groups


def _said(sender: str, name: str, *, owner: bool) -> Incoming:
    return Incoming(
        "m1", "r1@chatroom", "宝妈群", sender, name, "找 纸巾", mentioned=True, sender_is_owner=owner
    )


async def test_the_owner_speaking_names_the_owner_and_a_member_does_not(store: Engine) -> None:
    spots = GroupSpots(store, {"channels": Spot("channels", sharer_appid="op")}, ttl=0)
    member = await spots.group(_said("wxid_amy", "Amy", owner=False))
    assert member is not None and (member.owner_id, member.owner_name) == ("", "")
    owner = await spots.group(_said("wxid_wang", "王姐", owner=True))
    assert owner is not None and (owner.owner_id, owner.owner_name) == ("wxid_wang", "王姐")
    renamed = await spots.group(_said("wxid_wang", "王姐🌸", owner=True))
    assert renamed is not None and renamed.owner_name == "王姐🌸"


def test_a_new_owner_takes_the_old_owners_name_away(store: Engine) -> None:
    ensure_group(store, "r1@chatroom", "宝妈群", "wxid_wang", owner_name="王姐")
    handed_over = ensure_group(store, "r1@chatroom", "宝妈群", "wxid_li")  # the list says only the id
    assert (handed_over.owner_id, handed_over.owner_name) == ("wxid_li", "")
    kept = ensure_group(store, "r1@chatroom", "宝妈群")  # a member spoke: nothing about the owner
    assert (kept.owner_id, kept.owner_name) == ("wxid_li", "")


def test_the_group_list_finds_a_group_by_its_owners_name(store: Engine) -> None:
    ensure_group(store, "r1@chatroom", "宝妈群", "wxid_wang", owner_name="王姐")
    ensure_group(store, "r2@chatroom", "跑步群", "wxid_li", owner_name="李哥")
    listing = list_groups(store, since=datetime(2026, 1, 1, tzinfo=UTC), search="王姐")
    assert [row.group.room_id for row in listing.rows] == ["r1@chatroom"]


async def test_an_owner_whose_name_holds_a_nul_or_half_an_emoji_is_still_served(store: Engine) -> None:
    """Issue 33, item 20: a NUL in the owner's display name failed every message on PostgreSQL (the
    owner's name was the one text column not cleaned), and each such owner got the apology."""
    spots = GroupSpots(store, {"channels": Spot("channels", sharer_appid="op")}, ttl=0)
    owner = await spots.group(_said("wxid_wang", "王\x00姐\ud83d" + "姐" * 300, owner=True))
    assert owner is not None and owner.owner_name == "王姐" + "姐" * 254
    again = await spots.group(_said("wxid_wang", "王\x00姐\ud83d" + "姐" * 300, owner=True))
    assert again is not None and again.updated_at == owner.updated_at, "the same name: nothing to write"
    listing = list_groups(store, since=datetime(2026, 1, 1, tzinfo=UTC), search="王姐")
    assert [row.group.owner_name for row in listing.rows] == [owner.owner_name]
