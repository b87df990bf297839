"""`tuike channels feeds|windows|clues` against the sandbox over real HTTP, as scripts read them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from tests.e2e import channels_section
from tuike_sandbox.server import SandboxServer


async def _tuike(config: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, talents: str = "[]") -> Path:
    return write_config(
        channels_section(sandbox.base_url) + f'mini_program_appid = "wx_sandbox_mp"\ntalents = {talents}\n'
    )


async def test_feeds_json_of_the_followed_talents_or_one(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    catalogue = sandbox.state.catalogue
    first, second = catalogue.talents[:2]
    followed = f'[{{ appid = "{first.talent_appid}", name = "{first.nickname}" }}, "{second.talent_appid}"]'
    config = _config(write_config, sandbox, followed)
    code, out, err = await _tuike(config, "channels", "feeds", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    expected = [f for f in catalogue.feeds if f.talent_appid in (first.talent_appid, second.talent_appid)]
    assert [r["export_id"] for r in rows] == [f.export_id for f in expected]
    assert all(set(r) == {"export_id", "talent_appid", "title", "products"} for r in rows)
    product = catalogue.product(expected[0].product_id)
    assert product is not None
    assert rows[0]["title"] == product.title and rows[0]["products"] == [str(product.product_id)]
    code, out, _ = await _tuike(config, "channels", "feeds", "--talent", second.talent_appid, "--json")
    assert code == 0 and {json.loads(line)["talent_appid"] for line in out.splitlines()} == {
        second.talent_appid
    }


async def test_feeds_without_talents_says_how(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    code, out, err = await _tuike(_config(write_config, sandbox), "channels", "feeds", "--json")
    assert code == 2 and out == "" and "talents" in err


async def test_windows_and_clues(sandbox: SandboxServer, write_config: Callable[..., Path]) -> None:
    talents = sandbox.state.catalogue.talents
    followed = (
        f'[{{ appid = "{talents[0].talent_appid}", name = "{talents[0].nickname}", '
        f'openfinderid = "{talents[0].openfinderid}" }}, '
        f'{{ appid = "{talents[-1].talent_appid}", openfinderid = "{talents[-1].openfinderid}" }}]'
    )
    config = _config(write_config, sandbox, followed)
    code, out, err = await _tuike(config, "channels", "windows")
    assert code == 0, err
    assert f"{talents[0].nickname}：橱窗里 160 件商品" in out and "达人还没有授权橱窗给机构" in out
    code, out, _ = await _tuike(config, "channels", "clues", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows and all(r["sharer_appid"].startswith("wx_sharer_demo") for r in rows)
