"""The command grammar of a chat message: owner commands (订阅/退订/订阅状态, 佣金, 推客), help, thanks and
acknowledgements, then search. Pure functions, no I/O, linear time; `parse_command` is asked only when
`bot.handlers.links.find_product_refs` found nothing (a link is never a command).

In a group without an @mention a search needs its command word and a separator ("找 蓝牙耳机", "搜：键盘");
said to the bot (an @mention or a private chat) a plain short text is a keyword.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.handlers.links import URL_RE

CommandKind = Literal[
    "search",
    "help",
    "subscribe",
    "unsubscribe",
    "subscription_status",
    "commission",
    "own_store",
    "sharer_bind",
    "sharer_status",
    "sharer_unbind",
    "thanks",
    "ack",
    "takeout",
    "chat_ids",
]


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    arg: str
    """The keyword for search; the rest of the line for subscribe/unsubscribe; "me" or "group" for
    chat_ids (我的ID / 群ID); "" otherwise."""


_SPACE = " \t\u3000"
_SEPARATORS = _SPACE + ":：,，"
_QUOTES = "「」『』“”\"'‘’【】[]《》<>"
_TRAILING_PUNCT = "。，,.！!？?~～…、；;：:" + _SPACE

HELP_WORDS = frozenset({"帮助", "help", "菜单", "使用说明"})
"""Ask for the help text anywhere, also in a group without @mentioning the bot (after an optional "/")."""
HELP_WHEN_ADDRESSED = frozenset(
    {"", "?", "？", "你好", "您好", "在吗", "在不在", "hi", "hello", "嗨", "怎么用", "功能", "指令", "命令"}
)
"""Ask for the help text only in a private chat or when the bot is @mentioned ("" is a bare @): in a
group these are everyday words addressed to people."""

_THANKS = frozenset(
    {
        "谢谢",
        "谢谢你",
        "谢谢啦",
        "谢啦",
        "谢了",
        "多谢",
        "感谢",
        "感谢感谢",
        "thanks",
        "thank you",
        "thx",
        "3q",
    }
)
_ACKS = frozenset(
    {
        *(
            "好",
            "好的",
            "好滴",
            "好嘞",
            "好吧",
            "嗯",
            "嗯嗯",
            "哦",
            "哦哦",
            "噢",
            "收到",
            "知道了",
            "明白",
            "了解",
        ),
        *("行", "可以", "ok", "okay", "哈哈", "哈哈哈", "呵呵", "嘿嘿", "666"),
    }
)
"""Said to the bot (private chat or @), these are manners, not searches: thanks get a word back, the
rest (and a message of only emoji or punctuation) nothing — never a search for 「好的」."""
_NOT_WORD_TAIL = re.compile(r"[\W_]+$")

MY_ID = re.compile(r"^\s*(?:我的\s*id|my\s*id|whoami)\s*[?？]?\s*$", re.IGNORECASE)
GROUP_ID = re.compile(r"^\s*(?:群\s*id|本群\s*id|group\s*id)\s*[?？]?\s*$", re.IGNORECASE)
"""我的ID / 群ID (bot.handlers.ids): the whole message, with or without an @, like the owner commands."""
_ID_HEAD = r"(?i:我的\s*id|my\s*id|whoami|本?群\s*id|group\s*id)"
_STATUS_WORDS = frozenset({"订阅状态", "查看订阅", "我的订阅", "订阅列表"})
_SUBSCRIBE_WORDS = ("订阅",)
_MONEY_WORDS = frozenset({"佣金", "收益", "订单"})
"""The owner asks what the group earned: the whole message is the word (“订单到了吗” is chat)."""
_STORE_WORDS = frozenset({"店铺", "店铺好物", "自营好物"})
"""The owner asks for the operator's own shop's highlights with this group's links (the whole message)."""
_UNSUBSCRIBE_WORDS = ("取消订阅", "退订")
_TAKEOUT_WORDS = frozenset({"外卖", "外卖红包", "饿了么", "美团", "饿了么红包", "美团红包"})
"""A member asks for today's takeout coupon links (bot.handlers.takeout): the whole message is the word."""
_SHARER_BIND = "绑定推客"
_SHARER_WORDS: dict[str, CommandKind] = {"推客状态": "sharer_status", "解绑推客": "sharer_unbind"}
"""The owner's 推客 commands (bot.handlers.sharer): 「绑定推客 <appid>」, and these as the whole message."""
# Topics the subscribe command may run into without a space ("订阅直播"); anything else after 订阅 without
# a space is chat ("订阅号今天推的文章…").
_TOPICS = ("每日", "好物", "直播", "日报", "推送", "提醒", "线报")
# Longest first. In a group a search word must be followed by a separator: "找 蓝牙耳机", "搜：键盘".
_SEARCH_WORDS = (
    "帮我找",
    "帮我搜",
    "帮忙找",
    "找一下",
    "搜一下",
    "查一下",
    "找下",
    "搜下",
    "找",
    "搜",
    "买",
    "查",
)
_SEARCH_WORDS_EN = ("search", "find")
_OWNER_WORDS = (*_UNSUBSCRIBE_WORDS, *_SUBSCRIBE_WORDS)
# What follows 找/买/查 in ordinary chat ("买了个新手机", "找你有事", "查不到"): not a keyword.
_CHAT_AFTER_VERB = (
    *"了过着到不没的得吗呢啊呀吧完好回来去我你他她它谁哪啥么人钱时事个遍",
    "什么",
    "一个",
    "一找",
    "一搜",
    "一查",
    "一买",
    "东西",
    "半天",
    "单",
)
# A product query is about a product, not about people: "找 我的钥匙", "查 你昨天说的".
_PERSONAL = re.compile(r"[我你您他她咱俺]|[吗呢吧啊呀嘛哦哈]$")
_EN_NOT_PRODUCT = frozenset(
    [
        "you",
        "me",
        "him",
        "her",
        "it",
        "them",
        "us",
        "i",
        "we",
        "they",
        "my",
        "your",
        "our",
        "their",
        "out",
        "time",
        "way",
        "someone",
        "something",
        "anything",
        "nothing",
        "this",
        "that",
        "what",
        "where",
        "how",
        "why",
        "when",
        "who",
        "here",
        "there",
        "later",
        "again",
    ]
)
_FILLERS = ("一下", "下", "点")
_MAX_KEYWORD = 40
_MAX_TITLE = 100
"""A member who writes to the bot (private chat or @) may paste a whole product title, which is often
longer than a keyword: up to this, on one line, if it reads like a title rather than a sentence."""
_MAX_GROUP_KEYWORD = 30
_MAX_GROUP_WORDS = 6
_MAX_OWNER_LINE = 100
_MAX_SHOWN = 20
_MAX_SMALL_TALK = 12
_MAX_SEARCH_WORD = max(len(word) for word in (*_SEARCH_WORDS, *_SEARCH_WORDS_EN)) + 1
"""The longest search word and its separator: a whole title after it still fits."""
_SENTENCE_PUNCT = re.compile(r"[，。！？；,!?;]\s*\S")

