"""Vipshop end to end through the console channel, the app and the sandbox's vop face over HTTP on
127.0.0.1: a pasted vip.com link (anyone's) comes back as this group's link, made for the group's own
PID; 找 mixes Vipshop among the other leagues; goods that cannot be promoted get a short answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from bot.store import db
from bot.store.models import LeagueSpot
from tests.e2e import channels_section, run_console
from tuike_sandbox.jd_face import DEFAULT_APP_KEY as JD_KEY
from tuike_sandbox.jd_face import DEFAULT_APP_SECRET as JD_SECRET
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.vip_face import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, VipFace, brand_id, goods_id

VIP_LINK = re.compile(r"https://t\.vip\.com/[A-Za-z0-9]+")


def _config(write_config: Callable[..., Path], sandbox: SandboxServer, extra: str = "") -> Path:
    return write_config(
        channels_section(sandbox.base_url)
        + f"""

[leagues.jd]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/routerjson"
app_key = "{JD_KEY}"
app_secret = "{JD_SECRET}"
position_id = "3100012345"

[leagues.vip]
enabled = true
sandbox = false
base_url = "{sandbox.base_url}/vop"
app_key = "{DEFAULT_APP_KEY}"
app_secret = "{DEFAULT_APP_SECRET}"
{extra}
"""
    )


def _face(sandbox: SandboxServer) -> VipFace:
    face = sandbox.face("/vop")
    assert isinstance(face, VipFace)
    return face


async def test_someone_elses_vip_links_come_back_as_the_groups(
    sandbox: SandboxServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    face = _face(sandbox)
    p = next(
        x for x in face.catalogue.products if face.on_union(x) and face.on_shelf(x) and not face.sold_out(x)
    )
    theirs = face.issue_link(p, "", "stranger")
    page = f"https://m.vip.com/product-{brand_id(p)}-{goods_id(p.product_id)}.html"
    config = _config(write_config, sandbox)
    out = await run_console(
        config, f"这个划算吗 {page}\n【唯品会】https://t.vip.com/{theirs.token} 大牌特卖\n"
    )
    assert out.count(p.title[:8]) >= 2, out
    links = VIP_LINK.findall(out)
    assert len(links) == 2 and theirs.token not in links[1]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'data' / 'tuike.db'}")
    with Session(engine) as session:
        kept = session.exec(select(LeagueSpot).where(LeagueSpot.league == "vip")).one()
    engine.dispose()
    for url in links:
        issued = face.links[url.rsplit("/", 1)[-1]]
        assert (issued.chan_tag, issued.stat_param) == (kept.pid, kept.tag), "made for the group's own PID"
    assert face.calls["UnionPidService.genPid"] == 1

    # after a restart the group keeps its PID: no new one
    again = await run_console(config, f"{page}\n")
    assert VIP_LINK.findall(again) == links[:1]
    assert face.calls["UnionPidService.genPid"] == 1


async def test_a_keyword_search_mixes_vipshop_in(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(
        write_config,
        sandbox,
        extra='\n[deals]\nresults_per_search = 4\nleagues = ["channels", "jd", "vip"]\n',
    )
    out = await run_console(config, "找 运动鞋\n")
    assert out.startswith("@小明 为你找到「运动鞋」的好价"), out
    assert "唯品会" in out and VIP_LINK.search(out), out
    assert "京东" in out or "微信小店" in out, out


async def test_goods_that_cannot_be_promoted_get_a_short_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    face = _face(sandbox)
    directed = next(x for x in face.catalogue.products if not face.on_union(x))
    sold = next(
        x for x in face.catalogue.products if face.on_union(x) and face.on_shelf(x) and face.sold_out(x)
    )
    out = await run_console(
        _config(write_config, sandbox),
        f"https://detail.vip.com/detail-{brand_id(directed)}-{goods_id(directed.product_id)}.html\n"
        f"https://m.vip.com/product-{brand_id(sold)}-{goods_id(sold.product_id)}.html\n"
        "https://t.vip.com/Hq7KpZxW\n",
    )
    assert "没有参加唯品会联盟推广" in out, out
    assert "可能已经下架" in out, out
    assert "识别不出来" in out, out
    assert not VIP_LINK.search(out)
