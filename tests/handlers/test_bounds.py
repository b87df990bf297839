"""Memory stays bounded however many groups and links the bot sees; private chats leave no group rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.chat.base import Incoming
from bot.leagues.base import PromotionLink, SearchQuery, Spot
from bot.leagues.linkcache import LinkCache
from bot.leagues.wechat.client import ChannelsClient
from bot.leagues.wechat.league import ChannelsLeague
from bot.services.attribution import GroupSpots
from bot.store.models import Group
from tests.handlers.test_deals import Harness
from tuike_sandbox.server import SandboxServer


def _msg(chat: str, *, is_group: bool = True) -> Incoming:
    return Incoming(
        message_id=f"m-{chat}",
        chat_id=chat,
        chat_name=f"群 {chat}",
        sender_id="alice",
        sender_name="Alice",
        text="找 耳机",
        is_group=is_group,
    )


async def test_the_per_group_spot_cache_forgets_the_least_recent_groups(engine: Engine) -> None:
    spots = GroupSpots(engine, {"channels": Spot("channels", sharer_appid="op")}, capacity=50)
    for n in range(300):
        await spots(_msg(f"room{n}@chatroom"), "channels")
    # every owner binds a sharer of their own behind the cache's back: a remembered group still answers
    # from memory (the operator's sharer, until its row is read again); a forgotten one reads its row
    with Session(engine) as session:
        for group in session.exec(select(Group)).all():
            group.channels_sharer_appid = f"own-{group.room_id}"
            session.add(group)
        session.commit()
    for n in (299, 250):  # the 50 most recent groups are remembered
        assert (await spots(_msg(f"room{n}@chatroom"), "channels")).sharer_appid == "op"
    for n in (249, 0):  # older ones were forgotten: simply read again
        assert (await spots(_msg(f"room{n}@chatroom"), "channels")).sharer_appid == f"own-room{n}@chatroom"
    assert (await spots.group(_msg("room0@chatroom"))) is not None


async def test_private_chats_never_create_group_rows(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    h = Harness(engine, tmp_path)
    (text,) = await h.ask("找 蓝牙耳机", chat_id="wxid_alice", chat_name="Alice", is_group=False)
    assert "蓝牙耳机" in text
    (link,) = await h.ask("https://store.weixin.qq.com/shop/a/2001", chat_id="wxid_bob", is_group=False)
    assert "维达" in link
    with Session(engine) as session:
        assert session.exec(select(Group)).all() == []
    await h.recorder.close()


async def test_a_pasted_link_is_found_without_scanning_the_cache(engine: Engine) -> None:
    links = LinkCache(None, ttl=timedelta(hours=1), capacity=1000)

    async def make(pid: str) -> PromotionLink:
        return PromotionLink(pid, Spot("channels", "op"), shop_id="s", http_short_link=f"https://l/{pid}")

    for n in range(3000):
        pid = str(n)
        await links.get_or_create("channels", pid, Spot("channels", "op"), lambda pid=pid: make(pid))  # type: ignore[misc]
    assert len(links._memory) == 1000 and len(links._by_url) == 1000  # the index is bounded with it
    assert await links.find("https://l/2999") == ("channels", "2999", "s")
    assert await links.find("https://l/5") is None  # forgotten (and no store to ask)


async def test_the_channels_league_remembers_a_bounded_number_of_shops(
    sandbox: SandboxServer, engine: Engine
) -> None:
    client = ChannelsClient(sandbox.base_url, "wx_bound_org", "sandbox", engine=engine)
    league = ChannelsLeague(client)
    league._shops.capacity = 5
    found = await league.search(SearchQuery(keyword="耳机", limit=20))
    assert len(found) > 5
    assert len(league._shops.items) == 5
    await client.aclose()


def test_the_wechat_channel_remembers_a_bounded_number_of_chats(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.chat import wechaty

    monkeypatch.setattr(wechaty, "_KINDS_CAPACITY", 100)
    channel = wechaty.WechatyChannel(endpoint="127.0.0.1:9", token="t", data_dir=tmp_path)
    for n in range(1000):
        channel._remember_kind(f"room{n}@chatroom", True)
    assert len(channel._groups) == 100
    assert "room999@chatroom" in channel._groups


async def test_the_ilink_channel_forgets_contexts_it_can_no_longer_answer() -> None:
    from bot.chat import ilink

    now = [0.0]
    channel = ilink.IlinkChannel(base_url="http://127.0.0.1:9", token="t", clock=lambda: now[0])
    for n in range(1000):
        now[0] = n * 200.0  # a new user every 200 s: after a day, the first ones cannot be answered
        channel._incoming(
            {"message_type": 1, "from_user_id": f"u{n}", "message_id": f"m{n}", "context_token": "c"}
        )
    assert len(channel._contexts) <= ilink.CONTEXT_LIFETIME / 200 + 1
    assert "u999" in channel._contexts and "u0" not in channel._contexts
    await channel.client.aclose()


async def test_the_gateway_channel_keeps_a_bounded_number_of_rooms(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot.chat import gateway

    monkeypatch.setattr(gateway, "_ROOMS_CAPACITY", 50)
    channel = gateway.GatewayChannel(base_url="http://127.0.0.1:9", token="t", app_id="a")

    async def room_info(room_id: str) -> dict[str, object]:
        members = [{"wxid": f"{room_id}-m{i}", "nickName": "成员"} for i in range(500)]
        return {"nickName": room_id, "chatRoomOwner": "o", "memberList": members}

    monkeypatch.setattr(channel.client, "room_info", room_info)
    for n in range(300):
        await channel._room(f"{n}@chatroom")
    assert len(channel._rooms) == 50
    assert "299@chatroom" in channel._rooms
    await channel.client.aclose()
