"""Daily deals drawn from Taobao (`[push] league = "taobao"`): each group's push carries its own 淘口令."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from bot.handlers.parse import find_product_refs
from tests.push.daily_cli import dry_runs_for_two_groups

TPWD = re.compile(r"￥[A-Za-z0-9]{11}￥")


def test_a_taobao_daily_push_gives_each_group_its_own_tpwd(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    shown = []
    for out in dry_runs_for_two_groups(
        "[leagues.taobao]\nenabled = true\nsandbox = true", write_config, tmp_path
    ):
        codes = TPWD.findall(out)
        assert len(codes) == 3, out
        assert all(find_product_refs(code)[0].code == code[1:-1] for code in codes)
        assert out.count("https://s.click.taobao.com/") == 3
        shown.append(codes)
    assert not set(shown[0]) & set(shown[1]), "the two groups' 淘口令 differ (their own adzones)"
