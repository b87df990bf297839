"""How fast the parser is on the two paths that matter.

Ignore path: an ordinary group chat line goes through `may_be_request` and, when that lets it through,
through `find_product_refs` and `parse_command` the way the router calls them. Target: >= 100,000 msgs/s.
Share path: real-shaped share texts through `find_product_refs`.

Run: .venv/bin/python bench/parse.py
"""

from __future__ import annotations

import random
import time

from bot.handlers.parse import find_product_refs, may_be_request, parse_command

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
    "买了个新手机，拍照挺好的",
    "找了半天也没找到钥匙",
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
    "查了一下，周三有雨",
]

SHARES = [
    "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝10000毫安大容量」\n点击链接直接打开 或者 淘宝搜索直接打开",
    "7¥ CZ3457 4xq5WWqXyxC¥ https://m.tb.cn/h.5ZvtKXk  MU7632 「三只松鼠每日坚果」\n点击链接直接打开 或者 淘宝搜索直接打开",
    "1￥Ha8dK2mPq7Z￥/ 【淘宝】三只松鼠每日坚果",
    "【京东】https://3.cn/1X-AbCdE「Apple iPhone 15 128GB 黑色」\n点击链接直接打开",
    "https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&utm_medium=appshare&ad_od=share",
    "【拼多多】只要9.9元！【5包】抽纸\nhttps://mobile.yangkeduo.com/goods2.html?ps=Lq3mX9pQ2a",
    "【微信小店】好物推荐 https://store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN 点击查看",
    "https://detail.tmall.com/item.htm?id=598765432109&skuId=4567890123456",
]


def ignore_path(text: str) -> bool:
    """What the router does for an unmentioned group message; True when the bot would act."""
    if not may_be_request(text):
        return False
    return bool(find_product_refs(text)) or parse_command(text, mentioned=False) is not None


def rate(fn: object, items: list[str], repeat: int) -> float:
    call = fn  # keep the loop free of attribute lookups
    assert callable(call)
    start = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            call(item)
    return len(items) * repeat / (time.perf_counter() - start)


def main() -> None:
    rng = random.Random(4)
    lines = [rng.choice(CHAT) + rng.choice(["", "", "!", "～", " 哈哈"]) for _ in range(10_000)]
    acted = sum(ignore_path(t) for t in lines)
    passed = sum(may_be_request(t) for t in lines)
    msgs = rate(ignore_path, lines, repeat=5)
    filt = rate(may_be_request, lines, repeat=5)
    shares = SHARES * 1250
    refs_per_text = sum(len(find_product_refs(t)) for t in SHARES) / len(SHARES)
    texts = rate(find_product_refs, shares, repeat=1)
    print(
        f"ignore path: {msgs:,.0f} msgs/s over {len(lines):,} chat lines ({acted} acted on, {passed} passed the filter)"
    )
    print(f"may_be_request alone: {filt:,.0f} msgs/s")
    print(f"share texts: {texts:,.0f} texts/s = {texts * refs_per_text:,.0f} refs/s ({len(shares):,} texts)")


if __name__ == "__main__":
    main()
