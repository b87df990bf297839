"""Pictures and cards in deal answers (`[deals] with_image`, `link_card`): the console shows what a real
channel would send — the product picture before the answer, a link card after a one-product answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.e2e import run_console
from tests.test_e2e_jd_pdd import _config, _faces
from tuike_sandbox.jd_face import jd_sku
from tuike_sandbox.server import SandboxServer


async def test_a_pasted_link_gets_the_picture_first_and_a_link_card_after(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    jd, _pdd = _faces(sandbox)
    item = next(
        p for p in jd.catalogue.products if jd.promotable(p) and jd.share_percent(p) > 0 and p.head_imgs
    )
    theirs = jd.issue_link(jd_sku(item.product_id), "another_operator", "777", "4000999999", "")
    config = _config(write_config, sandbox, "\n[deals]\nwith_image = true\nlink_card = true\n")
    out = await run_console(config, f"https://u.jd.com/{theirs.token}\n")
    picture = out.index("[图片 ")
    title = out.index(item.title[:8])
    card = out.index("[链接卡片]")
    assert picture < title < card, out
    assert item.head_imgs[0] in out[picture : out.index("\n", picture)]
    card_lines = out[card:].splitlines()[:3]
    assert "¥" in card_lines[1] and card_lines[2].strip().startswith("https://u.jd.com/"), card_lines


async def test_a_search_shows_one_picture_of_the_top_deal(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    config = _config(write_config, sandbox, "\n[deals]\nwith_image = true\n")
    out = await run_console(config, "找 蓝牙耳机\n")
    assert out.count("[图片 ") == 1, out
    assert "[链接卡片]" not in out


async def test_by_default_answers_are_text_only(
    sandbox: SandboxServer, write_config: Callable[..., Path]
) -> None:
    jd, _pdd = _faces(sandbox)
    item = next(p for p in jd.catalogue.products if jd.promotable(p) and jd.share_percent(p) > 0)
    theirs = jd.issue_link(jd_sku(item.product_id), "another_operator", "777", "4000999999", "")
    out = await run_console(_config(write_config, sandbox), f"https://u.jd.com/{theirs.token}\n找 蓝牙耳机\n")
    assert "[图片 " not in out and "[链接卡片]" not in out
