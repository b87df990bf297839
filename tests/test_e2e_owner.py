"""Owners set up pushes in chat — end to end through the console channel, the app and the sandbox
league on 127.0.0.1: honest live reminders, several daily slots, times that say what is wrong."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.app import App
from bot.chat.console import ConsoleChannel
from bot.config import load_config
from bot.leagues.base import Spot
from bot.leagues.wechat.build import build_channels
from bot.render.engine import Renderer
from tests.e2e import channels_section, run_console
from tuike_sandbox.server import SandboxServer

pytestmark = pytest.mark.usefixtures("loop_watchdog")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, extra: str = "") -> Path:
    return write_config(
        channels_section(sandbox.base_url)
        + f"""
{extra}
"""
    )


async def _run(config: Path, lines: str) -> list[str]:
    """Each reply the owner got, in order (the console prints one block per reply)."""
    return (await run_console(config, "/owner\n" + lines)).split("@小明 ")[1:]


async def test_live_reminders_say_nobody_is_followed_until_the_operator_names_talents(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    replies = await _run(_config(write_config, sandbox), "订阅 直播\n订阅状态\n")
    assert "运营还没有设置要关注的达人" in replies[0]
    assert "直播提醒已开启" not in replies[0], "no promise of reminders that can never come"
    assert "暂时不会提醒" in replies[1]

    first, second = sandbox.state.catalogue.talents[:2]
    named = f'talents = [{{ appid = "{first.talent_appid}", name = "小鹿爱好物" }}, "{second.talent_appid}"]'
    replies = await _run(_config(write_config, sandbox, named), "订阅 直播\n订阅状态\n")
    assert "直播提醒已开启：小鹿爱好物 等 2 位达人" in replies[0]
    assert "开播前 15 分钟" in replies[0]
    assert "wx" not in replies[0] + replies[1], "an appid is never shown"
    assert "小鹿爱好物" in replies[1]


async def test_a_reminder_names_the_talent_and_never_shows_an_appid(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    talents = sandbox.state.catalogue.talents
    named = f'talents = [{{ appid = "{talents[3].talent_appid}", name = "小鹿爱好物" }}]'
    settings = load_config(_config(write_config, sandbox, named)).settings
    league = build_channels(settings, None, None)
    renderer = Renderer(None)
    try:
        spot = Spot("channels", sharer_appid="wx_sharer_demo02")
        lives = await league.lives([t.talent_appid for t in talents[3:]], spot)
    finally:
        await league.client.aclose()
    seen = {lv.talent_appid for lv in lives}
    assert talents[3].talent_appid in seen and len(seen) > 1, "a named and an unnamed talent"
    for live in lives:
        text = await renderer.render_async("live_soon", {"live": live, "minutes": 15, "link": ""})
        now = await renderer.render_async("live_now", {"live": live, "link": ""})
        assert "wx" not in text + now, text
        expected = "小鹿爱好物" if live.talent_appid == talents[3].talent_appid else "我们关注的达人"
        assert expected in text and expected in now


async def test_several_daily_slots_added_listed_replaced_and_removed_one_at_a_time(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    replies = await _run(
        _config(write_config, sandbox),  # 8 commands with the default limit of 5: the owner's don't count
        "订阅 每日好物 08:30 数码\n"
        "订阅 每日好物 20:00 美妆\n"
        "订阅状态\n"
        "订阅 每日好物 08:30 零食\n"
        "订阅状态\n"
        "退订 08:30\n"
        "退订 09:00\n"
        "订阅状态\n",
    )
    added, second, listed, replaced, relisted, removed, missing, last = replies
    assert "每天 08:30 给大家推送好物（手机数码）" in added
    assert "本群现在每天推送 2 次：08:30、20:00" in second
    assert "每日好物 08:30（手机数码）" in listed and "每日好物 20:00（个护美妆）" in listed
    assert listed.count("下一次") == 2, "each slot shows its own next run"
    assert "08:30 这一档已经换成新的设置" in replaced and "休闲零食" in replaced
    assert "每日好物 08:30（休闲零食）" in relisted and "手机数码" not in relisted
    assert "每日好物 20:00（个护美妆）" in relisted, "replacing one slot leaves the other"
    assert "已取消每天 08:30 的好物推送，还保留 20:00" in removed
    assert "本群没有 09:00 的每日好物推送" in missing
    assert "08:30" not in last and "每日好物 20:00" in last


async def test_the_owners_commands_do_not_count_but_a_members_do(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """Default limits (5 a minute): the owner sets up and checks seven times in a row and is answered
    each time; a member saying the same owner words is refused, counted, and told 问得太快了."""
    owner_lines = "订阅 每日好物 08:30 数码\n订阅 每日好物 20:00 美妆\n退订 20:00\n" + "订阅状态\n" * 3
    text = await run_console(
        _config(write_config, sandbox),
        "/owner\n"
        + owner_lines
        + "@推客小助手 群ID\n/as 小红\n"
        + "订阅状态\n" * 4
        + "订阅 每日好物 09:00\n" * 2,
    )
    owner = text.split("（你现在是 小红）")[0].split("@小明 ")[1:]
    member = text.split("（你现在是 小红）")[1].split("@小红 ")[1:]
    assert len(owner) == 7 and "问得太快了" not in "".join(owner)
    assert "每天 08:30 给大家推送好物" in owner[0] and "测试群" in owner[-1]
    assert len(member) == 6
    assert all("问得太快了" not in m for m in member[:5]) and "只有群主" in member[4]
    assert "问得太快了" in member[5]


@pytest.mark.parametrize(
    ("time", "why"),
    [
        ("25:00", "小时要在 0 到 23 之间"),
        ("8:60", "分钟要在 00 到 59 之间"),
        ("8:30pm", "这个时间我看不懂"),
    ],
)
async def test_a_bad_time_says_what_was_wrong(
    sandbox: SandboxServer, write_config: Callable[..., Path], time: str, why: str
) -> None:
    (reply,) = await _run(_config(write_config, sandbox), f"订阅 每日好物 {time} 数码\n")
    assert f"「{time}」" in reply and why in reply
    assert "订阅 每日好物 08:30" in reply, "and how to say it"


async def test_ids_for_the_operators_config(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """我的ID in a private chat, 群ID in a group for the owner only: the ids `operators` and
    `allowed_groups` need, which nobody can see in WeChat."""
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="测试群",
        member="小明",
        owner="群主",
        stdin=io.StringIO(
            "@推客小助手 群ID\n@推客小助手 我的ID\n/owner\n@推客小助手 群ID\n/private\n我的ID\n群ID\n"
        ),
        stdout=out,
        interactive=False,
    )
    await App(load_config(_config(write_config, sandbox)), channel=channel).run()
    text = out.getvalue()
    group_part, private_part = text.split("小明 现在是私聊", 1) if "小明 现在是私聊" in text else (text, text)
    not_owner, not_here, group = (r.strip() for r in group_part.split("@小明 ")[1:4])
    assert not_owner == "只有群主或运营可以查看群 ID 哦～"
    assert "私聊我发「我的ID」" in not_here and "：" not in not_here, "no id shown to the whole group"
    assert group.startswith("🆔 「测试群」的群 ID：") and "allowed_groups" in group
    assert "🆔 你的 ID：" in private_part and "operators" in private_part
    assert "群 ID 要在群里问" in private_part
    group_id = group.split("：", 1)[1].split()[0]
    my_id = private_part.split("🆔 你的 ID：", 1)[1].split()[0]
    assert group_id and my_id and group_id != my_id