# The group grammar's possible starts: a search word needs a separator after it; an owner command or a help
# word does not. A first-character test and one anchored match are the whole cost of ordinary chat.
COMMAND_HEAD = re.compile(
    "(?:"
    + "|".join(sorted(_SEARCH_WORDS, key=len, reverse=True))
    + ")[ \t\u3000:：,，]|"
    # English: "find you later" is chat; the same stop words `_search` refuses, looked at once, here
    + "(?:"
    + "|".join(_SEARCH_WORDS_EN)
    + ")[ \t\u3000:：,，](?!(?:"
    + "|".join(sorted(_EN_NOT_PRODUCT, key=len, reverse=True))
    + r")(?=\s|$))|"
    + _ID_HEAD
    + "|"
    + "|".join(
        sorted(
            {
                *HELP_WORDS,
                *_STATUS_WORDS,
                *_SUBSCRIBE_WORDS,
                *_UNSUBSCRIBE_WORDS,
                *_MONEY_WORDS,
                *_STORE_WORDS,
                _SHARER_BIND,
                *_SHARER_WORDS,
                *_TAKEOUT_WORDS,
            },
            key=len,
            reverse=True,
        )
    )
)
COMMAND_FIRST = frozenset(
    c
    for w in (
        *_SEARCH_WORDS,
        *_SEARCH_WORDS_EN,
        *HELP_WORDS,
        *_STATUS_WORDS,
        *_SUBSCRIBE_WORDS,
        *_UNSUBSCRIBE_WORDS,
        *_MONEY_WORDS,
        *_STORE_WORDS,
        _SHARER_BIND,
        *_SHARER_WORDS,
        *_TAKEOUT_WORDS,
        *("我的ID", "群ID", "本群ID", "my id", "whoami", "group id"),
    )
    for c in (w[0], w[0].upper())
)
LEAD = frozenset(_SPACE + "/\r\n")


