"""The terminal channel: play a member or the owner of a pretend group.

Lines starting with `/` steer the pretend chat (`/help` lists them); everything else is a message.
When stdin is not a terminal the channel reads lines until EOF, prints every reply, and returns, so
`printf '帮助\\n' | tuike run` works in scripts and tests.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from bot.chat.base import (
    GroupInfo,
    Image,
    Incoming,
    LinkCard,
    MessageHandler,
    MiniProgramCard,
    Outgoing,
    Text,
)

if TYPE_CHECKING:
    from bot.chat.console_settings import ConsoleSettings
    from bot.chat.plugin import ChannelContext

CONSOLE_HELP = """\
控制台命令 (console commands):
  /as 名字      换一个群成员身份说话 (speak as another member)
  /owner        变成群主 (become the group owner)
  /room 群名    换到另一个群 (switch to another group)
  /private      私聊机器人 (private chat with the bot)
  /help         显示这些命令
  /quit         退出
其他内容都会当作消息发给机器人；以 @机器人名 开头表示 @ 了它。"""


@dataclass
class _State:
    room: str
    member: str
    owners: dict[str, str]
    """Room name → the member who owns it; rooms not listed are owned by the configured owner."""
    default_owner: str
    private: bool = False

    def owner(self) -> str:
        return self.owners.get(self.room, self.default_owner)


def _slug(name: str) -> str:
    return "console:" + name


class ConsoleChannel:
    name = "console"
    account = "console"

    def __init__(
        self,
        *,
        bot_name: str,
        room: str,
        member: str,
        owner: str,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.bot_name = bot_name
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty() if interactive is None else interactive
        self.state = _State(room=room, member=member, owners={}, default_owner=owner)
        self._ids = itertools.count(1)
        self._rooms: dict[str, str] = {}
        self._stopped = asyncio.Event()
        self._lines: asyncio.Queue[str | None] | None = None
        self._home = GroupInfo(_slug(room), room, _slug(owner), owner)
        """The pretend group the session starts in, owned by the configured owner."""

    # -- reading ---------------------------------------------------------------------------------

    def _prompt(self) -> str:
        where = "私聊" if self.state.private else self.state.room
        who = self.state.member + ("(群主)" if self._is_owner() else "")
        return f"[{where}] {who}> "

    def _is_owner(self) -> bool:
        return not self.state.private and self.state.member == self.state.owner()

    async def _readline(self) -> str | None:
        if self.interactive:
            self.stdout.write(self._prompt())
            self.stdout.flush()
        if self._lines is None:
            self._lines = asyncio.Queue()
            self._start_reader(self._lines)
        next_line = asyncio.ensure_future(self._lines.get())
        stopped = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({next_line, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not next_line.done():  # stop() (SIGTERM, SIGINT) while waiting for the next line
            next_line.cancel()
            return None
        line = next_line.result()
        return line if line else None

    def _start_reader(self, lines: asyncio.Queue[str | None]) -> None:
        """stdin is read by a daemon thread: a blocked read neither delays a stop nor keeps the process
        alive (the default executor's threads are waited for at exit, and the read may never end)."""
        loop = asyncio.get_running_loop()

        def read() -> None:
            while True:
                try:
                    line = self.stdin.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(lines.put_nowait, line or None)
                except RuntimeError:  # the loop is closed: the bot has stopped
                    return
                if not line:
                    return

        threading.Thread(target=read, name="console-stdin", daemon=True).start()

    def _steer(self, line: str) -> bool:
        """Handle a /command; returns False when the session should end."""
        command, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if command == "quit":
            return False
        if command == "as" and arg:
            self.state.member = arg
            self._say(f"（你现在是 {arg}）")
        elif command == "owner":
            self.state.owners[self.state.room] = self.state.member
            self.state.private = False
            self._say(f"（{self.state.member} 现在是「{self.state.room}」的群主）")
        elif command == "room" and arg:
            self.state.room = arg
            self.state.private = False
            self._say(f"（你现在在「{arg}」）")
        elif command == "private":
            self.state.private = True
            self._say("（你现在在和机器人私聊）")
        else:
            self._say(CONSOLE_HELP)
        return True

    def _incoming(self, line: str) -> Incoming:
        text = line
        mentioned = False
        for prefix in (f"@{self.bot_name}", "@bot"):
            if text.startswith(prefix):
                text = text[len(prefix) :].lstrip(" \u2005")
                mentioned = True
                break
        sender_id = _slug(self.state.member)
        if self.state.private:
            chat_id, chat_name = sender_id, self.state.member
        else:
            chat_id, chat_name = _slug(self.state.room), self.state.room
        self._rooms[chat_id] = chat_name
        return Incoming(
            message_id=f"console-{next(self._ids)}",
            chat_id=chat_id,
            chat_name=chat_name,
            sender_id=sender_id,
            sender_name=self.state.member,
            text=text,
            is_group=not self.state.private,
            mentioned=mentioned or self.state.private,
            sender_is_owner=self._is_owner(),
            account=self.account,
        )

    async def run(self, handler: MessageHandler) -> None:
        if self.interactive:
            self._say(f"{self.bot_name} 已就绪。输入 帮助 看看我能做什么，/help 看控制台命令。")
        while not self._stopped.is_set():
            line = await self._readline()
            if line is None:
                break
            line = line.rstrip("\r\n").strip()
            if not line:
                continue
            if line.startswith("/") and not line.startswith("//"):
                if not self._steer(line):
                    break
                continue
            await handler(self._incoming(line))

    # -- writing ---------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def send(self, message: Outgoing) -> None:
        lines: list[str] = []
        here = _slug(self.state.room) if not self.state.private else _slug(self.state.member)
        if message.chat_id != here:
            lines.append(f"── 发往「{self._rooms.get(message.chat_id, message.chat_id)}」──")
        asker = message.reply_to
        for part in message.reply.parts:
            if isinstance(part, Text):
                mention = part.mention_sender and asker is not None and asker.is_group
                lines.append((f"@{asker.sender_name} " if mention and asker else "") + part.text)
            elif isinstance(part, Image):
                where = part.url or f"{len(part.data)} 字节"
                lines.append(f"[图片 {part.name}] {where}" + (f"  {part.caption}" if part.caption else ""))
            elif isinstance(part, LinkCard):
                lines.append(
                    f"[链接卡片] {part.title}\n  {part.description}\n  {part.url}".replace("\n  \n", "\n")
                )
            elif isinstance(part, MiniProgramCard):
                lines.append(f"[小程序卡片] {part.title}\n  appid={part.appid} path={part.page_path}")
        self._say("\n".join(lines))

    async def list_groups(self) -> list[GroupInfo]:
        """The pretend group the console starts in (rooms visited with /room come and go with the session)."""
        return [self._home]

    async def stop(self) -> None:
        self._stopped.set()


def build(settings: ConsoleSettings, context: ChannelContext) -> ConsoleChannel:
    """The channel from its `[chat.console]` table (the registry's factory)."""
    return ConsoleChannel(
        bot_name=context.bot_name, room=settings.room, member=settings.member, owner=settings.owner
    )
