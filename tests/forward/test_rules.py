"""The pure rules of 线报 forwarding: dedupe keys, block words, quiet hours in the configured zone
(including spans over midnight), the per-group hourly cap — and the `[forward]` config that feeds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, parse_settings
from bot.forward.remake import Item
from bot.forward.rules import QuietHours, blocked_word, dedupe_keys, fresh_keys, hourly_room, next_free

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _local(hh: int, mm: int = 0, day: int = 7) -> datetime:
    """A wall-clock time in Shanghai on 2026-12-<day>, as the UTC instant the pipeline holds."""
    return datetime(2026, 12, day, hh, mm, tzinfo=SHANGHAI).astimezone(UTC)


def test_the_dedupe_key_is_league_and_item_whatever_the_link_looked_like() -> None:
    items = [
        Item("taobao", "fyvYDSn5", "https://m.tb.cn/h.Uw2Ce6iLX2w?tk=qrHvRpp8t26"),
        Item("jd", "744314584071", "https://u.jd.com/dm84S6DTQuf"),
        Item("taobao", "fyvYDSn5", "￥IIDQrbqBdHq￥"),  # the same product as a 口令 from another source
    ]
    assert dedupe_keys(items) == ("taobao:fyvYDSn5", "jd:744314584071")
    assert Item("jd", "1", "a").key == Item("jd", "1", "b").key


def test_a_key_forwarded_within_dedupe_hours_is_not_fresh() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    seen = {"jd:1": now - timedelta(hours=11, minutes=59), "pdd:2": now - timedelta(hours=12)}
    assert fresh_keys(("jd:1", "pdd:2", "taobao:3"), seen, now, hours=12) == ("pdd:2", "taobao:3")


@pytest.mark.parametrize(
    ("text", "words", "found"),
    [
        ("进群领券，拼团价 9.9", ["拼团"], "拼团"),
        ("ＶＩＰ群专享 https://u.jd.com/x", ["vip群"], "vip群"),  # full-width and case do not hide it
        ("Plus会员价", ["PLUS会员"], "PLUS会员"),
        ("京东好价 https://u.jd.com/x", ["拼团", "秒杀预告"], None),
        ("什么都可以", [], None),
    ],
)
def test_block_words_match_whatever_the_width_and_case(
    text: str, words: list[str], found: str | None
) -> None:
    assert blocked_word(text, words) == found


def test_quiet_hours_over_midnight_cover_the_night_in_the_configured_zone() -> None:
    quiet = QuietHours.parse("23:00-07:00", "Asia/Shanghai")
    assert quiet is not None and quiet.spans_midnight
    assert not quiet.covers(_local(22, 59))
    assert quiet.covers(_local(23, 0))
    assert quiet.covers(_local(3, 30))
    assert not quiet.covers(_local(7, 0))
    # 23:30 local is 15:30 UTC: a UTC-minded rule would get this wrong
    assert quiet.covers(datetime(2026, 12, 7, 15, 30, tzinfo=UTC))
    # held at 23:30 on the 7th: goes at 07:00 on the 8th; held at 03:00 on the 8th: the same morning
    assert quiet.ends_after(_local(23, 30)) == _local(7, 0, day=8)
    assert quiet.ends_after(_local(3, 0, day=8)) == _local(7, 0, day=8)
    assert quiet.ends_after(_local(12, 0)) == _local(12, 0)  # not quiet: now


def test_quiet_hours_within_a_day_and_none() -> None:
    quiet = QuietHours.parse("12:00-13:30", SHANGHAI)
    assert quiet is not None and not quiet.spans_midnight
    assert [quiet.covers(_local(h, m)) for h, m in ((11, 59), (12, 0), (13, 29), (13, 30))] == [
        False,
        True,
        True,
        False,
    ]
    assert quiet.ends_after(_local(12, 10)) == _local(13, 30)
    assert QuietHours.parse("", "Asia/Shanghai") is None


def test_the_hourly_cap_counts_a_sliding_hour() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    sent = [now - timedelta(minutes=m) for m in (70, 50, 30, 10)]
    assert hourly_room(sent, now, cap=6) == 3
    assert hourly_room(sent, now, cap=3) == 0
    assert next_free(sent, now, cap=6) == now
    # three in the last hour, cap 3: the next one may go when the oldest of them is an hour old
    assert next_free(sent, now, cap=3) == now - timedelta(minutes=50) + timedelta(hours=1)


def test_the_forward_config_defaults_and_keys() -> None:
    forward = parse_settings({}).forward
    assert (forward.enabled, forward.sources, forward.targets, forward.block_words) == (False, (), (), ())
    assert (forward.dedupe_hours, forward.quiet_hours, forward.quiet_mode) == (12, "", "hold")
    assert (forward.max_per_hour, forward.max_delay_minutes) == (6, 10)
    given = parse_settings(
        {
            "forward": {
                "enabled": True,
                "sources": [" 111@chatroom", "wxid_deals", "111@chatroom"],
                "targets": ["222@chatroom"],
                "dedupe_hours": 24,
                "block_words": ["拼团"],
                "quiet_hours": "23:00-07:00",
                "quiet_mode": "drop",
                "max_per_hour": 3,
                "max_delay_minutes": 30,
            }
        }
    ).forward
    assert given.sources == ("111@chatroom", "wxid_deals")  # stripped, each once
    assert (given.quiet_hours, given.quiet_mode, given.max_per_hour) == ("23:00-07:00", "drop", 3)


@pytest.mark.parametrize(
    ("forward", "needles"),
    [
        ({"quiet_hours": "23:00-7:00"}, ["forward.quiet_hours", "免打扰时段 HH:MM-HH:MM"]),
        ({"quiet_hours": "25:00-07:00"}, ["forward.quiet_hours", "'23:00-07:00'"]),
        ({"quiet_hours": "07:00-07:00"}, ["forward.quiet_hours", "开始和结束不同"]),
        ({"quiet_mode": "later"}, ["forward.quiet_mode", "'hold'", "'drop'"]),
        ({"enabled": True}, ["forward", "没有来源"]),
        ({"sources": ["111@chatroom", " "]}, ["forward.sources", "空字符串"]),
        ({"block_words": [""]}, ["forward.block_words", "屏蔽词"]),
        ({"max_per_hour": 0}, ["forward.max_per_hour = 0"]),
        ({"dedupe_hours": -1}, ["forward.dedupe_hours = -1"]),
        ({"max_delay_minutes": "soon"}, ["forward.max_delay_minutes"]),
        ({"sorces": ["x"]}, ["unknown key 'forward.sorces'"]),
    ],
)
def test_a_bad_forward_config_says_which_key_and_how_in_one_line(
    forward: dict[str, object], needles: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"forward": forward})
    message = str(caught.value)
    assert all(needle in message for needle in needles), message
    assert "\n" not in message


def test_the_commented_forward_block_in_the_example_config_is_valid() -> None:
    import tomllib

    from bot.config import EXAMPLE_CONFIG

    lines = EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [forward]")
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    block = [line.removeprefix("# ") for line in lines[start:end] if "=" in line or line == "# [forward]"]
    raw = tomllib.loads("\n".join(block).replace("enabled = false", "enabled = true"))
    forward = parse_settings(raw).forward
    assert forward.enabled and forward.sources and forward.quiet_hours == "23:00-07:00"
