"""Owners become Channels 推客 — end to end through the console channel, the app and the sandbox league
on 127.0.0.1: once a group's owner has bound their sharer, the links members get in that group are
issued for it (as the sandbox recorded them), while other groups keep the operator's default."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e import channels_section, run_console
from tuike_sandbox.server import SandboxServer

pytestmark = pytest.mark.usefixtures("loop_watchdog")

DEFAULT = "wx_sharer_demo02"  # the operator's, in channels_section
LINK = re.compile(r"https://store\.weixin\.qq\.com/shop/a/(\w+)")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer) -> Path:
    return write_config(channels_section(sandbox.base_url) + "\n[deals]\nmember_requests = 30\n")


def _sharers(sandbox: SandboxServer, reply: str) -> set[str]:
    """The sharer each link in the reply was issued for, by the sandbox's own record."""
    tokens = LINK.findall(reply)
    assert tokens, reply
    return {sandbox.state.links[t].sharer_appid for t in tokens}


async def test_a_bound_owners_group_gets_links_for_their_sharer_and_others_keep_the_default(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    new = "wx3f9a1c2b7d5e8f60"  # registered as a 推客, not yet bound to the organisation
    script = (
        # 测试群: 小明 owns it and binds a sharer the organisation already has
        "/owner\n"
        "绑定推客 wx_sharer_demo03\n"
        "/as 小红\n"
        "解绑推客\n"
        "找 蓝牙耳机\n"
        # 隔壁群: 阿强 owns it and binds a new sharer, which takes the bind step first
        "/room 隔壁群\n"
        "/as 阿强\n"
        "/owner\n"
        f"绑定推客 {new}\n"
        "/as 小红\n"
        "找 蓝牙耳机\n"
        "/as 阿强\n"
        "推客状态\n"
        "/as 小红\n"
        "找 蓝牙耳机\n"
        # 第三个群: nobody bound anything
        "/room 第三个群\n"
        "找 蓝牙耳机\n"
    )
    out = await run_console(_config(write_config, sandbox), script)
    first, second, third = out.split("（你现在在「")

    owner_part, member_part = first.split("（你现在是 小红）")
    bound = owner_part.split("@小明 ")[1]
    refused, search = member_part.split("@小红 ")[1:]
    assert "绑定成功" in bound and "数码发烧友-老周" in bound
    assert "只有群主" in refused, "a member cannot undo the owner's binding"
    assert _sharers(sandbox, search) == {"wx_sharer_demo03"}

    pending, before, done, after = (
        part.split("\n（你现在是")[0] for part in re.split(r"@(?:阿强|小红) ", second)[1:]
    )
    assert "还差最后一步" in pending and "联系运营" in pending
    assert "sharer_appid=" not in pending, "the owner gets a step to follow, not the league's query string"
    assert _sharers(sandbox, before) == {DEFAULT}, "until the binding is done, the default sharer"
    assert "绑定完成" in done
    assert _sharers(sandbox, after) == {new}

    assert _sharers(sandbox, third) == {DEFAULT}
