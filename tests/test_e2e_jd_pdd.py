"""JD and PDD end to end through the console channel, the app and the sandbox over HTTP on 127.0.0.1:
someone else's pasted links come back as this group's links, and 找 mixes every enabled league."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.leagues.jd.league import sub_union_id
from bot.leagues.taobao.build import SANDBOX_PID
from bot.store import db
from bot.store.models import LeagueSpot
from tests.e2e import channels_section, run_console
from tuike_sandbox.jd_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, JdFace, jd_sku
from tuike_sandbox.pdd_face import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PID, PddFace
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import SANDBOX_APP_KEY, SANDBOX_APP_SECRET

JD_LINK = re.compile(r"https://u\.jd\.com/[A-Za-z0-9]+")
PDD_LINK = re.compile(r"https://p\.pinduoduo\.com/[A-Za-z0-9]+")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, extra: str = "") -> Path:
    return write_config(
        channels_section(sandbox.base_url)
        + f"""

[leagues.taobao]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/router/rest"
app_key = "{SANDBOX_APP_KEY}"
app_secret = "{SANDBOX_APP_SECRET}"
pid = "{SANDBOX_PID}"

[leagues.jd]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/routerjson"
app_key = "{DEFAULT_APP_KEY}"
app_secret = "{DEFAULT_APP_SECRET}"
position_id = "3100012345"

[leagues.pdd]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/api/router"
client_id = "{DEFAULT_CLIENT_ID}"
client_secret = "{DEFAULT_CLIENT_SECRET}"
pid = "{DEFAULT_PID}"
{extra}
"""
    )


_run = run_console


def _faces(sandbox: SandboxServer) -> tuple[JdFace, PddFace]:
    jd, pdd = sandbox.face("/routerjson"), sandbox.face("/api/router")
    assert isinstance(jd, JdFace) and isinstance(pdd, PddFace)
    return jd, pdd


async def test_someone_elses_jd_and_pdd_links_come_back_as_the_groups(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    jd, pdd = _faces(sandbox)
    item = next(p for p in jd.catalogue.products if jd.promotable(p) and jd.share_percent(p) > 0)
    theirs_jd = jd.issue_link(jd_sku(item.product_id), "another_operator", "777", "4000999999", "")
    goods = next(p for p in pdd.catalogue.products if pdd.on_jinbao(p))
    theirs_pdd = pdd.issue_link(goods, "10000001_123456789", '{"uid":"stranger"}')
    config = _config(write_config, sandbox)
    out = await _run(
        config,
        f"这个划算吗 https://u.jd.com/{theirs_jd.token}\n"
        f"拼多多上这个 https://p.pinduoduo.com/{theirs_pdd.token} 快看\n",
    )
    assert item.title[:8] in out and goods.title[:8] in out
    [ours_jd] = JD_LINK.findall(out)
    [ours_pdd] = PDD_LINK.findall(out)
    assert theirs_jd.token not in ours_jd and theirs_pdd.token not in ours_pdd

    issued_jd = jd.links[ours_jd.rsplit("/", 1)[-1]]
    assert issued_jd.sub_union_id == sub_union_id("console_测试群") or issued_jd.sub_union_id.startswith(
        "tk_"
    )
    assert issued_jd.position_id == "3100012345"
    issued_pdd = pdd.links[ours_pdd.rsplit("/", 1)[-1]]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    with Session(engine) as session:
        kept = {row.league: row for row in session.exec(select(LeagueSpot)).all()}
    engine.dispose()
    assert (issued_pdd.pid, issued_pdd.custom_parameters) == (kept["pdd"].pid, kept["pdd"].tag)
    assert issued_pdd.pid != DEFAULT_PID, "the group has a PID of its own"
    assert issued_jd.sub_union_id == kept["jd"].tag, "the group's subUnionId is kept"

    # after a restart the group keeps its identities: no new PID
    made = pdd.calls["pdd.ddk.goods.pid.generate"]
    again = await _run(config, f"https://p.pinduoduo.com/{theirs_pdd.token}\n")
    assert PDD_LINK.findall(again) == [ours_pdd]
    assert pdd.calls["pdd.ddk.goods.pid.generate"] == made == 1


async def test_a_keyword_search_mixes_all_four_leagues(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox, extra="\n[deals]\nresults_per_search = 4\n")
    out = await _run(config, "找 空气炸锅\n")
    assert out.startswith("@小明 为你找到「空气炸锅」的好价")
    for name in ("【微信小店】", "【淘宝/天猫】", "拼多多】", "京东"):
        assert name in out, name
    numbered = [line for line in out.splitlines() if re.match(r"^\d\. ", line)]
    assert len(numbered) == 4


async def test_a_pdd_goods_that_left_jinbao_gets_a_short_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    _, pdd = _faces(sandbox)
    gone = next(p for p in pdd.catalogue.products if not pdd.on_jinbao(p))
    from tuike_sandbox.pdd_face import goods_sign

    out = await _run(
        _config(write_config, sandbox),
        f"https://mobile.yangkeduo.com/goods.html?goods_sign={goods_sign(gone.product_id)}\n",
    )
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 4
    assert "没有参加多多进宝推广" in out


async def test_a_group_pid_without_registration_leaves_pdd_out_not_the_whole_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    _, pdd = _faces(sandbox)
    pdd.members[DEFAULT_CLIENT_ID].bind_new_pids = False  # this member registers each PID by hand
    config = _config(write_config, sandbox, extra="\n[deals]\nresults_per_search = 4\n")
    with caplog.at_level(logging.ERROR):
        out = await _run(config, "找 空气炸锅\n")
    assert "【微信小店】" in out and "京东" in out and "【淘宝/天猫】" in out
    assert "p.pinduoduo.com" not in out
    assert any("tuike pdd register" in r.getMessage() for r in caplog.records), "the operator is told how"


async def test_a_jd_code_and_a_pdd_share_text_are_converted(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    jd, pdd = _faces(sandbox)
    item = next(p for p in jd.catalogue.products if jd.promotable(p) and jd.share_percent(p) > 0)
    theirs = jd.issue_link(jd_sku(item.product_id), "another_operator", "777", "4000999999", "")
    code = f"【京东】https://3.cn/-{theirs.token}「{item.title}」点击链接直接打开"
    goods = next(p for p in pdd.catalogue.products if pdd.on_jinbao(p) and p.product_id != item.product_id)
    from tuike_sandbox.pdd_face import goods_id

    share = (
        f"【拼多多】{goods.title[:12]}，快来和我一起拼单吧 "
        f"https://mobile.yangkeduo.com/goods.html?goods_id={goods_id(goods.product_id)}&_x_share_id=abc"
    )
    out = await _run(_config(write_config, sandbox), f"{code}\n{share}\n")
    assert item.title[:8] in out and goods.title[:8] in out
    assert len(JD_LINK.findall(out)) == 1 and theirs.token not in JD_LINK.findall(out)[0]
    assert len(PDD_LINK.findall(out)) == 1
