"""Copy members read well: titles cut where a phrase ends, sales only when they impress, and emoji
drawn as pictures on every WeChat build (U+FE0F after text-default emoji)."""

from __future__ import annotations

import dataclasses

import pytest

from bot.render.emoji import VS16, emoji_presentation
from bot.render.engine import Renderer
from bot.render.filters import shorten
from bot.render.samples import SAMPLES

DEAL = SAMPLES["deal"][0]
TITLE = "倍思 Bowie E19 真无线蓝牙耳机 主动降噪 超长续航 运动游戏通用 适用苹果华为小米"


@pytest.mark.parametrize("width", [20, 30, 44, 60, 70])
def test_a_title_is_cut_where_a_phrase_ends(width: int) -> None:
    cut = shorten(TITLE, width)
    assert cut.endswith("…")
    head = cut[:-1]
    assert TITLE.startswith(head) and TITLE[len(head)] == " ", f"cut mid-phrase: {cut!r}"


def test_a_title_without_spaces_is_still_cut_at_a_character() -> None:
    title = "没有空格的中文标题" * 5
    assert shorten(title, 20) == title[:9] + "…"
    assert (
        shorten("Anker安克 MFi认证 苹果数据线 耐用 适用苹果华为", 44) == "Anker安克 MFi认证 苹果数据线 耐用…"
    )


def test_sales_show_only_when_they_impress() -> None:
    renderer = Renderer(None)
    many = renderer.render("deal", DEAL)
    assert "已售 2.3万" in many
    few = dict(DEAL, product=dataclasses.replace(DEAL["product"], sales=36))
    assert "已售" not in renderer.render("deal", few)


def test_emoji_get_the_selector_once_and_only_where_needed() -> None:
    assert emoji_presentation("🛍 好物") == f"🛍{VS16} 好物"
    assert emoji_presentation(f"🛍{VS16} 好物") == f"🛍{VS16} 好物", "not twice"
    assert emoji_presentation("❤\ufe0e") == "❤\ufe0e", "text asked for on purpose stays text"
    assert emoji_presentation("🔥 ✅ 1# ©") == "🔥 ✅ 1# ©", "emoji-default emoji, keycaps and marks alone"
    assert emoji_presentation("☝🏻") == "☝🏻", "a skin tone already makes it a picture"
    text = Renderer(None).render("deal", DEAL)
    for emoji in ("🛍", "🎟"):
        assert f"{emoji}{VS16}" in text
    assert text.count(VS16) == 2
