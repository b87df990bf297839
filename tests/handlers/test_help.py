"""帮助 tells members and owners what this bot's config really offers: pasted links of the enabled
platforms only, 外卖 when a takeout league is on, 店铺 when the operator has a shop, 返利 in a private chat
when rebates are on — never a command that would answer 「没有开」."""

from __future__ import annotations

from typing import Any

from bot.chat.base import Incoming, Text
from bot.compose import offer_of
from bot.config import parse_settings
from bot.handlers.help import HelpHandler
from bot.render import Renderer


async def _help(raw: dict[str, Any], *, group: bool = True, owner: bool = False) -> str:
    handler = HelpHandler(Renderer(None), "小助手", offer_of(parse_settings(raw)))
    message = Incoming("m1", "room-1" if group else "u1", "一群", "u1", "小明", "帮助", sender_is_owner=owner)
    if not group:
        message = Incoming("m1", "u1", "", "u1", "小明", "帮助", is_group=False)
    reply = await handler(message)
    assert reply is not None
    part = reply.parts[0]
    assert isinstance(part, Text)
    return part.text


async def test_only_enabled_platforms_are_named() -> None:
    text = await _help({"leagues": {"jd": {"enabled": True}, "channels": {"enabled": False}}})
    assert "直接粘贴京东的商品链接" in text
    assert "淘宝" not in text and "淘口令" not in text and "拼多多" not in text
    assert "外卖" not in text


async def test_taobao_brings_tao_codes_and_takeout_its_command() -> None:
    text = await _help({"leagues": {"taobao": {"enabled": True}, "eleme": {"enabled": True}}})
    assert "淘宝的商品链接、淘口令" in text
    assert "「外卖」" in text


async def test_owner_sees_earnings_and_the_shop_only_when_one_is_configured() -> None:
    without = await _help({"leagues": {"jd": {"enabled": True}}}, owner=True)
    assert "收益" in without and "店铺" not in without
    member = await _help({"shops": {"youzan": {"enabled": True}}}, owner=False)
    assert "店铺" not in member
    owner = await _help({"shops": {"youzan": {"enabled": True}}}, owner=True)
    assert "店铺" in owner


async def test_rebates_are_explained_in_a_private_chat_when_on() -> None:
    off = await _help({}, group=False)
    assert "返利" not in off
    on = await _help({"rebate": {"enabled": True}}, group=False)
    assert "绑定 订单号" in on and "余额" in on and "提现" in on
    in_group = await _help({"rebate": {"enabled": True}}, group=True)
    assert "绑定 订单号" not in in_group


async def test_nothing_enabled_still_reads_well() -> None:
    text = await _help({"leagues": {"channels": {"enabled": False}}})
    assert "查优惠" not in text and "的商品链接" not in text
    assert "找 蓝牙耳机" in text
