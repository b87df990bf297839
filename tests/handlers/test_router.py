"""The router: first match wins; middleware drops duplicates, the bot's own messages, other groups."""

from __future__ import annotations

from unittest.mock import patch

from bot.chat.base import Incoming, Reply
from bot.handlers import request as request_module
from bot.handlers.request import Request, RequestKind
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
        async def mw(r: Request, nxt: Next) -> Reply | None:
            seen.append(name)
            return await nxt(r)

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


class _Takes:
    """A handler registered for some request kinds; it notes every request it is given."""

    def __init__(self, name: str, kinds: set[RequestKind] | None, seen: list[tuple[str, Request]]) -> None:
        self.name = name
        self.takes = None if kinds is None else frozenset(kinds)
        self.seen = seen

    async def handle(self, request: Request) -> Reply | None:
        self.seen.append((self.name, request))
        return None


async def test_handlers_get_only_the_request_kinds_they_registered_for() -> None:
    seen: list[tuple[str, Request]] = []
    router = Router(
        [
            _Takes("help", {"help"}, seen),
            _Takes("deals", {"link", "keyword"}, seen),
            _Takes("owner", {"subscribe", "subscription_status"}, seen),
            _Takes("every", None, seen),
        ]
    )
    said = {
        "帮助": ["help", "every"],
        "找 蓝牙耳机": ["deals", "every"],
        "看看这个 https://item.jd.com/100012043978.html": ["deals", "every"],
        "订阅状态": ["owner", "every"],
        "今天天气不错": ["every"],
    }
    for i, (text, names) in enumerate(said.items()):
        seen.clear()
        await router(_msg(f"m{i}", text))
        assert [name for name, _ in seen] == names, text


async def test_a_message_is_parsed_once_and_every_part_sees_the_same_request() -> None:
    seen: list[tuple[str, Request]] = []
    requests: list[Request] = []

    async def note(r: Request, nxt: Next) -> Reply | None:
        requests.append(r)
        assert r.kinds  # the middleware asks too (as the rate limit does)
        return await nxt(r)

    router = Router(
        [_Takes(name, {"keyword", "link", "help"}, seen) for name in ("a", "b", "c")], [note, note]
    )
    calls = {"refs": 0, "command": 0}
    real_refs, real_command = request_module.find_product_refs, request_module.parse_command

    def count_refs(text: str) -> object:
        calls["refs"] += 1
        return real_refs(text)

    def count_command(text: str, *, mentioned: bool) -> object:
        calls["command"] += 1
        return real_command(text, mentioned=mentioned)

    with (
        patch.object(request_module, "find_product_refs", count_refs),
        patch.object(request_module, "parse_command", count_command),
    ):
        await router(_msg("m1", "找 蓝牙耳机"))
    assert calls == {"refs": 1, "command": 1}
    assert [name for name, _ in seen] == ["a", "b", "c"]
    assert len({id(r) for r in requests} | {id(r) for _, r in seen}) == 1
    assert seen[0][1].keyword == "蓝牙耳机" and seen[0][1].kinds == {"keyword", "search"}


async def test_one_rule_for_addressed_and_keywords_where_the_setting_opens_them() -> None:
    private = Request(_msg(text="蓝牙耳机", is_group=False))
    assert private.addressed and private.keyword == "蓝牙耳机"
    mentioned = Request(_msg(text="蓝牙耳机", mentioned=True))
    assert mentioned.addressed and mentioned.keyword == "蓝牙耳机"
    group = Request(_msg(text="蓝牙耳机"))
    assert not group.addressed and group.keyword == "" and group.command is None
    # 「找蓝牙耳机」 in a group: a command only when said to the bot, whatever keyword_needs_mention says
    assert Request(_msg(text="找 蓝牙耳机"), keyword_needs_mention=False).keyword == "蓝牙耳机"
    # a greeting said to the bot is help; in a group it is nothing
    assert Request(_msg(text="你好", mentioned=True)).kinds == {"help"}
    assert Request(_msg(text="你好")).kinds == frozenset()
    assert Request(_msg(text="嗯嗯", is_group=False)).kinds == {"ack"}
    assert Request(_msg(text="谢谢", is_group=False)).kinds == {"thanks"}
    # said to the bot with no command, a link is not chat either
    assert Request(_msg(text="", mentioned=True)).kinds == {"help"}
    link = Request(_msg(text="https://item.jd.com/100012043978.html", mentioned=True))
    assert link.kinds == {"link"} and link.keyword == ""
