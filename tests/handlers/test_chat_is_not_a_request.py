"""What a group hears through the whole router (gate, middleware, help, deals): answers to requests,
silence for chat, help for greetings only when addressed, nothing of a member's links said back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.chat.base import Reply, Text
from bot.compose import build_router
from bot.config import parse_settings
from bot.handlers.router import Router
from tests.handlers.test_deals import Harness


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Harness:
    return Harness(engine, tmp_path)


@pytest.fixture
def router(h: Harness) -> Router:
    settings = parse_settings({"bot": {"name": "推客小助手"}})
    return build_router(settings, h.handler.renderer, h.handler)


def said(reply: Reply | None) -> str:
    assert reply is not None and reply.parts, "expected an answer"
    return "\n".join(p.text for p in reply.parts if isinstance(p, Text))


EVERYDAY = [
    "搜狗输入法不好用",
    "找工作好难",
    "查快递",
    "买了个新手机",
    "find you later",
    "找了半天，还是没找到钥匙",
    "买单",
    "查一下明天天气",
    "找 我的钥匙",
    "你好",
    "在吗",
    "怎么用",
    "功能",
    "命令",
    "淘宝的链接一般是 m.tb.cn 或者 e.tb.cn 开头，京东是 u.jd.com",
    "7.43 复制打开抖音，看看【小王的作品】今天的晚霞太美了 https://v.douyin.com/iRNBho6u/",
]


@pytest.mark.parametrize("text", EVERYDAY)
async def test_everyday_group_chat_gets_silence_and_costs_nothing(
    h: Harness, router: Router, text: str
) -> None:
    assert await router(h.msg(text)) is None
    assert not h.league.calls


async def test_requests_in_a_group_still_get_answers(h: Harness, router: Router) -> None:
    assert "蓝牙耳机" in said(await router(h.msg("找 蓝牙耳机")))
    assert "维达" in said(await router(h.msg("搜：抽纸")))


@pytest.mark.parametrize("text", ["你好", "在吗", "怎么用", "功能", "命令", ""])
async def test_greetings_get_help_when_the_bot_is_addressed(h: Harness, router: Router, text: str) -> None:
    mentioned = said(await router(h.msg(text, mentioned=True)))
    private = said(await router(h.msg(text, is_group=False, chat_id="alice")))
    assert "找 蓝牙耳机" in mentioned and "找 蓝牙耳机" in private


@pytest.mark.parametrize("text", ["帮助", "help", "/help", "菜单", "使用说明", "帮助！"])
async def test_help_words_work_in_a_group_without_a_mention(h: Harness, router: Router, text: str) -> None:
    assert "找 蓝牙耳机" in said(await router(h.msg(text)))


async def test_a_members_link_is_never_said_back(h: Harness, router: Router) -> None:
    assert await router(h.msg("找 https://evil.example.com/login")) is None
    hint = said(await router(h.msg("找 https://evil.example.com/login", mentioned=True)))
    assert "evil" not in hint and "没看懂" in hint, "said to the bot: a hint, never the link"
    answer = said(await router(h.msg("找 不存在的东西 https://evil.example.com/login", mentioned=True)))
    assert "evil" not in answer and "不存在的东西" in answer


async def test_a_long_keyword_is_shown_back_capped(h: Harness, router: Router) -> None:
    keyword = "超级无敌宇宙第一好用的不存在牌子的神奇小玩意儿加长版"
    answer = said(await router(h.msg(keyword, mentioned=True)))
    assert keyword not in answer
    assert keyword[:19] + "…" in answer


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("https://m.vip.com/product-1710613245-6920061234567.html", "唯品会"),
        ("【抖音商城】https://v.douyin.com/iRNBho6u/ 长按复制此条消息，打开抖音搜索，查看商品详情！", "抖音"),
        ("https://xhslink.com/a/Hq7KpZxWm 这个商品不错", "小红书"),
    ],
)
async def test_platforms_not_served_are_named_and_declined(
    h: Harness, router: Router, text: str, name: str
) -> None:
    answer = said(await router(h.msg(text)))
    assert f"{name}的链接暂不支持" in answer


async def test_a_xianyu_share_is_told_apart_from_a_product_without_a_league_call(
    h: Harness, router: Router
) -> None:
    answer = said(await router(h.msg("我在闲鱼发布了【宝宝推车 95新】快来看看吧 https://m.tb.cn/h.6Fx2Kq9")))
    assert "闲鱼" in answer and "不是淘宝联盟的商品" in answer
    assert not h.league.calls


async def test_a_vipshop_brand_page_is_told_apart_from_a_product_without_a_league_call(
    h: Harness, router: Router
) -> None:
    answer = said(await router(h.msg("这个牌子在特卖 https://list.vip.com/brand-1710613245.html")))
    assert "品牌/活动页" in answer and "不是单个商品" in answer
    assert not h.league.calls


async def test_said_to_the_bot_manners_get_a_word_or_nothing_and_never_a_search(
    h: Harness, router: Router
) -> None:
    for text in ("好的", "收到", "👍"):
        assert await router(h.msg(text, is_group=False, chat_id="alice", mentioned=True)) is None, text
        assert await router(h.msg(text, mentioned=True)) is None, text
    assert "不客气" in said(await router(h.msg("谢谢", is_group=False, chat_id="alice", mentioned=True)))
    thanked = await router(h.msg("谢谢！", mentioned=True))
    assert "不客气" in said(thanked) and thanked is not None and thanked.parts[0].mention_sender
    assert await router(h.msg("谢谢")) is None, "in a group without @, thanks are for people"
    assert not h.league.calls


async def test_a_line_the_bot_cannot_read_gets_a_hint_when_said_to_it_and_silence_otherwise(
    h: Harness, router: Router
) -> None:
    sentence = "我昨天在你这里买了一个耳机但是到现在还没有发货，请问你能帮我查一下吗，谢谢你啦朋友们"
    for message in (
        h.msg(sentence, is_group=False, chat_id="alice", mentioned=True),
        h.msg(sentence, mentioned=True),
    ):
        hint = said(await router(message))
        assert "没看懂" in hint and "找 商品名" in hint
    assert await router(h.msg(sentence)) is None
    assert await router(h.msg("第一行\n第二行", mentioned=True)) is not None, "two lines: a hint too"
    assert not h.league.calls


async def test_a_whole_title_pasted_to_the_bot_is_searched(h: Harness, router: Router) -> None:
    title = "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色"
    answer = said(await router(h.msg(title, is_group=False, chat_id="alice", mentioned=True)))
    assert h.league.calls, "the league was asked"
    assert "没看懂" not in answer and "小米 Redmi Buds 6 活力版…" in answer


LONG_TITLE = "小米 蓝牙耳机 Redmi Buds 6 第二代 主动降噪 真无线 长续航 适用苹果华为手机"


async def test_an_explicit_search_word_with_a_whole_title_is_answered_in_a_group(
    h: Harness, router: Router
) -> None:
    """`找 <long title>` without an @: the whole title first, then its leading words."""
    answer = said(await router(h.msg(f"找 {LONG_TITLE}")))
    assert "小米 蓝牙耳机 Redmi Buds 6" in answer, "found by the title's leading words"
    assert h.league.calls["search"] == 2, "the whole title, then its leading words"
    answer = said(await router(h.msg("找 Apple AirPods Pro 2 第二代 主动降噪 无线蓝牙耳机", sender_id="bob")))
    assert "Apple AirPods" in answer, "nothing found is said too, never silence"


async def test_a_question_said_to_the_bot_gets_the_hint_not_a_search(h: Harness, router: Router) -> None:
    for text in ("今天天气怎么样", "今天天气怎么样？", "你们几点下班", "这个群是干什么的"):
        hint = said(await router(h.msg(text, is_group=False, chat_id="alice", mentioned=True)))
        assert "没看懂" in hint and "找 商品名" in hint, text
    assert not h.league.calls
    answer = said(await router(h.msg("蓝牙耳机", is_group=False, chat_id="alice", mentioned=True)))
    assert "小米" in answer, "a product word said to the bot is still searched"


async def test_the_id_words_work_in_a_group_without_a_mention_like_the_owner_commands(
    h: Harness, router: Router
) -> None:
    """`群ID` / `我的ID` need no @, like 订阅 and 佣金; the answers stay what they were with one."""
    group = said(await router(h.msg("群ID", sender_is_owner=True)))
    assert "room1@chatroom" in group and "allowed_groups" in group
    assert "只有群主或运营" in said(await router(h.msg("群id")))
    mine = said(await router(h.msg("我的ID")))
    assert "私聊我发「我的ID」" in mine and "alice" not in mine, "no id shown to the whole group"
    for chat in ("群ID是什么意思", "我的ID是多少来着", "群里的id都改了"):
        assert await router(h.msg(chat)) is None, chat
    assert not h.league.calls
