"""How fast the recogniser is on the two paths that matter.

Ignore path: an unmentioned group chat line through the whole router the app builds (`bot.compose.build_router`:
the relevance gate, then — only for requests — middleware, help and the handlers), the way a channel
calls it. Two kinds of chat: ordinary lines, and lines that start like a request (找了半天…, 买了个…,
搜狗输入法…), which the old handler-side check made the slow case. Aim (issue 16): >= 1,000,000 msgs/s
for the request-like lines. The machine is shared, so a bare `await` of an empty coroutine is measured in
the same run as a yardstick: the router can never beat it.

Share path: share texts shaped like the apps' (every platform, 口令 variants, Markdown lists) through
`find_product_refs`.

Rates are per second of this process's CPU time (`time.process_time`), so other work on a shared
machine does not distort them; on an idle machine wall-clock rates are the same.

Run: .venv/bin/python bench/parse.py   (last line: one JSON object of the figures)
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable

from bot.chat.base import Incoming, Reply
from bot.compose import build_router
from bot.config import parse_settings
from bot.handlers.parse import find_product_refs, may_be_request
from bot.render.engine import Renderer

CHAT = [
    "哈哈哈哈哈",
    "收到",
    "好的，谢谢老板",
    "今天天气不错，晚上一起吃火锅吗",
    "明天几点开会？",
    "我刚到家 😂",
    "[强][强][强]",
    "这个多少钱？￥199",
    "3.5折 真香",
    "有人拼车去机场吗，明早7点",
    "孩子作业写完了没有啊",
    "周末去爬山的举手 🙋",
    "这家店的奶茶太甜了",
    "@小王 你昨天说的那个是哪个牌子",
    "刚看了下快递，明天到",
    "哇，这也太便宜了吧！！！",
    "群里有人用过扫地机器人吗？推荐一下",
    "ok👌",
    "晚安各位",
    "红包🧧谢谢老板",
    "他说的对 (其实也不全对)",
    "v2.0 更新了，大家升级一下",
]

REQUEST_LIKE = [
    "找了半天，还是没找到钥匙",
    "买了个新手机，拍照挺好的",
    "搜狗输入法不好用",
    "找工作好难",
    "查快递",
    "查了一下，周三有雨",
    "买单",
    "找你有事",
    "帮我找找钥匙",
    "搜一搜附近的火锅",
    "买买买",
    "find you later",
]

SHARES = [
    "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝10000毫安大容量」\n点击链接直接打开 或者 淘宝搜索直接打开",
    "7¥ CZ3457 4xq5WWqXyxC¥ https://m.tb.cn/h.5ZvtKXk  MU7632 「三只松鼠每日坚果」\n点击链接直接打开 或者 淘宝搜索直接打开",
    "1￥Ha8dK2mPq7Z￥/ 【淘宝】三只松鼠每日坚果",
    "1復制(Uj7Ik9Ol3Pm)，打开👉手机淘宝👈",
    "【京东】https://3.cn/2-Hq7KpZx?jkl=@Ab3dEf7Gh9J@「罗技鼠标」",
    "28:/！Kq5Lm8Nw3Pz！ 复制这条口令打开京东APP",
    "https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&utm_medium=appshare&ad_od=share",
    "【拼多多】只要9.9元！【5包】抽纸\nhttps://mobile.yangkeduo.com/goods2.html?ps=Lq3mX9pQ2a",
    "【微信小店】好物推荐 https://store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN 点击查看",
    "- 淘宝：[小米充电宝](https://e.tb.cn/h.TxRq8Kp2m?tk=Ab3dEf7Gh9J)\n- 京东：[罗技鼠标](https://u.jd.com/Kx8Pq2W)",
    "https://detail.tmall.com/item.htm?id=598765432109&skuId=4567890123456",
]


def msg(i: int, text: str) -> Incoming:
    return Incoming(f"m{i}", "room@chatroom", "测试群", f"u{i % 50}", f"成员{i % 50}", text)


def rate(fn: Callable[[str], object], items: list[str]) -> float:
    start = time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.process_time() - start)


async def router_rate(lines: list[str]) -> tuple[float, int]:
    acted = 0

    async def would_answer(message: Incoming) -> Reply | None:
        nonlocal acted
        acted += 1
        return None

    router = build_router(parse_settings({}), Renderer(None), would_answer)
    messages = [msg(i, t) for i, t in enumerate(lines)]
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for m in messages:
            await router(m)
        best = max(best, len(messages) / (time.process_time() - start))
    return best, acted // 3


async def bare_await_rate(n: int) -> float:
    async def nothing(message: Incoming) -> None:
        return None

    m = msg(0, "")
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            await nothing(m)
        best = max(best, n / (time.process_time() - start))
    return best


async def main() -> None:
    rng = random.Random(4)
    chat = [rng.choice(CHAT) + rng.choice(["", "", "!", "～", " 哈哈"]) for _ in range(200_000)]
    request_like = [
        rng.choice(REQUEST_LIKE) + rng.choice(["", "", "!", "～", " 哈哈"]) for _ in range(200_000)
    ]
    chat_rate, chat_acted = await router_rate(chat)
    like_rate, like_acted = await router_rate(request_like)
    bare = await bare_await_rate(200_000)
    gate = max(rate(may_be_request, request_like) for _ in range(3))
    shares = SHARES * 2000
    refs_per_text = sum(len(find_product_refs(t)) for t in SHARES) / len(SHARES)
    texts = max(rate(find_product_refs, shares) for _ in range(3))
    print(f"ignore path, ordinary chat: {chat_rate:,.0f} msgs/s through the router ({chat_acted} acted on)")
    print(f"ignore path, chat that starts like a request: {like_rate:,.0f} msgs/s ({like_acted} acted on)")
    print(f"  gate (may_be_request) alone on those lines: {gate:,.0f} calls/s")
    print(f"  yardstick, a bare await of an empty coroutine: {bare:,.0f} /s")
    print(f"share texts: {texts:,.0f} texts/s = {texts * refs_per_text:,.0f} refs/s ({len(shares):,} texts)")
    print(
        json.dumps(
            {
                "share_texts_per_s": round(texts),
                "ignore_msgs_per_s": round(chat_rate),
                "ignore_request_like_msgs_per_s": round(like_rate),
                "gate_request_like_calls_per_s": round(gate),
                "bare_await_per_s": round(bare),
                "ignore_request_like_vs_bare_await": round(like_rate / bare, 3),
                "acted_on": chat_acted + like_acted,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