def may_be_command(text: str) -> bool:
    """False means ``parse_command(text, mentioned=False)`` is None; True means it may not be."""
    first = text[:1]
    if first in LEAD:
        text = text.lstrip(_SPACE + "\r\n")
        if text[:1] == "/":
            text = text[1:].lstrip(_SPACE)
        first = text[:1]
    if first not in COMMAND_FIRST:
        return False
    return COMMAND_HEAD.match(text[:10].lower() if first.isascii() else text) is not None


def _strip_urls(keyword: str) -> str:
    return " ".join(URL_RE.sub(" ", keyword).split())


def shown_keyword(keyword: str) -> str:
    """A member's keyword as the bot may repeat it under its own name: no links, at most 20 characters."""
    kw = _strip_urls(keyword)
    return kw if len(kw) <= _MAX_SHOWN else kw[: _MAX_SHOWN - 1] + "…"


def _clean_keyword(raw: str) -> str:
    kw = raw.strip(_SEPARATORS)
    kw = kw.strip(_TRAILING_PUNCT + _QUOTES)
    return " ".join(kw.split())


def _search(rest: str, *, spaced: bool, mentioned: bool) -> Command | None:
    kw = _clean_keyword(rest)
    if "." in kw:
        kw = _clean_keyword(_strip_urls(kw))  # never search for (and so repeat) a link
    if not kw or len(kw) > _MAX_TITLE or "\n" in rest.strip():
        return None
    if mentioned and len(kw) > _MAX_KEYWORD and not _reads_like_title(kw):
        return None
    if not mentioned:
        if (
            (kw[0].isascii() and kw.split(None, 1)[0].lower() in _EN_NOT_PRODUCT)
            or _SENTENCE_PUNCT.search(kw)
            or kw.startswith(_CHAT_AFTER_VERB)
            or _PERSONAL.search(kw)
        ):
            return None
        if (len(kw) > _MAX_GROUP_KEYWORD or len(kw.split()) > _MAX_GROUP_WORDS) and not _group_title(kw):
            return None
    elif not spaced:
        if kw.startswith(_CHAT_AFTER_VERB):
            return None
        for filler in _FILLERS:
            if kw.startswith(filler) and len(kw) > len(filler):
                kw = _clean_keyword(kw[len(filler) :])
                break
        if len(kw) < 2:
            return None
    return Command("search", kw)


_QUESTION = re.compile(
    "有没有|有木有|怎么|咋|哪|什么|啥|为什么|多少钱|推荐一?下|求推荐|谁|几点|几号|[吗呢][?？]?$|[?？]$"
)


def _group_title(text: str) -> bool:
    """A long keyword after an explicit search word in a group ("找 <a whole product title>") is a
    request when it reads like a title: words of a product (not letters strung out), no question."""
    words = text.split()
    return len(text) - len(words) + 1 >= 2 * len(words) and _reads_like_title(text)


def _reads_like_question(text: str) -> bool:
    """A line said to the bot without a search word is a question or a sentence to a person, not a
    product: "今天天气怎么样", "你们几点下班"."""
    return bool(_SENTENCE_PUNCT.search(text) or _PERSONAL.search(text) or _QUESTION.search(text))


def _reads_like_title(text: str) -> bool:
    """A long line said to the bot is a pasted title unless it reads like a sentence to a person: a
    question, sentence punctuation, a pronoun or a chat particle."""
    return not (
        _SENTENCE_PUNCT.search(text)
        or _PERSONAL.search(text)
        or _QUESTION.search(text)
        or text.startswith(_CHAT_AFTER_VERB)
    )


def _small_talk(bare: str) -> CommandKind | None:
    core = _NOT_WORD_TAIL.sub("", bare).lower()
    if not core:
        return "ack"  # only emoji or punctuation
    if core in _THANKS:
        return "thanks"
    return "ack" if core in _ACKS else None


