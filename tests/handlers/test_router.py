"""The router: first match wins; middleware drops duplicates, the bot's own messages, other groups."""

from __future__ import annotations

from bot.chat.base import Incoming, Reply
from bot.handlers.router import (
    CatchErrors,
    DropDuplicates,
    GroupAllowList,
    Middleware,
    Next,
    Router,
    ignore_self,
)


def _msg(mid: str = "m1", text: str = "hi", **kw: object) -> Incoming:
    base: dict[str, object] = {
        "message_id": mid,
        "chat_id": "room1",
        "chat_name": "测试群",
        "sender_id": "u1",
        "sender_name": "小明",
        "text": text,
    }
    base.update(kw)
    return Incoming(**base)  # type: ignore[arg-type]


async def _echo_if(prefix: str, message: Incoming) -> Reply | None:
    return Reply.text(prefix + message.text) if message.text.startswith(prefix) else None


async def test_first_match_wins_and_no_match_is_silence() -> None:
    calls: list[str] = []

    async def a(m: Incoming) -> Reply | None:
        calls.append("a")
        return await _echo_if("a", m)

    async def b(m: Incoming) -> Reply | None:
        calls.append("b")
        return Reply.text("b") if m.text.startswith("a") else None

    router = Router([a, b])
    reply = await router(_msg(text="abc"))
    assert reply is not None and reply.parts[0].text == "aabc"  # type: ignore[union-attr]
    assert calls == ["a"]
    assert await router(_msg(text="zzz")) is None


async def test_duplicates_self_and_allow_list() -> None:
    async def always(m: Incoming) -> Reply | None:
        return Reply.text("ok")

    router = Router([always], [ignore_self, DropDuplicates(), GroupAllowList([_msg("x").chat_id])])
    assert await router(_msg("m1"))
    assert await router(_msg("m1")) is None, "a redelivered id gets no second answer"
    assert await router(_msg("m2", from_self=True)) is None
    assert await router(_msg("m3", chat_id="room2", chat_name="别的群")) is None
    assert await router(_msg("m4", chat_id="u9", chat_name="小红", is_group=False))


async def test_allow_list_matches_room_ids_not_names() -> None:
    """Any member can rename a room: a room renamed to an allowed group's name gets nothing."""

    async def always(m: Incoming) -> Reply | None:
        return Reply.text("ok")

    allowed = _msg("x")
    router = Router([always], [GroupAllowList([allowed.chat_id])])
    assert await router(_msg("m1", chat_name="改过名的群"))
    impostor = _msg("m2", chat_id="evil@chatroom", chat_name=allowed.chat_name)
    assert await router(impostor) is None
    assert await Router([always], [GroupAllowList([allowed.chat_name])])(_msg("m3")) is None


def test_duplicate_window_expires_and_memory_is_bounded() -> None:
    now = [0.0]
    dedupe = DropDuplicates(ttl=10, capacity=3, clock=lambda: now[0])
    assert not dedupe.seen("a")
    assert dedupe.seen("a")
    now[0] = 11
    assert not dedupe.seen("a"), "after the window the id is forgotten"
    for mid in "bcdef":
        dedupe.seen(mid)
    assert len(dedupe._seen) <= 3


async def test_a_handler_bug_becomes_an_apology_not_silence() -> None:
    async def broken(m: Incoming) -> Reply | None:
        raise RuntimeError("boom")

    router = Router([broken], [CatchErrors(lambda: "稍后再试")])
    reply = await router(_msg())
    assert reply is not None and reply.parts[0].text == "稍后再试"  # type: ignore[union-attr]


async def test_middleware_runs_in_order_and_the_gate_keeps_chat_out_of_it() -> None:
    seen: list[str] = []

    def tag(name: str) -> Middleware:
        async def mw(m: Incoming, nxt: Next) -> Reply | None:
            seen.append(name)
            return await nxt(m)

        return mw

    async def answer(m: Incoming) -> Reply | None:
        seen.append("handler")
        return Reply.text("ok")

    router = Router([answer], [tag("outer"), tag("inner")], relevant=lambda m: m.text.startswith("找"))
    assert await router(_msg("m1", "今天天气不错")) is None
    assert seen == [], "chat the gate rejects never reaches middleware or handlers"
    for i in range(3):
        assert await router(_msg(f"m{i + 2}", "找 耳机"))
    assert seen == ["outer", "inner", "handler"] * 3
