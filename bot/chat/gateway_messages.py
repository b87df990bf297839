"""Reading what the gateway's webhook delivers: the @-list of a message, pasted cards (MsgType 49) and
join system messages (10000 / 10002). Pure functions over the gateway's strings and XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from bot.chat.text import mini_program_card_text, url_card_text

_QUOTED = re.compile(r'"([^"]{1,64})"')


def text_of(node: Any) -> str:
    """`{"string": "…"}` (the gateway's wrapping of protobuf strings) or a plain string."""
    if isinstance(node, dict):
        return str(node.get("string") or "")
    return str(node or "")


def at_list(msg_source: str) -> set[str]:
    """Wxids in `<atuserlist>` of a message's `MsgSource` (comma separated, sometimes with a leading comma)."""
    found = re.search(r"<atuserlist>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</atuserlist>", msg_source or "", re.S)
    if not found:
        return set()
    return {w.strip() for w in found.group(1).split(",") if w.strip()}


def card_text(xml: str) -> str:
    """What a pasted card (MsgType 49) says, in the form `bot.chat.text` describes; '' when unknown."""
    start = xml.find("<msg")
    if start < 0:
        return ""
    try:
        root = ET.fromstring(xml[start:])
    except ET.ParseError:
        return ""
    appmsg = root.find("appmsg")
    if appmsg is None:
        return ""
    kind = (appmsg.findtext("type") or "").strip()
    title = appmsg.findtext("title") or ""
    if kind in ("33", "36"):
        info = appmsg.find("weappinfo")
        if info is not None:
            return mini_program_card_text(
                info.findtext("appid") or "",
                info.findtext("pagepath") or "",
                title,
                info.findtext("username") or "",
            )
    if kind == "57":  # a quoted reply: the member's own words are the title
        return title
    url = appmsg.findtext("url") or ""
    return url_card_text(url, title) if url else ""


def joined_members(msg_type: int, content: str) -> tuple[list[tuple[str, str]], str]:
    """(new members as (wxid or '', name), inviter name) from a join system message; ([], '') if not one."""
    if msg_type == 10002 and "<sysmsg" in content:
        start = content.find("<sysmsg")
        try:
            root = ET.fromstring(content[start:])
        except ET.ParseError:
            return [], ""
        template = root.findtext(".//template") or ""
        if "加入" not in template and "joined" not in template:
            return [], ""
        members: list[tuple[str, str]] = []
        inviter = ""
        for link in root.iter("link"):
            names = [
                (m.findtext("username") or "", m.findtext("nickname") or "") for m in link.iter("member")
            ]
            if link.get("name") in ("names", "adder"):
                members.extend(names)
            elif link.get("name") in ("username", "from") and names:
                inviter = names[0][1]
        return [m for m in members if m[0] or m[1]], inviter
    if msg_type == 10000 and ("加入" in content or "joined" in content):
        quoted = _QUOTED.findall(content)
        if "邀请" in content and len(quoted) >= 2:  # "小红"邀请"小明、小刚"加入了群聊
            return [("", n) for n in re.split("[、,]", quoted[1]) if n], quoted[0]
        if "二维码" in content and quoted:  # "小明"通过扫描"小红"分享的二维码加入群聊
            return [("", quoted[0])], quoted[1] if len(quoted) > 1 else ""
        if quoted:
            return [("", quoted[0])], ""
    return [], ""
