"""What the bot recognises in the messages members really paste.

Each row is a message shaped the way the 淘宝/天猫/京东/拼多多/微信小店 apps write share texts, or a
chat line that must stay silent, with the exact references expected back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.handlers.parse import (
    Command,
    ProductRef,
    find_product_refs,
    may_be_request,
    parse_command,
    shown_keyword,
)

Row = tuple[str | None, ...]
"""(platform, kind, id, code, url), plus the not-a-product label when there is one."""


def tb_item(ident: str, url: str, code: str | None = None) -> Row:
    return ("taobao", "item", ident, code, url)


def tb_short(url: str, code: str | None = None) -> Row:
    return ("taobao", "short_link", None, code, url)


def tpwd(code: str) -> Row:
    return ("taobao", "tpwd", None, code, None)


def jd_item(ident: str, url: str) -> Row:
    return ("jd", "item", ident, None, url)


def jd_short(url: str, code: str | None = None) -> Row:
    return ("jd", "short_link", None, code, url)


def xianyu(url: str | None, code: str | None = None) -> Row:
    """A 闲鱼 listing: recognised, and labelled not an alliance product (the member hears why)."""
    return ("taobao", "tpwd" if url is None else "short_link", None, code, url, "xianyu")


def jd_code(code: str) -> Row:
    return ("jd", "tpwd", None, code, None)


def pdd_item(ident: str, url: str) -> Row:
    return ("pdd", "item", ident, None, url)


def pdd_short(url: str) -> Row:
    return ("pdd", "short_link", None, None, url)


def wx_shop(url: str) -> Row:
    return ("channels", "short_link", None, None, url)


def other(platform: str, url: str, ident: str | None = None) -> Row:
    """A platform no league serves: recognised so the member hears 暂不支持, never read as another one."""
    return (platform, "item" if ident else "short_link", ident, None, url)


TB_ITEM = "https://item.taobao.com/item.htm?id=612345678901"
JD_ITEM = "https://item.jd.com/100012043978.html"
PDD_SIGN = "E9H2Jpyp0ZpZbGFNwfzxyZ6iLjRhbU9a_JQyPVWZo5r"

CASES: list[tuple[str, list[Row]]] = [
    # ---- Taobao / Tmall share texts as the apps write them
    (
        "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝10000毫安大容量超薄便携快充移动电源」\n"
        "点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1", "o63GWJTAyv1")],
    ),
    (
        "【天猫】https://m.tb.cn/h.gQ3xYzA?tk=Xk9bW2hT5rC MF6563 「蕉下防晒衣女夏季冰丝透气UPF50+」\n"
        "点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://m.tb.cn/h.gQ3xYzA?tk=Xk9bW2hT5rC", "Xk9bW2hT5rC")],
    ),
    (
        "【淘宝】7天无理由退货 https://m.tb.cn/h.TxhtVqZ?tk=6bkt3fwMSyl CA6496 「Apple/苹果 AirPods Pro (第二代)」\n"
        "点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://m.tb.cn/h.TxhtVqZ?tk=6bkt3fwMSyl", "6bkt3fwMSyl")],
    ),
    (
        "7¥ CZ3457 4xq5WWqXyxC¥ https://m.tb.cn/h.5ZvtKXk  MU7632 「三只松鼠每日坚果750g/30包」\n"
        "点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://m.tb.cn/h.5ZvtKXk", "4xq5WWqXyxC")],
    ),
    ("1￥Ha8dK2mPq7Z￥/ 【淘宝】三只松鼠每日坚果", [tpwd("Ha8dK2mPq7Z")]),
    ("9￥Ha8dK2mPq7Z￥/", [tpwd("Ha8dK2mPq7Z")]),
    (
        "【良品铺子猪肉脯】https://m.tb.cn/h.4RkHbGx 点击链接，再选择浏览器咑閞；或復·制这段描述€Zk7Wq2Lp9Xa€后到👉淘♂寳♀👈",
        [tb_short("https://m.tb.cn/h.4RkHbGx", "Zk7Wq2Lp9Xa")],
    ),
    (
        "復制这段内容₳OyPb1Q9nTx8₳后咑閞👉淘宝👈或者掂击链接 https://m.tb.cn/h.VkQ2mX9 查看",
        [tb_short("https://m.tb.cn/h.VkQ2mX9", "OyPb1Q9nTx8")],
    ),
    ("￥Tz3Kp9Wm2Ls￥", [tpwd("Tz3Kp9Wm2Ls")]),
    ("¥Tz3Kp9Wm2Ls¥ 打开淘宝", [tpwd("Tz3Kp9Wm2Ls")]),
    ("$Mn4Bv6Cx8Za$", [tpwd("Mn4Bv6Cx8Za")]),
    ("£Mn4Bv6Cx8Za£ 复制", [tpwd("Mn4Bv6Cx8Za")]),
    ("€Pq2Wx5Yz8Ab¥ 复制这条打开淘宝", [tpwd("Pq2Wx5Yz8Ab")]),
    ("《Ab3dEf7Gh9J《 打开淘宝", [tpwd("Ab3dEf7Gh9J")]),
    ("(Rf5Gh8Jk2Lm) 复制整段话打开手淘", [tpwd("Rf5Gh8Jk2Lm")]),
    ("/Qw7Er9Ty2Ui/ 淘口令，长按复制", [tpwd("Qw7Er9Ty2Ui")]),
    ("￥AbCd1234￥ 老口令也行", [tpwd("AbCd1234")]),
    ("￥ CZ0001 Gk8Lp2Qr4St￥", [tpwd("Gk8Lp2Qr4St")]),
    (
        "🔥🔥限时秒杀🔥🔥\n【天猫超市】维达抽纸 券后19.9\n₴Gh7Yt5Rd3Ws₴\n👉复制打开淘宝👈",
        [tpwd("Gh7Yt5Rd3Ws")],
    ),
    (
        "今日必买👇\n①蓝牙耳机 券后19.9\n￥Aa1Bb2Cc3Dd￥\n②充电宝 券后29\n￥Ee4Ff5Gg6Hh￥",
        [tpwd("Aa1Bb2Cc3Dd"), tpwd("Ee4Ff5Gg6Hh")],
    ),
    (
        "【淘宝】https://m.tb.cn/h.gQ3xYzA?tk=Xk9bW2hT5rC CZ0001 「手机壳适用(iPhone15Pro)磁吸透明」\n点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://m.tb.cn/h.gQ3xYzA?tk=Xk9bW2hT5rC", "Xk9bW2hT5rC")],
    ),
    ("淘宝买的「手机壳适用(iPhone15Pro)」还不错", []),
    ("￥Tz3Kp9Wm2Ls￥ 适用(iPhone15Pro) 打开淘宝", [tpwd("Tz3Kp9Wm2Ls")]),
    # ---- Taobao / Tmall item pages
    (TB_ITEM, [tb_item("612345678901", TB_ITEM)]),
    (
        "https://item.taobao.com/item.htm?spm=a1z10.3-c.w4002-123.9.1f2a&id=612345678901&ns=1&abbucket=12#detail",
        [
            tb_item(
                "612345678901",
                "https://item.taobao.com/item.htm?spm=a1z10.3-c.w4002-123.9.1f2a&id=612345678901&ns=1&abbucket=12#detail",
            )
        ],
    ),
    (
        "https://detail.tmall.com/item.htm?id=598765432109&skuId=4567890123456",
        [tb_item("598765432109", "https://detail.tmall.com/item.htm?id=598765432109&skuId=4567890123456")],
    ),
    (
        "天猫国际 https://detail.tmall.com/hk/item.htm?id=598765432109 正品",
        [tb_item("598765432109", "https://detail.tmall.com/hk/item.htm?id=598765432109")],
    ),
    (
        "https://detail.tmall.hk/hk/item.htm?id=598765432109&spm=a220o",
        [tb_item("598765432109", "https://detail.tmall.hk/hk/item.htm?id=598765432109&spm=a220o")],
    ),
    (
        "https://h5.m.taobao.com/awp/core/detail.htm?ft=t&id=651234567890",
        [tb_item("651234567890", "https://h5.m.taobao.com/awp/core/detail.htm?ft=t&id=651234567890")],
    ),
    (
        "https://detail.m.tmall.com/item.htm?id=651234567890&price=99-129",
        [tb_item("651234567890", "https://detail.m.tmall.com/item.htm?id=651234567890&price=99-129")],
    ),
    (
        "https://a.m.taobao.com/i651234567890.htm?price=99",
        [tb_item("651234567890", "https://a.m.taobao.com/i651234567890.htm?price=99")],
    ),
    (
        "https://main.m.taobao.com/security-h5-detail/home?id=651234567890&spm=a2141.7631564",
        [
            tb_item(
                "651234567890",
                "https://main.m.taobao.com/security-h5-detail/home?id=651234567890&spm=a2141.7631564",
            )
        ],
    ),
    ("item.taobao.com/item.htm?id=612345678901 直接复制的", [tb_item("612345678901", TB_ITEM[8:])]),
    (
        "http://item.taobao.com/item.htm?id=612345678901，快看这个多便宜",
        [tb_item("612345678901", TB_ITEM.replace("https", "http"))],
    ),
    ("（链接：https://item.taobao.com/item.htm?id=612345678901）", [tb_item("612345678901", TB_ITEM)]),
    ("你看这个 https://item.taobao.com/item.htm?id=612345678901。", [tb_item("612345678901", TB_ITEM)]),
    ("看看(https://item.taobao.com/item.htm?id=612345678901)怎么样", [tb_item("612345678901", TB_ITEM)]),
    ("这个 https://item.taobao.com/item.htm?id=612345678901. 还行吧", [tb_item("612345678901", TB_ITEM)]),
    # ---- Taobao alliance / short links
    (
        "https://s.click.taobao.com/t?e=m%3D2%26s%3DAbCd%2Bxyz%3D%3D",
        [tb_short("https://s.click.taobao.com/t?e=m%3D2%26s%3DAbCd%2Bxyz%3D%3D")],
    ),
    ("领券👉https://s.click.taobao.com/Xk7pQ2u 👈", [tb_short("https://s.click.taobao.com/Xk7pQ2u")]),
    (
        "https://uland.taobao.com/coupon/edetail?e=AbCd%3D%3D&traceId=2150&union_lens=lensId%3AOPT",
        [
            tb_short(
                "https://uland.taobao.com/coupon/edetail?e=AbCd%3D%3D&traceId=2150&union_lens=lensId%3AOPT"
            )
        ],
    ),
    ("m.tb.cn/h.5AMOUBE 打开看看", [tb_short("m.tb.cn/h.5AMOUBE")]),
    ("http://m.tb.cn/h.5AMOUBE?sm=1a2b3c", [tb_short("http://m.tb.cn/h.5AMOUBE?sm=1a2b3c")]),
    (
        "https://m.tb.cn/h.5AMOUBE?tk=12345678901 数字不是口令",
        [tb_short("https://m.tb.cn/h.5AMOUBE?tk=12345678901")],
    ),
    # ---- one product in several forms, several products in one message
    (
        "￥Tz3Kp9Wm2Ls￥ https://item.taobao.com/item.htm?id=612345678901",
        [tb_item("612345678901", TB_ITEM, "Tz3Kp9Wm2Ls")],
    ),
    (
        "https://item.taobao.com/item.htm?id=612345678901 同款 https://detail.tmall.com/item.htm?id=612345678901",
        [tb_item("612345678901", TB_ITEM)],
    ),
    (
        "https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 再发一次 https://m.tb.cn/h.5AMOUBE",
        [tb_short("https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1", "o63GWJTAyv1")],
    ),
    (
        "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「充电宝」\n\n口令：￥o63GWJTAyv1￥",
        [tb_short("https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1", "o63GWJTAyv1")],
    ),
    (
        "1. https://m.tb.cn/h.AAAA111?tk=Aa1Bb2Cc3Dd 「耳机」\n2. https://m.tb.cn/h.BBBB222?tk=Ee4Ff5Gg6Hh 「充电宝」",
        [
            tb_short("https://m.tb.cn/h.AAAA111?tk=Aa1Bb2Cc3Dd", "Aa1Bb2Cc3Dd"),
            tb_short("https://m.tb.cn/h.BBBB222?tk=Ee4Ff5Gg6Hh", "Ee4Ff5Gg6Hh"),
        ],
    ),
    (
        "€Cc1Dd2Ee3Ff€ https://m.tb.cn/h.AAAA111 「耳机」\n\n€Gg4Hh5Jj6Kk€ https://m.tb.cn/h.BBBB222 「充电宝」",
        [
            tb_short("https://m.tb.cn/h.AAAA111", "Cc1Dd2Ee3Ff"),
            tb_short("https://m.tb.cn/h.BBBB222", "Gg4Hh5Jj6Kk"),
        ],
    ),
    (
        "€Cc1Dd2Ee3Ff€ https://m.tb.cn/h.AAAA111 €Gg4Hh5Jj6Kk€ https://m.tb.cn/h.BBBB222",
        [
            tb_short("https://m.tb.cn/h.AAAA111", "Cc1Dd2Ee3Ff"),
            tb_short("https://m.tb.cn/h.BBBB222", "Gg4Hh5Jj6Kk"),
        ],
    ),
    (
        "https://m.tb.cn/h.AAAA111 耳机\n\n￥Gg4Hh5Jj6Kk￥ 这个是另一个",
        [tb_short("https://m.tb.cn/h.AAAA111"), tpwd("Gg4Hh5Jj6Kk")],
    ),
    (
        "淘宝：https://m.tb.cn/h.AAA1234?tk=Aa1Bb2Cc3Dd\n京东：https://u.jd.com/XyZ123a\n拼多多：https://p.pinduoduo.com/HT6lDsK3",
        [
            tb_short("https://m.tb.cn/h.AAA1234?tk=Aa1Bb2Cc3Dd", "Aa1Bb2Cc3Dd"),
            jd_short("https://u.jd.com/XyZ123a"),
            pdd_short("https://p.pinduoduo.com/HT6lDsK3"),
        ],
    ),
    (
        "https://u.jd.com/AbCdEf1 和 u.jd.com/AbCdEf1 是同一个",
        [jd_short("https://u.jd.com/AbCdEf1")],
    ),
    ("找 https://item.jd.com/100012043978.html", [jd_item("100012043978", JD_ITEM)]),
    # ---- JD
    (JD_ITEM, [jd_item("100012043978", JD_ITEM)]),
    ("京东 https://item.jd.com/100012043978.html，到手价3999", [jd_item("100012043978", JD_ITEM)]),
    ("item.jd.com/100012043978.html。", [jd_item("100012043978", "item.jd.com/100012043978.html")]),
    (
        "【京东】https://3.cn/1X-AbCdE「Apple iPhone 15 (A3092) 128GB 黑色 支持移动联通电信5G 双卡双待手机」\n"
        "————————\n点击链接直接打开",
        [jd_short("https://3.cn/1X-AbCdE")],
    ),
    (
        "https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&utm_medium=appshare"
        "&utm_campaign=t_335139774&utm_term=CopyURL&ad_od=share&gx=RnFixa8",
        [
            jd_item(
                "100012043978",
                "https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&utm_medium=appshare"
                "&utm_campaign=t_335139774&utm_term=CopyURL&ad_od=share&gx=RnFixa8",
            )
        ],
    ),
    (
        "https://item.m.jd.com/ware/view.action?wareId=100012043978",
        [jd_item("100012043978", "https://item.m.jd.com/ware/view.action?wareId=100012043978")],
    ),
    (
        "https://item.jd.hk/10023456789012.html",
        [jd_item("10023456789012", "https://item.jd.hk/10023456789012.html")],
    ),
    (
        "https://wqitem.jd.com/item/view?sku=100012043978",
        [jd_item("100012043978", "https://wqitem.jd.com/item/view?sku=100012043978")],
    ),
    ("https://u.jd.com/AbCdEf1京东好价", [jd_short("https://u.jd.com/AbCdEf1")]),
    (
        "https://m.jd.com/product/100012043978.html",
        [jd_item("100012043978", "https://m.jd.com/product/100012043978.html")],
    ),
    ("https://mall.jd.com/index-1000001.html", []),
    ("【京东】https://3.cn/-1yZabcD「罗技鼠标」", [jd_short("https://3.cn/-1yZabcD")]),
    (
        "https://union-click.jd.com/jdc?e=&p=JF8BAOAJK1olXDYDZBoCUBVIMzZNXhpXVhgcCx8P&t=W1dCFBBFC1pXUwkEAEAdQFkJBV8",
        [
            jd_short(
                "https://union-click.jd.com/jdc?e=&p=JF8BAOAJK1olXDYDZBoCUBVIMzZNXhpXVhgcCx8P&t=W1dCFBBFC1pXUwkEAEAdQFkJBV8"
            )
        ],
    ),
    ("(https://item.jd.com/100012043978.html)", [jd_item("100012043978", JD_ITEM)]),
    (
        "https://jingfen.jd.com/detail/Jq5UCLaTRVyPNqxJ.html",
        [jd_short("https://jingfen.jd.com/detail/Jq5UCLaTRVyPNqxJ.html")],
    ),
    # ---- Pinduoduo
    (
        "https://mobile.yangkeduo.com/goods.html?goods_id=352489123456",
        [pdd_item("352489123456", "https://mobile.yangkeduo.com/goods.html?goods_id=352489123456")],
    ),
    (
        "https://mobile.yangkeduo.com/goods2.html?goods_id=352489123456&page_from=35&share_uin=ABCD&refer_share_id=xy9",
        [
            pdd_item(
                "352489123456",
                "https://mobile.yangkeduo.com/goods2.html?goods_id=352489123456&page_from=35&share_uin=ABCD&refer_share_id=xy9",
            )
        ],
    ),
    (
        "【拼多多】只要9.9元！【5包】抽纸 原木纸巾\nhttps://mobile.yangkeduo.com/goods2.html?ps=Lq3mX9pQ2a",
        [pdd_short("https://mobile.yangkeduo.com/goods2.html?ps=Lq3mX9pQ2a")],
    ),
    ("https://p.pinduoduo.com/HT6lDsK3", [pdd_short("https://p.pinduoduo.com/HT6lDsK3")]),
    (
        "https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_id=352489123456&pid=1234567_123456789&cpsSign=CC_x1",
        [
            pdd_item(
                "352489123456",
                "https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_id=352489123456&pid=1234567_123456789&cpsSign=CC_x1",
            )
        ],
    ),
    (
        f"https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_sign={PDD_SIGN}&pid=1234567_123456789",
        [
            pdd_item(
                PDD_SIGN,
                f"https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_sign={PDD_SIGN}&pid=1234567_123456789",
            )
        ],
    ),
    (
        f"https://mobile.yangkeduo.com/goods.html?goods_id=352489123456&goods_sign={PDD_SIGN}",
        [
            pdd_item(
                PDD_SIGN,
                f"https://mobile.yangkeduo.com/goods.html?goods_id=352489123456&goods_sign={PDD_SIGN}",
            )
        ],
    ),
    (
        "https://pinduoduo.com/goods.html?goods_id=352489123456，9块9包邮",
        [pdd_item("352489123456", "https://pinduoduo.com/goods.html?goods_id=352489123456")],
    ),
    # ---- WeChat Channels shop (微信小店)
    (
        "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F",
        [wx_shop("https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F")],
    ),
    (
        "【微信小店】好物推荐 https://store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN 点击查看",
        [wx_shop("https://store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN")],
    ),
    (
        "视频 https://weixin.qq.com/sph/AQbCdE 商品 https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F",
        [wx_shop("https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F")],
    ),
    # ---- 淘口令 variants: other delimiters, `xx:/`, glued digit prefixes, a code alone with its client tag
    ("🗝Kp7Wm3Xz9Qa£ 复制这段话，打开淘宝", [tpwd("Kp7Wm3Xz9Qa")]),
    ("【淘宝】好价👈Hq4Rt8Yn2Jd啊 打开淘宝就能看到", [tpwd("Hq4Rt8Yn2Jd")]),
    ("₤Wd5Fg7Hj2Kl₤ 打开👉淘宝👈", [tpwd("Wd5Fg7Hj2Kl")]),
    ("€Wd5Fg7Hj2Kl€ 復制整段話", [tpwd("Wd5Fg7Hj2Kl")]),
    ("(Zx8Cv6Bn4Ma) 打开淘宝APP", [tpwd("Zx8Cv6Bn4Ma")]),
    ("（￥Np3Lk7Jh5Gf）復制整段话打开淘宝", [tpwd("Np3Lk7Jh5Gf")]),
    ("73:/ Yt6Re4Wq2Az 「小米充电宝10000毫安」打开淘宝", [tpwd("Yt6Re4Wq2Az")]),
    ("8:/Yt6Re4Wq2Az 复制这段描述后打开手淘", [tpwd("Yt6Re4Wq2Az")]),
    ("1復制(Uj7Ik9Ol3Pm)，打开👉手机淘宝👈", [tpwd("Uj7Ik9Ol3Pm")]),
    ("3复制Uj7Ik9Ol3Pm打开手淘", [tpwd("Uj7Ik9Ol3Pm")]),
    ("「三只松鼠每日坚果750g」\nMc2Vb8Nx5Za CZ3457\n打开淘宝", [tpwd("Mc2Vb8Nx5Za")]),
    ("CZ3457 Mc2Vb8Nx5Za", [tpwd("Mc2Vb8Nx5Za")]),
    ("➡️Kp7Wm3Xz9Qa⬅️ 打开淘宝", [tpwd("Kp7Wm3Xz9Qa")]),
    ("~Kp7Wm3Xz9Qa~ 复制后打开淘宝", [tpwd("Kp7Wm3Xz9Qa")]),
    ("^Kp7Wm3Xz9Qa^ 打开手淘", [tpwd("Kp7Wm3Xz9Qa")]),
    ("(￥Kp7Wm3Xz9Qa￥)", [tpwd("Kp7Wm3Xz9Qa")]),
    ("~Kp7Wm3Xz9Qa~ 这是我的游戏ID", []),
    ("iPhone15Pro ￥5999 淘宝百亿补贴", []),
    ("淘宝 iPhone15Pro ¥ 5999", []),
    ("WiFi密码是 Abc12345678", []),
    ("我的ID：Abc12345678 打开淘宝加我", []),
    (
        "【淘宝】https://e.tb.cn/h.gTxQ9kP2a?tk=Qw3Er5Ty7Ui CZ0001 「蓝牙耳机」\n点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://e.tb.cn/h.gTxQ9kP2a?tk=Qw3Er5Ty7Ui", "Qw3Er5Ty7Ui")],
    ),
    (
        "https://m.tb.cn/h.gTxQ9kP2a?tk=Qw3Er5Ty7Ui%20CZ0001「蓝牙耳机」",
        [tb_short("https://m.tb.cn/h.gTxQ9kP2a?tk=Qw3Er5Ty7Ui%20CZ0001", "Qw3Er5Ty7Ui")],
    ),
    ("老师给的代码(HelloWorld1)跑不通", []),
    ("淘宝上搜 WirelessEarbuds 就有", []),
    ("淘宝订单号 Ab12345678 还没到", []),
    ("v2.0.1 版本 (build20240101) 已发布", []),
    ("复制这段话打开淘宝", []),
    ("email: shopping2024@163.com", []),
    ("73:/ 12345678901 打开淘宝", []),
    # ---- links inside Markdown and glued to Chinese punctuation
    (
        "[京东](https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&gx=RnFixa8)",
        [
            jd_item(
                "100012043978", "https://item.m.jd.com/product/100012043978.html?utm_source=iosapp&gx=RnFixa8"
            )
        ],
    ),
    (
        "- 淘宝：[小米充电宝](https://e.tb.cn/h.TxRq8Kp2m?tk=Ab3dEf7Gh9J)\n- 京东：[罗技鼠标](https://u.jd.com/Kx8Pq2W)\n"
        "- 拼多多：[抽纸](https://p.pinduoduo.com/Lm3Nq7Zx)",
        [
            tb_short("https://e.tb.cn/h.TxRq8Kp2m?tk=Ab3dEf7Gh9J", "Ab3dEf7Gh9J"),
            jd_short("https://u.jd.com/Kx8Pq2W"),
            pdd_short("https://p.pinduoduo.com/Lm3Nq7Zx"),
        ],
    ),
    ("**限时**：<https://item.taobao.com/item.htm?id=612345678901>", [tb_item("612345678901", TB_ITEM)]),
    ("链接：https://u.jd.com/Kx8Pq2W，快冲！", [jd_short("https://u.jd.com/Kx8Pq2W")]),
    ("链接:m.tb.cn/h.5AMOUBE，复制打开", [tb_short("m.tb.cn/h.5AMOUBE")]),
    ("复制m.tb.cn/h.5AMOUBE打开淘宝", [tb_short("m.tb.cn/h.5AMOUBE")]),
    ("“https://u.jd.com/Kx8Pq2W”", [jd_short("https://u.jd.com/Kx8Pq2W")]),
    ("**https://item.jd.com/100012043978.html**", [jd_item("100012043978", JD_ITEM)]),
    ("好价!https://u.jd.com/Kx8Pq2W!", [jd_short("https://u.jd.com/Kx8Pq2W")]),
    ("地址【https://item.jd.com/100012043978.html】", [jd_item("100012043978", JD_ITEM)]),
    ("点这里→https://p.pinduoduo.com/Lm3Nq7Zx←", [pdd_short("https://p.pinduoduo.com/Lm3Nq7Zx")]),
    ("[百度一下](https://www.baidu.com/s?wd=淘宝)", []),
    ("[京东首页](https://www.jd.com/)", []),
    # ---- short-link hosts: JD 3.cn with its jkl 口令, the JD share 口令, PDD a7q.cn, Taobao via a redirect host
    (
        "【京东】https://3.cn/2-Hq7KpZx?jkl=@Ab3dEf7Gh9J@「罗技鼠标」",
        [jd_short("https://3.cn/2-Hq7KpZx?jkl=@Ab3dEf7Gh9J@", "Ab3dEf7Gh9J")],
    ),
    ("28:/！Kq5Lm8Nw3Pz！ 复制这条口令打开京东APP", [jd_code("Kq5Lm8Nw3Pz")]),
    ("【京东】€Kq5Lm8Nw3Pz€ 复制这条口令打开京东", [jd_code("Kq5Lm8Nw3Pz")]),
    ("京东没货，淘宝有 ￥Tz3Kp9Wm2Ls￥", [tpwd("Tz3Kp9Wm2Ls")]),
    (
        "【京东】罗技鼠标 https://3.cn/2-Hq7KpZx\n28:/！Kq5Lm8Nw3Pz！ 复制这条口令打开京东",
        [jd_short("https://3.cn/2-Hq7KpZx", "Kq5Lm8Nw3Pz")],
    ),
    ("【拼多多】9.9元包邮 https://a7q.cn/b/Hq7KpZx 快来看看", [pdd_short("https://a7q.cn/b/Hq7KpZx")]),
    ("a7q.cn/1Kx8Pq2W", [pdd_short("a7q.cn/1Kx8Pq2W")]),
    (
        "【淘宝】https://kurl.cn/Zx8Cv6 「蓝牙耳机」点击链接直接打开 或者 淘宝搜索直接打开",
        [tb_short("https://kurl.cn/Zx8Cv6")],
    ),
    (
        "7￥Tz3Kp9Wm2Ls￥ https://sourl.cn/Ab3dEf 「蓝牙耳机」打开淘宝",
        [tb_short("https://sourl.cn/Ab3dEf", "Tz3Kp9Wm2Ls")],
    ),
    ("https://3.cn/", []),
    ("https://a7q.cn/", []),
    ("看看这个 https://kurl.cn/Zx8Cv6", []),
    (
        "【淘宝】https://m.tb.cn/h.5AMOUBE 另外 https://kurl.cn/Zx8Cv6 打开淘宝",
        [tb_short("https://m.tb.cn/h.5AMOUBE")],
    ),
    # ---- WeChat store links (the bot's own format), with and without the scheme
    (
        "store.weixin.qq.com/shop/a/T9WX95cCebFqe4F 复制到微信打开",
        [wx_shop("store.weixin.qq.com/shop/a/T9WX95cCebFqe4F")],
    ),
    (
        "推荐这个好物👉store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN👈",
        [wx_shop("store.weixin.qq.com/shop/a/Ab3De5Gh7Jk9LmN")],
    ),
    (
        "【微信小店】https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F，点击购买",
        [wx_shop("https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F")],
    ),
    ("https://store.weixin.qq.com/shop/a/", []),
    ("store.weixin.qq.com 是微信小店的域名", []),
    # ---- 闲鱼 shares ride on m.tb.cn but are not alliance products; prose about domains is not a request
    (
        "【闲鱼】https://m.tb.cn/h.6Fx2Kq9?tk=Zw4Xc6Vb8Nm CZ0001 「我在闲鱼发布了【九成新iPhone 13】」\n点击链接直接打开",
        [xianyu("https://m.tb.cn/h.6Fx2Kq9?tk=Zw4Xc6Vb8Nm", "Zw4Xc6Vb8Nm")],
    ),
    (
        "我在闲鱼发布了【宝宝推车 95新】快来看看吧 https://m.tb.cn/h.6Fx2Kq9",
        [xianyu("https://m.tb.cn/h.6Fx2Kq9")],
    ),
    ("€Zw4Xc6Vb8Nm€ 我在闲鱼发布了【二手键盘】，复制打开闲鱼APP", [xianyu(None, "Zw4Xc6Vb8Nm")]),
    (
        "https://market.m.taobao.com/app/idleFish-F2e/widle-taobao-rax/page-detail?id=612345678901",
        [xianyu("https://market.m.taobao.com/app/idleFish-F2e/widle-taobao-rax/page-detail?id=612345678901")],
    ),
    (
        "https://www.goofish.com/item?id=812345678901",
        [xianyu("https://www.goofish.com/item?id=812345678901")],
    ),
    ("https://www.goofish.com/", []),
    (
        "淘宝：https://m.tb.cn/h.AAA1234?tk=Aa1Bb2Cc3Dd\n闲鱼：https://m.tb.cn/h.BBB5678 我在闲鱼发布了",
        [
            tb_short("https://m.tb.cn/h.AAA1234?tk=Aa1Bb2Cc3Dd", "Aa1Bb2Cc3Dd"),
            xianyu("https://m.tb.cn/h.BBB5678"),
        ],
    ),
    (
        "闲鱼上没找到，淘宝这个便宜 https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1",
        [tb_short("https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1", "o63GWJTAyv1")],
    ),
    ("淘宝的链接一般是 m.tb.cn 或者 e.tb.cn 开头，京东是 u.jd.com 和 3.cn，拼多多是 p.pinduoduo.com", []),
    ("淘宝短链长这样：https://m.tb.cn/h.xxxx?tk=xxxx", []),
    ("以 `.tb.cn` 结尾的都是淘宝短链，taobao.com 和 jd.com 是主站", []),
    ("m.tb.cn/h.5AMOUBE 这种就是淘宝短链", [tb_short("m.tb.cn/h.5AMOUBE")]),
    # ---- platforms no league serves yet: recognised as themselves (the member hears 暂不支持)
    (
        "https://m.vip.com/product-1710613245-6920061234567.html?msns=iphone",
        [
            other(
                "vip", "https://m.vip.com/product-1710613245-6920061234567.html?msns=iphone", "6920061234567"
            )
        ],
    ),
    (
        "https://detail.vip.com/detail-1710613245-6920061234567.html",
        [other("vip", "https://detail.vip.com/detail-1710613245-6920061234567.html", "6920061234567")],
    ),
    ("【唯品会】https://t.vip.com/Hq7KpZxW 大牌特卖", [other("vip", "https://t.vip.com/Hq7KpZxW")]),
    (
        "【抖音商城】https://v.douyin.com/iRNBho6u/ 长按复制此条消息，打开抖音搜索，查看商品详情！",
        [other("douyin", "https://v.douyin.com/iRNBho6u/")],
    ),
    (
        "https://haohuo.jinritemai.com/views/product/detail?id=3612345678901234567&origin_type=604",
        [
            other(
                "douyin",
                "https://haohuo.jinritemai.com/views/product/detail?id=3612345678901234567&origin_type=604",
                "3612345678901234567",
            )
        ],
    ),
    (
        "【小红书】好物 https://www.xiaohongshu.com/goods-detail/64a1b2c3d4e5f6a7b8c9d0e1 打开【小红书】App查看商品",
        [
            other(
                "xiaohongshu",
                "https://www.xiaohongshu.com/goods-detail/64a1b2c3d4e5f6a7b8c9d0e1",
                "64a1b2c3d4e5f6a7b8c9d0e1",
            )
        ],
    ),
    (
        "https://xhslink.com/a/Hq7KpZxWm 这个商品不错",
        [other("xiaohongshu", "https://xhslink.com/a/Hq7KpZxWm")],
    ),
    ("7.43 复制打开抖音，看看【小王的作品】今天的晚霞太美了 https://v.douyin.com/iRNBho6u/ 01/01", []),
    ("复制本条信息，打开【小红书】App查看精彩内容！ http://xhslink.com/a/Hq7KpZxWm", []),
    ("https://www.douyin.com/video/7312345678901234567", []),
    ("唯品会 https://www.vip.com/", []),
    # ---- things that must stay silent
    ("https://weixin.qq.com/sph/AQbCdE", []),
    ("https://mp.weixin.qq.com/s/AbCdEfGhIjKlMn", []),
    ("https://store.weixin.qq.com.evil.cn/shop/a/T9WX95cCebFqe4F", []),
    ("https://item.taobao.com.example.cn/item.htm?id=612345678901", []),
    ("https://fakejd.com/100012043978.html", []),
    ("https://item.jd.com.fake.cn/100012043978.html", []),
    ("http://faketaobao.com/item.htm?id=612345678901", []),
    ("https://www.jd.com/", []),
    ("https://shop123456789.taobao.com/?spm=a230r.7195193", []),
    ("https://item.taobao.com/item.htm?id=abc", []),
    ("https://item.taobao.com/item.htm?id=123", []),
    ("https://mobile.yangkeduo.com/search_result.html?search_key=abc", []),
    ("https://uland.taobao.com/", []),
    ("今天天气不错，晚上一起吃火锅吗", []),
    ("这个多少钱？￥199", []),
    ("原价￥299￥，现在只要￥199￥", []),
    ("价格：¥59.9 到手价$12.5 另一个US$100USD", []),
    ("电话13812345678，订单号 3687654321234567", []),
    ("我的京东订单号是 289456123456，还没发货", []),
    ("(iPhone15Pro) 到底值不值得买", []),
    ("文件在 /Users/Documents/ 下面", []),
    ("3.5折 真香 v1.2.3 更新了", []),
    ("email me at abc@taobao.com", []),
    ("http://www.baidu.com/s?wd=taobao", []),
    ("看看 https://www.bilibili.com/video/BV1xx411c7mD", []),
    ("hhhhh $$$ 666", []),
    ("￥AbC1234￥ 太短了", []),
    ("￥AbCdEf1234567890GhIjK￥ 太长了", []),
    ("28:/￥9BDF5AC4A2A7D3%，【京东】复制这条内容打开京东", []),
    ("12345678901", []),
]

# Share texts the recogniser missed (issue 30), gathered from public posts: the 淘口令 samples a user
# collected from Weibo (Coolkkmeat/TaobaoCommandParse#5), the `数字👈` format of newer Taobao shares (a
# 折淘客 SDK test), JD/Taobao share texts of link-parser tests, and the shapes members paste in chats.
MISSED_SHARES: list[tuple[str, list[Row]]] = [
    # ---- a 淘口令 wrapped in emoji or symbols instead of ￥, with no word of Taobao around it
    ("🎵e2Nocj7Tx1g📲，", [tpwd("e2Nocj7Tx1g")]),
    ("a:/😺yhSSc90Hk1L₤", [tpwd("yhSSc90Hk1L")]),
    ("♏yhSSc90Hk1L🛏", [tpwd("yhSSc90Hk1L")]),
    ("1🎵F2iBcQ6xCZB📲 复制整段话", [tpwd("F2iBcQ6xCZB")]),
    (
        "【淘宝】🎵e2Nocj7Tx1g📲 https://m.tb.cn/h.4CEhFr0 「lofree洛斐 小浪无线机械键盘」",
        [tb_short("https://m.tb.cn/h.4CEhFr0", "e2Nocj7Tx1g")],
    ),
    ("🎉HappyNewYear🎉 大家新年快乐", []),
    ("🔥iPhone15Pro🔥 到底值不值", []),
    ("😂yhSSc90Hk1L😂", []),
    # ---- the newer Taobao format: `数字👈` and the code between two Chinese characters
    (
        "1👈啊5NKkX84wYdk啊 https://m.tb.cn/h.4CEhFr0?sm=70d491 lofree洛斐 小浪无线机械键盘蓝牙双模电竞专用办公电脑茶轴84键",
        [tb_short("https://m.tb.cn/h.4CEhFr0?sm=70d491", "5NKkX84wYdk")],
    ),
    ("1👈啊5NKkX84wYdk啊 lofree洛斐 小浪无线机械键盘", [tpwd("5NKkX84wYdk")]),
    ("3👈哈Ab3dEf7Gh9J哈 小米充电宝 20000毫安", [tpwd("Ab3dEf7Gh9J")]),
    ("看1👈这个iPhone15Pro真香", []),
    # ---- scheme-less short links written `//host/…`
    ("【京东】//3.cn/-2Vv3ukm 「初申针织女薄款内外搭外套」", [jd_short("3.cn/-2Vv3ukm")]),
    ("//u.jd.com/Kx8Pq2W 这个好", [jd_short("u.jd.com/Kx8Pq2W")]),
    (
        "【淘宝】//m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝」",
        [tb_short("m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1", "o63GWJTAyv1")],
    ),
    ("注释写成 // TODO 3.cn 以后再说", []),
    # ---- Taobao and Tmall pages on other hosts and paths than tb.cn and ?id=
    (
        "https://a.m.tmall.com/i612345678901.htm",
        [tb_item("612345678901", "https://a.m.tmall.com/i612345678901.htm")],
    ),
    (
        "https://world.taobao.com/item/612345678901.htm",
        [tb_item("612345678901", "https://world.taobao.com/item/612345678901.htm")],
    ),
    (
        "https://www.taobao.com/list/item/612345678901.htm",
        [tb_item("612345678901", "https://www.taobao.com/list/item/612345678901.htm")],
    ),
    (
        "https://m.taobao.com/tbopen/index.html?h5Url=https%3A%2F%2Fitem.taobao.com%2Fitem.htm%3Fid%3D612345678901",
        [
            tb_item(
                "612345678901",
                "https://m.taobao.com/tbopen/index.html?h5Url=https%3A%2F%2Fitem.taobao.com%2Fitem.htm%3Fid%3D612345678901",
            )
        ],
    ),
    # ---- the same link quoted twice (in backticks, with and without its tracking query): one product
    ("`https://u.jd.com/Kx8Pq2W?s=1` `https://u.jd.com/Kx8Pq2W`", [jd_short("https://u.jd.com/Kx8Pq2W?s=1")]),
    (
        "`https://m.tb.cn/h.UkSFhyY?tk=BkFVT3wYGlo` 再发一次 `https://m.tb.cn/h.UkSFhyY?tk=BkFVT3wYGlo`",
        [tb_short("https://m.tb.cn/h.UkSFhyY?tk=BkFVT3wYGlo", "BkFVT3wYGlo")],
    ),
    ("`//3.cn/-2Vv3ukm` `https://3.cn/-2Vv3ukm`", [jd_short("3.cn/-2Vv3ukm")]),
    # ---- a 淘口令 and a JD link in one message: two products
    ("￥Tz3Kp9Wm2Ls￥ https://u.jd.com/Kx8Pq2W", [tpwd("Tz3Kp9Wm2Ls"), jd_short("https://u.jd.com/Kx8Pq2W")]),
    (
        "这两个都不错 ￥Tz3Kp9Wm2Ls￥\nhttps://item.jd.com/100012043978.html",
        [tpwd("Tz3Kp9Wm2Ls"), jd_item("100012043978", JD_ITEM)],
    ),
]
CASES += MISSED_SHARES


def rows(refs: list[ProductRef]) -> list[Row]:
    return [
        (r.platform, r.kind, r.id, r.code, r.url) + ((r.not_product,) if r.not_product else ()) for r in refs
    ]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_find_product_refs(text: str, expected: list[Row]) -> None:
    """Each row: the references found, where they start, and that the pre-filter (which skips the
    parser for ordinary chat) never drops a text that holds one."""
    refs = find_product_refs(text)
    assert rows(refs) == expected
    if expected:
        assert may_be_request(text), "the pre-filter dropped a reference"
    assert [r.start for r in refs] == sorted(r.start for r in refs)
    for ref in refs:
        if ref.url is not None:
            assert ref.url in text
            # A reference starts at its link, or earlier when a 淘口令 before it was folded in.
            assert ref.start <= text.index(ref.url)
        if ref.kind == "tpwd":
            assert ref.code is not None
            # It starts at the 口令's left delimiter, or at the code when there is none.
            assert ref.code in text[ref.start : ref.start + len(ref.code) + 10]


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 80
    assert sum(1 for _, exp in CASES if exp) >= 50
    assert sum(1 for _, exp in CASES if not exp) >= 25


def test_offsets_order_mixed_platforms() -> None:
    text = "先看京东 https://item.jd.com/100012043978.html 再看淘宝 ￥Tz3Kp9Wm2Ls￥"
    refs = find_product_refs(text)
    assert [r.platform for r in refs] == ["jd", "taobao"]
    assert refs[0].start == text.index("https://")
    assert refs[1].start == text.index("￥")


def test_folded_code_moves_the_start_back() -> None:
    text = "7¥ CZ3457 4xq5WWqXyxC¥ https://m.tb.cn/h.5ZvtKXk"
    (ref,) = find_product_refs(text)
    assert ref.start == text.index("¥")


def test_refs_are_frozen() -> None:
    (ref,) = find_product_refs(JD_ITEM)
    with pytest.raises(AttributeError):
        ref.id = "1"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------- commands

COMMANDS: list[tuple[str, bool, Command | None]] = [
    ("找 蓝牙耳机", False, Command("search", "蓝牙耳机")),
    # In a group a search word needs a separator (issue 12: "搜狗输入法不好用" was read as a search).
    ("找蓝牙耳机", False, None),
    ("找蓝牙耳机", True, Command("search", "蓝牙耳机")),
    ("搜：机械键盘", False, Command("search", "机械键盘")),
    ("买 「猫砂」", False, Command("search", "猫砂")),
    ("查 防晒霜！", False, Command("search", "防晒霜")),
    ("找一下蓝牙耳机", False, None),
    ("找一下蓝牙耳机", True, Command("search", "蓝牙耳机")),
    ("找下 降噪耳机？", False, Command("search", "降噪耳机")),
    ("帮我找 儿童保温杯", False, Command("search", "儿童保温杯")),
    ("找　小米  充电宝", False, Command("search", "小米 充电宝")),
    ("/找 蓝牙耳机", False, Command("search", "蓝牙耳机")),
    ("find AirPods Pro", False, Command("search", "AirPods Pro")),
    ("Search: switch 手柄", False, Command("search", "switch 手柄")),
    ("买了个新手机", False, None),
    ("找你有事", False, None),
    ("查不到快递啊", False, None),
    ("买单", False, None),
    ("找了半天，还是没找到钥匙", False, None),
    ("找 了半天，还是没找到", False, None),
    ("找", False, None),
    ("findings are in", False, None),
    ("搜" + "蓝牙耳机" * 12, False, None),
    ("蓝牙耳机", False, None),
    ("蓝牙耳机", True, Command("search", "蓝牙耳机")),
    ("「蓝牙耳机」。", True, Command("search", "蓝牙耳机")),
    ("找 蓝牙耳机", True, Command("search", "蓝牙耳机")),
    ("有没有便宜点的投影仪推荐" * 4, True, None),
    ("", True, Command("help", "")),
    ("你好", True, Command("help", "")),
    ("？", True, Command("help", "")),
    ("？", False, None),
    ("帮助", False, Command("help", "")),
    ("help", False, Command("help", "")),
    ("HELP!", False, Command("help", "")),
    ("/help", False, Command("help", "")),
    ("菜单", False, Command("help", "")),
    ("订阅状态", False, Command("subscription_status", "")),
    # 我的ID / 群ID need no @, like the owner commands (issue 30)
    ("群ID", False, Command("chat_ids", "group")),
    ("本群id？", False, Command("chat_ids", "group")),
    ("我的ID", False, Command("chat_ids", "me")),
    ("whoami", True, Command("chat_ids", "me")),
    ("群ID是什么意思", False, None),
    ("订阅 每日好物 08:30 数码 零食", False, Command("subscribe", "每日好物 08:30 数码 零食")),
    ("订阅：直播", False, Command("subscribe", "直播")),
    ("订阅直播", False, Command("subscribe", "直播")),
    ("订阅每日好物 20:00", False, Command("subscribe", "每日好物 20:00")),
    ("订阅", False, Command("subscribe", "")),
    ("订阅号今天推的文章不错", False, None),
    ("退订 直播", False, Command("unsubscribe", "直播")),
    ("退订", False, Command("unsubscribe", "")),
    ("取消订阅 每日好物", False, Command("unsubscribe", "每日好物")),
    ("退订直播", False, Command("unsubscribe", "直播")),
    ("退订了，太吵了", False, None),
    ("订阅 每日好物\n顺便问下今天有啥", False, None),
    ("今天天气不错，晚上一起吃火锅吗", False, None),
    # a sentence or a question said to the bot is not a product title: the hint answers it (issue 30)
    ("今天天气不错，晚上一起吃火锅吗", True, None),
    ("今天天气怎么样", True, None),
    ("今天天气怎么样？", True, None),
    ("你们几点下班", True, None),
    ("找 今天天气怎么样", True, Command("search", "今天天气怎么样")),
    ("找 https://item.jd.com/100012043978.html", False, None),
    # ---- everyday chat that starts like a request: ignored in a group
    ("搜狗输入法不好用", False, None),
    ("找工作好难", False, None),
    ("查快递", False, None),
    ("买了个新手机", False, None),
    ("find you later", False, None),
    ("find out more tomorrow", False, None),
    ("search me", False, None),
    ("查一下明天天气", False, None),
    ("搜一搜附近的火锅", False, None),
    ("买买买", False, None),
    ("帮我找找钥匙", False, None),
    ("找个时间聚聚", False, None),
    ("找 我的钥匙", False, None),
    ("查 快递到了吗", False, None),
    ("买 你说的那个就行", False, None),
    ("找 了半天没找到", False, None),
    ("找 一个能陪我聊天的人，最好是女生，还要会做饭", False, None),
    ("搜 a b c d e f g h", False, None),
    # ... and the same words are requests when they read like a product query
    ("查 快递盒", False, Command("search", "快递盒")),
    ("买 新手机壳", False, Command("search", "新手机壳")),
    ("搜 输入法皮肤", False, Command("search", "输入法皮肤")),
    ("find: logitech mouse", False, Command("search", "logitech mouse")),
    ("搜狗输入法", True, Command("search", "狗输入法")),
    # ---- help: one list; greetings and bare words only when addressed
    ("使用说明", False, Command("help", "")),
    ("你好", False, None),
    ("在吗", False, None),
    ("在吗？", True, Command("help", "")),
    ("怎么用", False, None),
    ("怎么用", True, Command("help", "")),
    ("功能", False, None),
    ("功能", True, Command("help", "")),
    ("命令", False, None),
    ("命令", True, Command("help", "")),
    ("", False, None),
    # ---- a link the bot does not serve is never searched for (nor repeated back)
    ("找 https://evil.example.com/login", False, None),
    ("找 https://evil.example.com/login", True, None),
    ("找 evil.example.com/login", True, None),
    ("找 蓝牙耳机 https://evil.example.com/login", False, Command("search", "蓝牙耳机")),
    # manners said to the bot are not searches (「好的」 once found a picture book); in a group, chat
    ("谢谢", True, Command("thanks", "")),
    ("谢谢啦！", True, Command("thanks", "")),
    ("Thanks", True, Command("thanks", "")),
    ("谢谢", False, None),
    ("好的", True, Command("ack", "")),
    ("收到👌", True, Command("ack", "")),
    ("🙂🙂", True, Command("ack", "")),
    ("好的", False, None),
    ("好的蓝牙耳机", True, Command("search", "好的蓝牙耳机")),
    # a whole product title pasted to the bot is a search; the same length as a sentence is not
    (
        "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色",
        True,
        Command("search", "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色"),
    ),
    (
        "找 小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色",
        True,
        Command("search", "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色"),
    ),
    ("小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色", False, None),
    # an explicit search word in a group is a request even for a whole title (issue 30)
    (
        "找 小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色",
        False,
        Command("search", "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色"),
    ),
    (
        "找 Apple AirPods Pro 2 第二代 主动降噪 无线蓝牙耳机",
        False,
        Command("search", "Apple AirPods Pro 2 第二代 主动降噪 无线蓝牙耳机"),
    ),
    (
        "小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色 有没有更便宜的同款推荐一下",
        True,
        None,
    ),
    ("小米 Redmi Buds 6 活力版 真无线蓝牙耳机 长续航 通话降噪 适用苹果华为手机 白色 " * 3, True, None),
    ("我昨天在你这里买了一个耳机但是到现在还没有发货请问能帮我查一下物流吗谢谢朋友们大家好呀", True, None),
]


@pytest.mark.parametrize(("text", "mentioned", "expected"), COMMANDS)
def test_parse_command(text: str, mentioned: bool, expected: Command | None) -> None:
    """Each row: the command read, and that the pre-filter never drops an unmentioned command."""
    assert parse_command(text, mentioned=mentioned) == expected
    if expected is not None and not mentioned:
        assert may_be_request(text), "the pre-filter dropped a command"


@pytest.mark.parametrize(
    "text",
    [
        "今天天气不错，晚上一起吃火锅吗",
        "哈哈哈哈哈哈",
        "收到",
        "好的，谢谢老板",
        "[强][强][强]",
        "这个多少钱？￥199",
        "明天几点开会？",
        "我刚到家 😂",
        "电话13812345678",
    ],
)
def test_pre_filter_drops_ordinary_chat(text: str) -> None:
    assert not may_be_request(text)


# --------------------------------------------------------------------------------------------- CLI

SHARE = "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米充电宝」 京东 https://item.jd.com/100012043978.html"


def test_cli_json_lines() -> None:
    result = CliRunner().invoke(cli, ["parse", SHARE, "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {
            "platform": "taobao",
            "kind": "short_link",
            "id": None,
            "code": "o63GWJTAyv1",
            "url": "https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1",
            "not_product": None,
        },
        {
            "platform": "jd",
            "kind": "item",
            "id": "100012043978",
            "code": None,
            "url": JD_ITEM,
            "not_product": None,
        },
    ]
    assert list(lines[0]) == ["platform", "kind", "id", "code", "url", "not_product"]


def test_cli_readable_chinese() -> None:
    result = CliRunner().invoke(cli, ["parse", SHARE])
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "淘宝/天猫 短链接：口令 o63GWJTAyv1，https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1",
        "京东 商品链接：商品ID 100012043978，https://item.jd.com/100012043978.html",
    ]


def test_cli_nothing_found_says_so_and_prints_no_json() -> None:
    result = CliRunner().invoke(cli, ["parse", "今天天气不错，￥199", "--json"])
    assert result.exit_code == 0
    assert result.stdout == "", "a script reading JSON lines gets none"
    assert "没有认出商品链接或口令" in result.stderr


def test_cli_json_has_null_where_absent_and_names_unsupported_platforms() -> None:
    text = "28:/！Kq5Lm8Nw3Pz！ 复制这条口令打开京东 https://m.vip.com/product-1710613245-6920061234567.html"
    result = CliRunner().invoke(cli, ["parse", text, "--json"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {
            "platform": "jd",
            "kind": "tpwd",
            "id": None,
            "code": "Kq5Lm8Nw3Pz",
            "url": None,
            "not_product": None,
        },
        {
            "platform": "vip",
            "kind": "item",
            "id": "6920061234567",
            "code": None,
            "url": "https://m.vip.com/product-1710613245-6920061234567.html",
            "not_product": None,
        },
    ]
    readable = CliRunner().invoke(cli, ["parse", text]).stdout.splitlines()
    assert readable == [
        "京东 口令：口令 Kq5Lm8Nw3Pz",
        "唯品会 商品链接：商品ID 6920061234567，https://m.vip.com/product-1710613245-6920061234567.html",
    ]
    unserved = CliRunner().invoke(cli, ["parse", "https://xhslink.com/a/Hq7KpZxWm 这个商品不错"]).stdout
    assert unserved.startswith("小红书 ") and unserved.rstrip().endswith("（暂不支持这个平台）")


def test_cli_reads_stdin() -> None:
    result = CliRunner().invoke(cli, ["parse", "-", "--json"], input="￥Tz3Kp9Wm2Ls￥\n")
    assert result.exit_code == 0
    assert json.loads(result.output)["code"] == "Tz3Kp9Wm2Ls"


def test_installed_command_prints_utf8_json() -> None:
    tuike = Path(sys.executable).with_name("tuike")
    if not tuike.exists():
        pytest.skip("tuike console script not installed next to this python")
    text = "【微信小店】好物 https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F 点击查看"
    done = subprocess.run(
        [str(tuike), "parse", text, "--json"], capture_output=True, check=True, timeout=30, encoding="utf-8"
    )
    assert json.loads(done.stdout) == {
        "platform": "channels",
        "kind": "short_link",
        "id": None,
        "code": None,
        "url": "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F",
        "not_product": None,
    }


@pytest.mark.parametrize(
    "text",
    [text for text, _ in CASES]
    + [text for text, _, _ in COMMANDS]
    + ["  /help", "//help", "HELP!", "Search: switch 手柄", "找\u3000蓝牙耳机", "我的订阅", "我刚到家"]
    + [
        "find it's here",
        "find You later",
        "find you!",
        "find meat",
        "search  me",
        "find\u3000it",
        "find:you",
    ],
)
def test_the_gate_is_exact_for_unmentioned_group_messages(text: str) -> None:
    """The router's relevance gate answers exactly "would the bot act on this in a group without @"."""
    acts = bool(find_product_refs(text)) or parse_command(text, mentioned=False) is not None
    assert may_be_request(text) is acts


