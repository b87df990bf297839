"""Recognition over real-world-shaped texts: share texts as phones produce them, mixed with chat."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.handlers.parse import Command, find_product_refs, may_be_request, parse_command

T, J, P, C = "taobao", "jd", "pdd", "channels"

# (text, [(platform, kind, id, code, url)])
CASES: list[tuple[str, list[tuple[str, str, str | None, str | None, str | None]]]] = [
    # --- Taobao / Tmall item links
    (
        "https://item.taobao.com/item.htm?id=623456789012",
        [(T, "item", "623456789012", None, "https://item.taobao.com/item.htm?id=623456789012")],
    ),
    (
        "https://item.taobao.com/item.htm?spm=a21bo.jianhua.201876.1&id=675432198765&ns=1",
        [
            (
                T,
                "item",
                "675432198765",
                None,
                "https://item.taobao.com/item.htm?spm=a21bo.jianhua.201876.1&id=675432198765&ns=1",
            )
        ],
    ),
    (
        "https://detail.tmall.com/item.htm?id=601234567890&skuId=4567",
        [(T, "item", "601234567890", None, "https://detail.tmall.com/item.htm?id=601234567890&skuId=4567")],
    ),
    (
        "https://detail.tmall.com/hk/item.htm?id=612345678901",
        [(T, "item", "612345678901", None, "https://detail.tmall.com/hk/item.htm?id=612345678901")],
    ),
    (
        "https://detail.m.tmall.com/item.htm?id=598765432109",
        [(T, "item", "598765432109", None, "https://detail.m.tmall.com/item.htm?id=598765432109")],
    ),
    (
        "https://h5.m.taobao.com/awp/core/detail.htm?id=587654321098",
        [(T, "item", "587654321098", None, "https://h5.m.taobao.com/awp/core/detail.htm?id=587654321098")],
    ),
    (
        "https://a.m.taobao.com/i576543210987.htm",
        [(T, "item", "576543210987", None, "https://a.m.taobao.com/i576543210987.htm")],
    ),
    (
        "这个好 https://item.taobao.com/item.htm?id=623456789012，快看",
        [(T, "item", "623456789012", None, "https://item.taobao.com/item.htm?id=623456789012")],
    ),
    (
        "链接：https://item.taobao.com/item.htm?id=623456789012。",
        [(T, "item", "623456789012", None, "https://item.taobao.com/item.htm?id=623456789012")],
    ),
    (
        "（https://detail.tmall.com/item.htm?id=601234567890）",
        [(T, "item", "601234567890", None, "https://detail.tmall.com/item.htm?id=601234567890")],
    ),
    (
        "item.taobao.com/item.htm?id=623456789012",
        [(T, "item", "623456789012", None, "item.taobao.com/item.htm?id=623456789012")],
    ),
    # --- Taobao short and alliance links, share texts
    (
        "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「小米Redmi Buds 6 活力版蓝牙耳机」\n点击链接直接打开 或者 淘宝搜索直接打开",
        [(T, "short_link", None, "o63GWJTAyv1", "https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1")],
    ),
    (
        "【淘宝】https://m.tb.cn/h.gTq2XyZ?tk=Ab3dE5fG7hJ MF6563 「维达抽纸 24包」点击链接直接打开",
        [(T, "short_link", None, "Ab3dE5fG7hJ", "https://m.tb.cn/h.gTq2XyZ?tk=Ab3dE5fG7hJ")],
    ),
    (
        "5￥VU1pXk3w4rS￥ https://m.tb.cn/h.4AiSUnj  【蓝月亮洗衣液】",
        [(T, "short_link", None, "VU1pXk3w4rS", "https://m.tb.cn/h.4AiSUnj")],
    ),
    (
        "复制这条信息￥Xy7Kp2Lm9Qw￥后打开👉手淘👈【三只松鼠零食大礼包】",
        [(T, "tpwd", None, "Xy7Kp2Lm9Qw", None)],
    ),
    (
        "8€Ab12Cd34Ef5€ https://m.tb.cn/h.Uu7Zx1A 打开淘宝",
        [(T, "short_link", None, "Ab12Cd34Ef5", "https://m.tb.cn/h.Uu7Zx1A")],
    ),
    ("https://m.tb.cn/h.5AMOUBE", [(T, "short_link", None, None, "https://m.tb.cn/h.5AMOUBE")]),
    (
        "https://s.click.taobao.com/Ab3xYz9",
        [(T, "short_link", None, None, "https://s.click.taobao.com/Ab3xYz9")],
    ),
    (
        "https://s.click.taobao.com/t?e=m%3D2%26s%3DAbC",
        [(T, "short_link", None, None, "https://s.click.taobao.com/t?e=m%3D2%26s%3DAbC")],
    ),
    (
        "领券 https://uland.taobao.com/coupon/edetail?e=AbCdEf%3D&pid=mm_1_2_3",
        [(T, "short_link", None, None, "https://uland.taobao.com/coupon/edetail?e=AbCdEf%3D&pid=mm_1_2_3")],
    ),
    # --- 淘口令 with many delimiters
    ("￥AbCd1234567￥", [(T, "tpwd", None, "AbCd1234567", None)]),
    ("¥Zx9Yw8Vu7Ts¥", [(T, "tpwd", None, "Zx9Yw8Vu7Ts", None)]),
    ("$Qw3Er4Ty5Ui$", [(T, "tpwd", None, "Qw3Er4Ty5Ui", None)]),
    ("€Pl0Ok9Ij8Uh€", [(T, "tpwd", None, "Pl0Ok9Ij8Uh", None)]),
    ("₳Ab12Cd34Ef5₳", [(T, "tpwd", None, "Ab12Cd34Ef5", None)]),
    ("《Mn7Bv6Cx5Za《", [(T, "tpwd", None, "Mn7Bv6Cx5Za", None)]),
    ("£Hg4Fd3Sa2Lk£ 打开手淘", [(T, "tpwd", None, "Hg4Fd3Sa2Lk", None)]),
    ("₴Rt5Yu6Io7Pa₴", [(T, "tpwd", None, "Rt5Yu6Io7Pa", None)]),
    ("￥Kj8Hg7Fd6Sa¥ 混合的符号", [(T, "tpwd", None, "Kj8Hg7Fd6Sa", None)]),
    ("(Cv2Bn3Mq4Wz) 打开淘宝App", [(T, "tpwd", None, "Cv2Bn3Mq4Wz", None)]),
    ("/Lo9Ki8Ju7Hy/ 淘宝搜索直接打开", [(T, "tpwd", None, "Lo9Ki8Ju7Hy", None)]),
    # --- JD
    (
        "https://item.jd.com/100012043978.html",
        [(J, "item", "100012043978", None, "https://item.jd.com/100012043978.html")],
    ),
    (
        "https://item.m.jd.com/product/100038004389.html?utm_source=iosapp",
        [
            (
                J,
                "item",
                "100038004389",
                None,
                "https://item.m.jd.com/product/100038004389.html?utm_source=iosapp",
            )
        ],
    ),
    (
        "https://item.m.jd.com/ware/view.action?wareId=4567890",
        [(J, "item", "4567890", None, "https://item.m.jd.com/ware/view.action?wareId=4567890")],
    ),
    (
        "https://item.jd.hk/10023456789.html",
        [(J, "item", "10023456789", None, "https://item.jd.hk/10023456789.html")],
    ),
    (
        "https://wqitem.jd.com/item/view?sku=100012043978",
        [(J, "item", "100012043978", None, "https://wqitem.jd.com/item/view?sku=100012043978")],
    ),
    (
        "【京东】https://3.cn/1Ab-CdEf 「小米充电宝 20000mAh」点击链接直接打开",
        [(J, "short_link", None, None, "https://3.cn/1Ab-CdEf")],
    ),
    ("https://u.jd.com/AbC1dEf", [(J, "short_link", None, None, "https://u.jd.com/AbC1dEf")]),
    (
        "https://union-click.jd.com/jdc?e=618%7Cpc%7C&p=JF8BAMQ",
        [(J, "short_link", None, None, "https://union-click.jd.com/jdc?e=618%7Cpc%7C&p=JF8BAMQ")],
    ),
    (
        "京东的这个 https://item.jd.com/100012043978.html。价格不错",
        [(J, "item", "100012043978", None, "https://item.jd.com/100012043978.html")],
    ),
    # --- PDD
    (
        "https://mobile.yangkeduo.com/goods.html?goods_id=123456789&page_from=23",
        [
            (
                P,
                "item",
                "123456789",
                None,
                "https://mobile.yangkeduo.com/goods.html?goods_id=123456789&page_from=23",
            )
        ],
    ),
    (
        "https://mobile.yangkeduo.com/goods2.html?goods_id=987654321",
        [(P, "item", "987654321", None, "https://mobile.yangkeduo.com/goods2.html?goods_id=987654321")],
    ),
    (
        "https://mobile.pinduoduo.com/goods.html?goods_id=55566677788",
        [(P, "item", "55566677788", None, "https://mobile.pinduoduo.com/goods.html?goods_id=55566677788")],
    ),
    (
        "https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_id=44455566677&pid=1_2",
        [
            (
                P,
                "item",
                "44455566677",
                None,
                "https://mobile.yangkeduo.com/duo_coupon_landing.html?goods_id=44455566677&pid=1_2",
            )
        ],
    ),
    (
        "https://mobile.yangkeduo.com/goods.html?goods_sign=c9r2omogKFFAc7WBwvbZU1ik",
        [
            (
                P,
                "short_link",
                None,
                None,
                "https://mobile.yangkeduo.com/goods.html?goods_sign=c9r2omogKFFAc7WBwvbZU1ik",
            )
        ],
    ),
    (
        "拼多多砍一刀 https://p.pinduoduo.com/HT6lDsK3",
        [(P, "short_link", None, None, "https://p.pinduoduo.com/HT6lDsK3")],
    ),
    # --- WeChat Channels shop
    (
        "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F",
        [(C, "short_link", None, None, "https://store.weixin.qq.com/shop/a/T9WX95cCebFqe4F")],
    ),
    (
        "小店好物 https://store.weixin.qq.com/shop/a/Ab12cd34EF56gh7）",
        [(C, "short_link", None, None, "https://store.weixin.qq.com/shop/a/Ab12cd34EF56gh7")],
    ),
    # --- several products in one message, in order
    (
        "1. https://item.jd.com/100012043978.html\n2. ￥AbCd1234567￥\n3. https://p.pinduoduo.com/HT6lDsK3",
        [
            (J, "item", "100012043978", None, "https://item.jd.com/100012043978.html"),
            (T, "tpwd", None, "AbCd1234567", None),
            (P, "short_link", None, None, "https://p.pinduoduo.com/HT6lDsK3"),
        ],
    ),
    (
        "https://store.weixin.qq.com/shop/a/Aaa111 和 https://store.weixin.qq.com/shop/a/Bbb222",
        [
            (C, "short_link", None, None, "https://store.weixin.qq.com/shop/a/Aaa111"),
            (C, "short_link", None, None, "https://store.weixin.qq.com/shop/a/Bbb222"),
        ],
    ),
    (
        "同一个发了两次 https://item.jd.com/100012043978.html https://item.jd.com/100012043978.html",
        [(J, "item", "100012043978", None, "https://item.jd.com/100012043978.html")],
    ),
    # --- negatives: ordinary chat and lookalikes
    ("今天天气真不错，大家吃了吗", []),
    ("taobao.com.example.cn/item.htm?id=623456789012", []),
    ("https://item.taobao.com.evil.cn/item.htm?id=623456789012", []),
    ("https://fakejd.com/100012043978.html", []),
    ("https://notpinduoduo.com.cn/goods.html?goods_id=123456789", []),
    ("我的电话 13812345678，有事打我", []),
    ("这个才￥199￥，超值", []),
    ("￥199 包邮", []),
    ("价格 $12345678$ 美元", []),
    ("订单号 2024112212345678901", []),
    ("iPhone 15 Pro (iPhone15Pro) 好用吗", []),
    ("看视频 https://weixin.qq.com/sph/AbCdEf123", []),
    ("https://www.taobao.com/", []),
    ("https://item.taobao.com/item.htm?spm=abc", []),
    ("https://www.jd.com/", []),
    ("我的邮箱 someone@item.jd.com 联系", []),
    ("官网 https://www.mi.com/buds 看看", []),
    ("100012043978", []),
    ("哈哈哈哈哈哈", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:24] for c in CASES])
def test_recognition(text: str, expected: list[tuple[str, str, str | None, str | None, str | None]]) -> None:
    refs = find_product_refs(text)
    assert [(r.platform, r.kind, r.id, r.code, r.url) for r in refs] == expected
    if expected:
        assert may_be_request(text), "the cheap pre-filter must never hide a real request"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    ("text", "mentioned", "expected"),
    [
        ("找 蓝牙耳机", False, Command("search", "蓝牙耳机")),
        ("找蓝牙耳机", False, Command("search", "蓝牙耳机")),
        ("搜 「纸巾」", False, Command("search", "纸巾")),
        ("买 洗衣液！", False, Command("search", "洗衣液")),
        ("查一下 充电宝", False, Command("search", "充电宝")),
        ("search earbuds", False, Command("search", "earbuds")),
        ("蓝牙耳机", True, Command("search", "蓝牙耳机")),
        ("蓝牙耳机", False, None),
        ("帮助", False, Command("help", "")),
        ("help", False, Command("help", "")),
        ("订阅 每日好物 08:30 数码 零食", False, Command("subscribe", "每日好物 08:30 数码 零食")),
        ("订阅 直播", False, Command("subscribe", "直播")),
        ("退订 直播", False, Command("unsubscribe", "直播")),
        ("退订", False, Command("unsubscribe", "")),
        ("订阅状态", False, Command("subscription_status", "")),
        ("找", False, None),
        ("今天找了个工作，明天上班，有没有人一起吃饭庆祝一下啊哈哈哈哈哈哈哈哈哈", False, None),
        (
            "这段话很长很长，完全不是在找东西，只是随便聊聊天而已，看看机器人会不会乱回复，应该不会吧？",
            True,
            None,
        ),
        ("", True, None),
    ],
)
def test_commands(text: str, mentioned: bool, expected: Command | None) -> None:
    assert parse_command(text, mentioned=mentioned) == expected


@pytest.mark.parametrize("line", ["哈哈哈", "今天天气不错", "好的", "晚安各位", "我刚吃完饭"])
def test_prefilter_rejects_ordinary_chat(line: str) -> None:
    assert not may_be_request(line)


def test_tuike_parse_json_prints_one_object_per_reference() -> None:
    text = "【淘宝】https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1 CZ0002 「耳机」 和 https://item.jd.com/100012043978.html"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "parse", text, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {
            "platform": "taobao",
            "kind": "short_link",
            "id": None,
            "code": "o63GWJTAyv1",
            "url": "https://m.tb.cn/h.5AMOUBE?tk=o63GWJTAyv1",
        },
        {
            "platform": "jd",
            "kind": "item",
            "id": "100012043978",
            "code": None,
            "url": "https://item.jd.com/100012043978.html",
        },
    ]
    nothing = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "今天天气不错", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert nothing.returncode == 0
    assert nothing.stdout == ""
