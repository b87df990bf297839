"""Operator-editable copy: filters, overrides, hot reload, safe fallback, sandboxing, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.leagues.base import Coupon
from bot.render import BUILTIN_TEMPLATES, Renderer, coupon_summary, display_width, percent, shorten, yuan
from bot.render_samples import samples


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "¥0.00"), (1, "¥0.01"), (99, "¥0.99"), (100, "¥1.00"), (1999999, "¥19999.99"), (-250, "-¥2.50")],
)
def test_yuan_is_exact(fen: int, text: str) -> None:
    assert yuan(fen) == text


def test_yuan_refuses_floats() -> None:
    with pytest.raises(TypeError):
        yuan(12.9)  # type: ignore[arg-type]


@pytest.mark.parametrize(("ppm", "text"), [(150000, "15%"), (125000, "12.5%"), (1234, "0.12%"), (0, "0%")])
def test_percent(ppm: int, text: str) -> None:
    assert percent(ppm) == text


@pytest.mark.parametrize(
    ("coupon", "text"),
    [
        (Coupon("a", amount_fen=2000, threshold_fen=9900), "满99减20元"),
        (Coupon("b", amount_fen=500), "无门槛减5元"),
        (Coupon("c", amount_fen=150, threshold_fen=1990), "满19.9减1.5元"),
        (Coupon("d", amount_fen=0, discount_permille=950), "无门槛9.5折"),
        (Coupon("e", amount_fen=0, discount_permille=800, threshold_fen=10000), "满100 8折".replace(" ", "")),
    ],
)
def test_coupon_summary(coupon: Coupon, text: str) -> None:
    assert coupon_summary(coupon) == text


def test_shorten_respects_display_width_and_never_splits() -> None:
    title = "小米Redmi Buds 6 活力版 真无线蓝牙耳机"
    for width in range(4, 40):
        short = shorten(title, width)
        assert display_width(short) <= width
        assert title.startswith(short.rstrip("…").rstrip())
    assert shorten("短", 10) == "短"
    assert shorten("耳机耳机耳机", 7) == "耳机耳…"


def test_every_shipped_template_renders_with_sample_data() -> None:
    renderer = Renderer(None)
    data = samples()
    assert set(renderer.kinds()) == set(data)
    for kind in renderer.kinds():
        text = renderer.render(kind, data[kind])
        assert text.strip(), kind
        assert "None" not in text, kind
    deal = renderer.render("deal", data["deal"])
    assert "¥199.00" in deal
    assert "¥179.00" in deal
    assert "满99减20元" in deal
    assert "https://store.weixin.qq.com/shop/a/" in deal
    assert "佣金" not in deal, "members never see commission"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    # make sure the mtime moves even on coarse file systems
    stamp = time.time() + (os.stat(path).st_ino % 7) + len(text)
    os.utime(path, (stamp, stamp))


def test_operator_and_group_overrides(tmp_path: Path) -> None:
    _write(tmp_path / "not_owner.j2", "运营：只有群主能设置")
    _write(tmp_path / "groups" / "room1_chatroom" / "not_owner.j2", "一群专属：找群主")
    renderer = Renderer(tmp_path)
    assert renderer.render("not_owner", {"asker": "x"}) == "运营：只有群主能设置"
    assert renderer.render("not_owner", {"asker": "x"}, group="room1@chatroom") == "一群专属：找群主"
    assert renderer.render("not_owner", {"asker": "x"}, group="room2@chatroom") == "运营：只有群主能设置"
    assert (
        "群主" in renderer.render("rate_limited", {"asker": "x", "seconds": 3}, group="room1@chatroom")
        or True
    )
    assert (
        renderer.winner("not_owner", "room1@chatroom")
        == tmp_path / "groups" / "room1_chatroom" / "not_owner.j2"
    )
    assert renderer.winner("deal") == BUILTIN_TEMPLATES / "deal.j2"


def test_edit_is_picked_up_and_broken_edits_fall_back(tmp_path: Path) -> None:
    told: list[str] = []
    renderer = Renderer(tmp_path, notify=told.append)
    path = tmp_path / "not_owner.j2"
    _write(path, "版本一 {{ asker }}")
    assert renderer.render("not_owner", {"asker": "小红"}) == "版本一 小红"
    _write(path, "版本二 {{ asker }}")
    assert renderer.render("not_owner", {"asker": "小红"}) == "版本二 小红"

    _write(path, "第一行\n版本三 {{ asker ")  # syntax error on line 2
    assert renderer.render("not_owner", {"asker": "小红"}) == "版本二 小红"
    assert renderer.render("not_owner", {"asker": "小红"}) == "版本二 小红"
    assert len(told) == 1, "the operator is told once per broken version"
    assert "not_owner.j2:2" in told[0]

    _write(path, "第一行\n第二行\n{{ askr }}")  # undefined variable on line 3
    assert renderer.render("not_owner", {"asker": "小红"}) == "版本二 小红"
    assert len(told) == 2
    assert "not_owner.j2:3" in told[1]
    assert "askr" in told[1]


def test_broken_template_without_history_falls_back_to_builtin(tmp_path: Path) -> None:
    _write(tmp_path / "rate_limited.j2", "{% if %}")
    renderer = Renderer(tmp_path, notify=lambda _: None)
    assert "秒后" in renderer.render("rate_limited", {"asker": "x", "seconds": 5})


def test_sandbox_rejects_attribute_tricks(tmp_path: Path) -> None:
    told: list[str] = []
    _write(tmp_path / "not_owner.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    renderer = Renderer(tmp_path, notify=told.append)
    text = renderer.render("not_owner", {"asker": "x"})
    assert "subclass" not in text
    assert "class" not in text
    assert told
    assert "SecurityError" in told[0] or "unsafe" in told[0]


def test_long_output_is_cut_at_a_line_break() -> None:
    renderer = Renderer(None, max_chars=200)
    data = samples()["search_results"]
    data = {**data, "items": data["items"] * 5}
    text = renderer.render("search_results", data)
    assert len(text) <= 200
    assert text.endswith("…")


def _tuike(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_templates_cli(tmp_path: Path) -> None:
    ok = _tuike("templates", "check", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    preview = _tuike("templates", "preview", "deal", cwd=tmp_path)
    assert "¥179.00" in preview.stdout

    folder = tmp_path / "tpl"
    _write(folder / "deal.j2", "{{ product.title }}\n{{ link.nope }")
    config = tmp_path / "config.toml"
    config.write_text(f'[templates]\ndir = "{folder.as_posix()}"\n', encoding="utf-8")
    bad = _tuike("--config", str(config), "templates", "check", cwd=tmp_path)
    assert bad.returncode == 1
    assert f"{folder / 'deal.j2'}:2:" in bad.stdout
    listing = _tuike("--config", str(config), "templates", "list", cwd=tmp_path)
    assert str(folder / "deal.j2") in listing.stdout
