"""The console channel: a newcomer plays member and owner of a pretend group in the terminal."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.base import Image, Incoming, LinkCard, MiniProgramCard, Outgoing, Reply, Text
from bot.chat.console import ConsoleChannel


def _channel(lines: str) -> tuple[ConsoleChannel, io.StringIO]:
    out = io.StringIO()
    channel = ConsoleChannel(
        bot_name="推客小助手",
        room="测试群",
        member="小明",
        owner="群主",
        stdin=io.StringIO(lines),
        stdout=out,
        interactive=False,
    )
    return channel, out


async def _collect(lines: str) -> tuple[list[Incoming], str]:
    channel, out = _channel(lines)
    seen: list[Incoming] = []

    async def handler(message: Incoming) -> None:
        seen.append(message)
        await channel.send(Outgoing(message.chat_id, Reply.text("收到", mention_sender=True), message))

    await channel.run(handler)
    return seen, out.getvalue()


async def test_lines_become_group_messages_until_eof() -> None:
    seen, out = await _collect("你好\n\n@推客小助手 蓝牙耳机\n")
    assert [m.text for m in seen] == ["你好", "蓝牙耳机"]
    first, second = seen
    assert first.is_group and first.chat_name == "测试群" and first.sender_name == "小明"
    assert not first.mentioned and second.mentioned
    assert first.message_id != second.message_id
    assert out.count("@小明 收到") == 2


async def test_steering_commands() -> None:
    seen, out = await _collect(
        "/as 小红\n你好\n/owner\n订阅状态\n/room 二群\n在吗\n/private\n帮助\n/quit\n不会到达\n"
    )
    assert [(m.sender_name, m.chat_name, m.is_group, m.sender_is_owner) for m in seen] == [
        ("小红", "测试群", True, False),
        ("小红", "测试群", True, True),
        ("小红", "二群", True, False),
        ("小红", "小红", False, False),
    ]
    assert seen[3].mentioned, "a private chat always addresses the bot"
    assert "小红 现在是「测试群」的群主" in out
    assert "不会到达" not in "".join(m.text for m in seen)


async def test_unknown_slash_command_shows_console_help() -> None:
    seen, out = await _collect("/whatever\n")
    assert seen == []
    assert "/owner" in out and "/quit" in out


async def test_cards_and_images_print_readably_with_urls() -> None:
    channel, out = _channel("")
    reply = Reply(
        (
            Text("看看这个"),
            Image(url="https://img.example.test/qr.png", name="qr.png"),
            LinkCard(url="https://store.weixin.qq.com/shop/a/abc", title="蓝牙耳机", description="券后¥99"),
            MiniProgramCard(appid="wx123", title="小程序商品", page_path="pages/p?id=1"),
        )
    )
    await channel.send(Outgoing("console:测试群", reply))
    text = out.getvalue()
    assert "看看这个" in text
    assert "[图片 qr.png] https://img.example.test/qr.png" in text
    assert "[链接卡片] 蓝牙耳机" in text and "https://store.weixin.qq.com/shop/a/abc" in text
    assert "[小程序卡片] 小程序商品" in text and "pages/p?id=1" in text


def test_piped_help_through_tuike_run(tmp_path: Path) -> None:
    """The README promise: `printf '帮助\\n' | tuike run` prints the help text and exits 0."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="帮助\n随便聊聊\n",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "找 蓝牙耳机" in result.stdout
    assert "随便聊聊" not in result.stdout, "ordinary chat gets no answer"
    assert "embedded default" in result.stderr
    assert (tmp_path / "data" / "tuike.db").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_tuike_run_without_waiting_for_input(tmp_path: Path, sig: signal.Signals) -> None:
    """stdin stays open and silent (an operator's terminal, a pipe from a supervisor): the signal alone
    ends the run, cleanly."""
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        text=True,
    )
    assert bot.stdin is not None and bot.stdout is not None
    bot.stdin.write("帮助\n")
    bot.stdin.flush()
    for line in bot.stdout:  # the answer shows the bot is reading input
        if "找 蓝牙耳机" in line:
            break
    bot.send_signal(sig)
    try:
        bot.wait(timeout=60)
    finally:
        bot.kill()
        bot.communicate()
    assert bot.returncode == 0
