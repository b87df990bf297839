"""Taobao end to end: the console channel, the app, and the sandbox's TOP gateway over HTTP on 127.0.0.1
(with the real-gateway settings: sandbox = false and base_url pointing at it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.handlers.parse import find_product_refs
from tests.e2e import channels_section, run_console
from tuike_sandbox.server import SandboxServer
from tuike_sandbox.top_face import (
    SANDBOX_APP_KEY,
    SANDBOX_APP_SECRET,
    SANDBOX_MEMBER,
    SANDBOX_SITE,
    TopFace,
)

TPWD = re.compile(r"￥[A-Za-z0-9]{11}￥")
PID = f"mm_{SANDBOX_MEMBER}_{SANDBOX_SITE}_110000000001"


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
sign_method = "hmac"
pid = "{PID}"
adzones = ["120000000001", "120000000002"]
max_retries = 1
{extra}
"""
    )


_run = run_console


def _face(sandbox: SandboxServer) -> TopFace:
    face: TopFace = sandbox.face("/router/rest")
    return face


async def test_someone_elses_share_text_gets_a_new_tpwd_for_this_group(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    face = _face(sandbox)
    product = next(p for p in sandbox.state.catalogue.products if p.status == 1 and p.coupon_ids)
    shared = face.foreign_share_text(product).replace("\n", " ")
    theirs = find_product_refs(shared)[0].code
    out = await _run(_config(write_config, sandbox), f"{shared}\n/room 另一个群\n{shared}\n")
    answers = out.split("（你现在在「另一个群」）")
    codes = [TPWD.findall(part) for part in answers]
    assert all(len(c) == 1 for c in codes), out
    first, second = codes[0][0], codes[1][0]
    assert first != second, "each group gets its own 淘口令"
    assert theirs not in (first[1:-1], second[1:-1])
    for part, code in zip(answers, (first, second), strict=True):
        reply = part[part.index("@小明") :]
        assert reply.startswith(f"@小明 {code} 复制这条消息，打开淘宝"), reply
        assert product.title[:20] in reply and "https://s.click.taobao.com/" in reply
    adzones = [f["adzone_id"] for f in face.forms if f["method"] == "taobao.tbk.dg.general.link.convert"]
    assert "120000000001" in adzones and "120000000002" in adzones
    # the group's link earns: an order shows up under the group's adzone
    assert {o.adzone_id for o in face.orders} == {"120000000001", "120000000002"}


async def test_a_keyword_search_mixes_taobao_and_channels(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    out = await _run(_config(write_config, sandbox), "找 蓝牙耳机\n")
    assert out.startswith("@小明 为你找到「蓝牙耳机」的好价")
    assert "【淘宝/天猫】" in out and "【微信小店】" in out
    assert TPWD.search(out) and "https://store.weixin.qq.com/shop/a/" in out
    prices = [int(y) * 100 + int(f) for y, f in re.findall(r"(?:券后|到手价) ¥(\d+)\.(\d\d)", out)]
    assert len(prices) == 3 and prices == sorted(prices)


async def test_only_the_leagues_the_operator_lists_are_searched(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    out = await _run(_config(write_config, sandbox, '\n[deals]\nleagues = ["taobao"]\n'), "找 蓝牙耳机\n")
    assert "【淘宝/天猫】" in out and "【微信小店】" not in out
    assert sandbox.state.calls["/channels/ec/promoter/get_promote_product_list"] == 0


async def test_links_that_cannot_be_promoted_get_a_short_friendly_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    outside = next(p for p in sandbox.state.catalogue.products if p.status != 1)
    from tuike_sandbox.top_face import num_iid_of

    face = _face(sandbox)
    out = await _run(
        _config(write_config, sandbox),
        "【闲鱼】https://m.tb.cn/h.Tz8xQ1a?tk=Qw3Er5Ty7Ui 「我在闲鱼发布了【九成新 自行车】」点击链接直接打开\n"
        "https://www.goofish.com/item?id=812345678901\n"
        "https://chaoshi.detail.tmall.com/item.htm?id=612345678901\n"
        f"https://detail.tmall.com/item.htm?id={num_iid_of(outside)}\n"
        "￥Zz9Yy8Xx7Ww￥ 复制这条消息，打开淘宝\n",
    )
    assert out.count("闲鱼的二手宝贝") == 2
    assert "天猫超市的商品暂时转不了链" in out
    assert "没有参加淘宝联盟推广" in out
    assert "识别不出来" in out
    assert "Traceback" not in out
    converted = [f.get("material_list", "") for f in face.forms]
    assert not any("goofish" in m or "chaoshi" in m or "m.tb.cn/h.Tz8" in m for m in converted), (
        "闲鱼/超市: not tried"
    )


async def test_taobao_throttling_gets_a_friendly_answer(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    _face(sandbox).faults.throttle_all = True
    out = await _run(_config(write_config, sandbox, '\n[deals]\nleagues = ["taobao"]\n'), "找 纸巾\n")
    assert "稍后再试" in out and "Traceback" not in out


async def test_a_share_text_whose_code_cannot_be_read_is_searched_by_its_quoted_title(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    """An expired or foreign 口令 the league cannot read, in a share text that quotes the title: the
    member gets the search for that title instead of 「识别不出来」 (issue 30)."""
    product = next(p for p in sandbox.state.catalogue.products if p.status == 1 and p.coupon_ids)
    shared = (
        f"【淘宝】https://m.tb.cn/h.Zq8Wx7Vb6?tk=Zz9Yy8Xx7Ww CZ0001 「{product.title}」 "
        "点击链接直接打开 或者 淘宝搜索直接打开"
    )
    out = await _run(_config(write_config, sandbox), f"{shared}\n")
    assert "识别不出来" not in out, out
    assert product.title[:12] in out and TPWD.search(out), out
