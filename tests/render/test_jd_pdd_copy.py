"""The copy members see for JD and PDD deals: 京东自营 and the 京口令, 拼团价 beside 单买价, and the mixed list."""

from __future__ import annotations

from bot.render.engine import Renderer
from bot.render.samples import (
    EARBUDS,
    JD_FRYER,
    JD_FRYER_COUPON,
    JD_FRYER_LINK,
    MIXED_ITEMS,
    PDD_TISSUE,
    PDD_TISSUE_LINK,
)


def test_a_jd_deal_shows_self_operated_and_the_jd_code() -> None:
    text = Renderer(None).render(
        "deal",
        {
            "product": JD_FRYER,
            "coupon": JD_FRYER_COUPON,
            "link": JD_FRYER_LINK,
            "final_price_fen": JD_FRYER.final_price_fen,
            "asker": "小明",
        },
    )
    assert "京东自营" in text
    assert "券后价 ¥299.00" in text
    assert "https://u.jd.com/aB3cD4e" in text
    assert "京口令" in text and "打开京东" in text and "淘宝" not in text


def test_a_pdd_deal_shows_the_group_price_against_buying_alone() -> None:
    text = Renderer(None).render(
        "deal",
        {
            "product": PDD_TISSUE,
            "coupon": None,
            "link": PDD_TISSUE_LINK,
            "final_price_fen": PDD_TISSUE.final_price_fen,
            "asker": "阿珍",
        },
    )
    assert "拼团价 ¥39.90（单买 ¥59.90）" in text
    assert "https://p.pinduoduo.com/Xy7Kp2Qa" in text


def test_a_mixed_search_names_each_platform() -> None:
    text = Renderer(None).render("search_results", {"keyword": "纸巾", "items": MIXED_ITEMS, "asker": "小明"})
    lines = [line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(lines) == len(MIXED_ITEMS)
    label = {"pdd": "【拼多多】", "channels": "【微信小店】", "jd": "【京东自营】", "taobao": "【淘宝/天猫】"}
    for line, item in zip(lines, MIXED_ITEMS, strict=True):
        assert label[item["product"].platform] in line and item["product"].title[:6] in line
    assert EARBUDS.title[:6] in text
    assert "单买" in text


def test_an_item_outside_the_union_names_the_right_union() -> None:
    renderer = Renderer(None)
    jd = renderer.render("not_promotable", {"platform_name": "京东", "reason": "not_alliance"})
    pdd = renderer.render("not_promotable", {"platform_name": "拼多多", "reason": "not_alliance"})
    assert "京东联盟" in jd and "淘宝" not in jd
    assert "多多进宝" in pdd and "淘宝" not in pdd