@pytest.mark.parametrize(
    ("keyword", "shown"),
    [
        ("蓝牙耳机", "蓝牙耳机"),
        ("https://evil.example.com/login 蓝牙耳机", "蓝牙耳机"),
        ("蓝牙耳机 evil.example.com/login", "蓝牙耳机"),
        ("超级无敌宇宙第一好用的不存在牌子的神奇小玩意儿", "超级无敌宇宙第一好用的不存在牌子的神奇…"),
        ("https://evil.example.com/", ""),
    ],
)
def test_keywords_shown_back_lose_links_and_are_capped(keyword: str, shown: str) -> None:
    assert shown_keyword(keyword) == shown


def test_product_refs_keep_the_fields_the_leagues_rely_on() -> None:
    (ref,) = find_product_refs("【京东】https://3.cn/2-Hq7KpZx?jkl=@Ab3dEf7Gh9J@")
    assert (ref.platform, ref.id, ref.code, ref.url) == (
        "jd",
        None,
        "Ab3dEf7Gh9J",
        "https://3.cn/2-Hq7KpZx?jkl=@Ab3dEf7Gh9J@",
    )


def test_cli_labels_a_xianyu_share() -> None:
    text = "我在闲鱼发布了【宝宝推车 95新】快来看看吧 https://m.tb.cn/h.6Fx2Kq9"
    (line,) = CliRunner().invoke(cli, ["parse", text, "--json"]).stdout.splitlines()
    assert json.loads(line)["not_product"] == "xianyu"
    (readable,) = CliRunner().invoke(cli, ["parse", text]).stdout.splitlines()
    assert readable.endswith("（闲鱼二手，不是联盟商品）")


