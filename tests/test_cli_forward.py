"""`tuike forward test TEXT [--group G] --json`, as an operator (or a script) runs it against the sandbox
leagues over HTTP: one JSON object with exactly `forward`, `reason` (when false), `text` and `links`
(`platform`, `from`, `to`), each group's own links, a readable Chinese summary without --json, and
`tuike forward log` handed to the log's `run(args)`."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.store import db
from bot.store.groups import ensure_group
from tests.forward.sandbox_parts import ADZONES, Foreign
from tests.helpers import tuike
from tuike_sandbox.jd_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from tuike_sandbox.pdd_face import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET, SANDBOX_MEMBER, SANDBOX_SITE


def _config(write_config: Callable[..., Path], base_url: str) -> Path:
    return write_config(
        f"""
[leagues.channels]
sandbox = false
base_url = "{base_url}"
appid = "wx_e2e_org"
secret = "e2e-secret"
sharer_appid = "wx_sharer_demo02"

[leagues.union]
enabled = false

[leagues.taobao]
enabled = true
sandbox = false
base_url = "{base_url}/router/rest"
app_key = "{SANDBOX_APP_KEY}"
app_secret = "{SANDBOX_APP_SECRET}"
pid = "mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"
adzones = {json.dumps(ADZONES[:4])}

[leagues.jd]
enabled = true
sandbox = false
base_url = "{base_url}/routerjson"
app_key = "{DEFAULT_APP_KEY}"
app_secret = "{DEFAULT_APP_SECRET}"
position_id = "3100012345"

[leagues.pdd]
enabled = true
sandbox = false
base_url = "{base_url}/api/router"
client_id = "{DEFAULT_CLIENT_ID}"
client_secret = "{DEFAULT_CLIENT_SECRET}"
pid = "{DEFAULT_PID}"

[leagues.eleme]
enabled = false

[leagues.meituan]
enabled = false

[shops.youzan]
enabled = false
"""
    )


async def _tuike(config: Path, *args: str, cwd: Path, input: str | None = None) -> Any:
    """The command in its own process, while this test's loop keeps serving the sandbox."""
    return await asyncio.to_thread(tuike, "--config", str(config), "forward", *args, cwd=cwd, input=input)


def _message(p: Foreign) -> tuple[str, list[str]]:
    """A 线报 with someone else's Taobao share, JD and PDD links; and those links or 口令 as written."""
    tb = p.taobao_products()[0]
    jd, pdd = p.jd_link(p.jd_products()[0]), p.pdd_link(p.pdd_products()[0])
    code = p.taobao_code(p.taobao_products()[1])
    text = f"🔥今日线报\n{p.taobao_share(tb)}\n另一款 ￥{code}￥ 9.9\n京东 {jd} 券后 199\n拼多多 {pdd}"
    return text, [code, jd, pdd]


async def test_forward_test_json_is_exactly_the_interface_and_each_group_gets_its_own_links(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = _config(write_config, sandbox.base_url)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    (tmp_path / "data").mkdir(exist_ok=True)
    db.upgrade(engine)
    ensure_group(engine, "room-a@chatroom", "宝妈群")
    ensure_group(engine, "room-b@chatroom", "数码群")
    engine.dispose()
    text, theirs = _message(Foreign(sandbox))

    a = await _tuike(config, "test", text, "--group", "宝妈群", "--json", cwd=tmp_path)
    b = await _tuike(config, "test", text, "--group", "room-b@chatroom", "--json", cwd=tmp_path)
    outs = []
    for result in (a, b):
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.strip().splitlines()) == 1, "one JSON object on one line"
        out = json.loads(result.stdout)
        assert list(out) == ["forward", "text", "links"] and out["forward"] is True
        assert [list(link) for link in out["links"]] == [["platform", "from", "to"]] * 4
        assert [link["platform"] for link in out["links"]] == ["taobao", "taobao", "jd", "pdd"]
        assert [link["from"] for link in out["links"]][1:] == theirs
        assert all(link["to"] in out["text"] and link["from"] not in out["text"] for link in out["links"])
        assert out["text"].startswith("🔥今日线报\n【淘宝】https://s.click.taobao.com/")
        outs.append(out)
    assert not {link["to"] for link in outs[0]["links"]} & {link["to"] for link in outs[1]["links"]}

    readable = await _tuike(config, "test", "-", "--group", "宝妈群", cwd=tmp_path, input=text)
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.startswith("会转发到「宝妈群」的内容：\n\n🔥今日线报\n")
    assert (
        "换了 4 处链接/口令：" in readable.stdout
        and f"京东  {theirs[1]}  →  https://u.jd.com/" in readable.stdout
    )


async def test_a_message_that_would_not_be_forwarded_says_why_and_exits_1(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = _config(write_config, sandbox.base_url)
    p = Foreign(sandbox)
    jd = p.jd_link(p.jd_products()[0])
    text = f"京东 {jd}\n更多好价进群 https://shop.example.com/join"
    result = await _tuike(config, "test", text, "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    out = json.loads(result.stdout)
    assert list(out) == ["forward", "reason", "text", "links"]
    assert out["forward"] is False and out["text"] == "" and out["links"] == []
    assert "https://shop.example.com/join" in out["reason"]
    said = await _tuike(config, "test", text, cwd=tmp_path)
    assert said.returncode == 1 and said.stdout.startswith(
        "不会转发到（没指定群，用默认推广身份）：有转不了的链接"
    )


async def test_bad_input_is_one_line_and_exit_2(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = _config(write_config, sandbox.base_url)
    unknown = await _tuike(config, "test", "京东 https://u.jd.com/x", "--group", "没有的群", cwd=tmp_path)
    assert unknown.returncode == 2 and "没有这个群" in unknown.stderr and "Traceback" not in unknown.stderr
    empty = await _tuike(config, "test", "  ", cwd=tmp_path)
    assert empty.returncode == 2 and "TEXT 是空的" in empty.stderr


def test_forward_log_hands_its_options_to_the_log_module(
    monkeypatch: pytest.MonkeyPatch, write_config: Callable[..., Path]
) -> None:
    seen: list[Any] = []

    def run(args: Any) -> int:
        seen.append(args)
        print(f"{args.limit} {args.json} {args.settings.forward.max_per_hour}")
        return 3

    monkeypatch.setitem(sys.modules, "bot.cli.forward_log", types.SimpleNamespace(run=run))
    config = write_config("[forward]\nmax_per_hour = 4\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "forward", "log", "--json", "--limit", "5"])
    assert result.output == "5 True 4\n"
    assert result.exit_code == 3
    assert len(seen) == 1