def _owner_arg(rest: str) -> str | None:
    """The rest of an owner command line, or None when the command word only starts a chat sentence."""
    if rest and rest[0] not in _SEPARATORS and not rest.startswith(_TOPICS):
        return None  # "订阅号今天推的文章", "退订了，太吵"
    if "\n" in rest.strip() or len(rest) > _MAX_OWNER_LINE:
        return None
    return " ".join(rest.strip(_SEPARATORS + "。！!").split())


def _command_body(text: str) -> str:
    s = text.strip(_SPACE + "\r\n")
    if s.startswith("/") and not s.startswith("//"):
        s = s[1:].lstrip(_SPACE)
    return s


def is_help(text: str, *, addressed: bool) -> bool:
    """The message asks what the bot can do. `addressed`: a private chat or an @mention of the bot."""
    bare = _command_body(text).rstrip(_TRAILING_PUNCT).lower()
    return bare in HELP_WORDS or (addressed and bare in HELP_WHEN_ADDRESSED)


def parse_command(text: str, *, mentioned: bool) -> Command | None:
    """The command in a message, or None for chat.

    `mentioned` is True when the message @mentioned the bot (the caller has stripped the mention) or came
    in a private chat; then a plain short text is a search keyword, an empty one or a greeting asks for help.
    Otherwise (a group) a search needs its command word and a separator ("找 蓝牙耳机", "搜：键盘") and a
    keyword that reads like a product, not a sentence about people.
    Call it only when `find_product_refs` found nothing: a link is never a command.
    """
    s = _command_body(text)
    bare = s.rstrip(_TRAILING_PUNCT)
    low = bare.lower()
    if low in HELP_WORDS or (mentioned and low in HELP_WHEN_ADDRESSED):
        return Command("help", "")
    if mentioned and len(bare) <= _MAX_SMALL_TALK:
        small = _small_talk(bare)
        if small is not None:
            return Command(small, "")
    if MY_ID.match(s):
        return Command("chat_ids", "me")
    if GROUP_ID.match(s):
        return Command("chat_ids", "group")
    if bare in _STATUS_WORDS:
        return Command("subscription_status", "")
    if bare in _MONEY_WORDS:
        return Command("commission", "")
    if bare in _STORE_WORDS:
        return Command("own_store", "")
    if bare in _TAKEOUT_WORDS:
        return Command("takeout", "")
    if bare in _SHARER_WORDS:
        return Command(_SHARER_WORDS[bare], "")
    if s.startswith(_SHARER_BIND):
        rest = s[len(_SHARER_BIND) :]
        if rest.rstrip(_TRAILING_PUNCT) and not (rest[0] in _SEPARATORS or rest[0].isascii()):
            return None  # "绑定推客是什么意思": chat
        if "\n" in rest.strip() or len(rest) > _MAX_OWNER_LINE:
            return None
        return Command("sharer_bind", " ".join(rest.strip(_TRAILING_PUNCT).split()))
    if s.startswith(_OWNER_WORDS):
        for word in _UNSUBSCRIBE_WORDS:
            if s.startswith(word):
                arg = _owner_arg(s[len(word) :])
                return None if arg is None else Command("unsubscribe", arg)
        for word in _SUBSCRIBE_WORDS:
            if s.startswith(word):
                arg = _owner_arg(s[len(word) :])
                return None if arg is None else Command("subscribe", arg)
    if len(s) > _MAX_TITLE + _MAX_SEARCH_WORD:
        return None
    if s[:1].isascii():
        head = low[:7]
        for word in _SEARCH_WORDS_EN:
            if head.startswith(word) and s[len(word) : len(word) + 1] in (" ", "\u3000", ":", "："):
                return _search(s[len(word) :], spaced=True, mentioned=mentioned)
    elif s.startswith(_SEARCH_WORDS):
        for word in _SEARCH_WORDS:
            if s.startswith(word):
                rest = s[len(word) :]
                if not rest.strip(_SEPARATORS):
                    return None
                spaced = rest[0] in _SEPARATORS
                if not spaced and not mentioned:
                    return None  # "找工作好难", "查快递", "买了个新手机": chat, not a request
                return _search(rest, spaced=spaced, mentioned=mentioned)
    if mentioned and not _reads_like_question(_clean_keyword(s)):
        return _search(s, spaced=True, mentioned=True)
    return None
