"""Daily deals drawn from the mini-program union (`[push] league = "union"`): 联盟精选, each group's own spot."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.push.daily_cli import dry_runs_for_two_groups

UNION_LINK = re.compile(r"https://mmbizurl\.cn/s/[A-Za-z0-9_\-]+")


def test_a_union_daily_push_gives_each_group_its_own_links(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    shown = []
    for out in dry_runs_for_two_groups(
        "[leagues.union]\nenabled = true\nsandbox = true", write_config, tmp_path
    ):
        links = UNION_LINK.findall(out)
        assert len(links) == 3, out
        shown.append(links)
    assert not set(shown[0]) & set(shown[1]), "each group's links carry its own spot"