def test_a_share_text_keeps_the_title_it_quotes_for_when_its_code_cannot_be_read() -> None:
    """The title in 「…」 rides along with the short link or 口令 of its paragraph (issue 30), never
    with a product page, and a 闲鱼 「我在闲鱼发布了…」 is no title."""
    [ref] = find_product_refs(
        "【淘宝】https://e.tb.cn/h.8bHMm3ebr9c2xTr?tk=0u02gqqp66J CZ356 「早春碎花雪纺连衣裙女夏新款」"
    )
    assert ref.title == "早春碎花雪纺连衣裙女夏新款"
    [code] = find_product_refs("【淘宝】￥abcDEF12345￥ 「超级好用的 商品」")
    assert code.title == "超级好用的 商品"
    [jd] = find_product_refs(
        "【京东】https://3.cn/-2Vv3ukm?jkl=@W0Yzw10kN4h@ MU5104 「初申针织女薄款内外搭外套」"
    )
    assert jd.title == "初申针织女薄款内外搭外套"
    [item] = find_product_refs(f"{JD_ITEM} 「机械键盘 87键无线版」")
    assert item.title is None
    first, second = find_product_refs("￥abcDEF12345￥ 「第一个商品标题」\n\n￥XyZ98765432￥")
    assert (first.title, second.title) == ("第一个商品标题", None)
