"""线报 forwarding's "what to send": a source message with someone else's links and 口令, resolved once
over real HTTP against the sandbox leagues, comes out for each target group with that group's own
links — or is dropped whole, with the reason, when one link cannot be remade."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.forward.remake import Prepared
from bot.leagues.base import SearchQuery
from bot.leagues.metering import metered
from tests.forward.sandbox_parts import Parts, sandbox_parts
from tuike_sandbox.jd_face import jd_sku
from tuike_sandbox.server import SandboxServer

URL = re.compile(r"https?://[^\s　]+")


def _tokens(text: str) -> set[str]:
    """Every link in the text and every 口令 between ￥ signs."""
    return set(URL.findall(text)) | set(re.findall(r"￥([A-Za-z0-9]{8,20})￥", text))


async def test_each_target_group_gets_its_own_taobao_jd_and_pdd_links_and_the_words_stay(
    sandbox: SandboxServer, store: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, store, tmp_path / "data") as p:
        tb_share, tb_code = p.taobao_products()[:2]
        jd, pdd = p.jd_products()[0], p.pdd_products()[0]
        share, code = p.taobao_share(tb_share), p.taobao_code(tb_code)
        jd_url, pdd_url = p.jd_link(jd), p.pdd_link(pdd)
        text = (
            f"今日线报 🔥\n{share}\n另一款 ￥{code}￥ 到手 ¥9.9\n"
            f"京东 空气炸锅 券后 199 {jd_url}\n拼多多 抽纸 {pdd_url} 快冲"
        )
        theirs = _tokens(text)
        prepared = await p.remaker.prepare(text)
        assert prepared.reason is None and not prepared.transient
        assert [item.league for item in prepared.items] == ["taobao", "taobao", "jd", "pdd"]
        assert len({item.key for item in prepared.items}) == 4
        assert all(item.key == f"{item.league}:{item.item_id}" and item.item_id for item in prepared.items)
        assert prepared.items[1].source == code and prepared.items[2].source == jd_url

        one = await p.remaker.for_group(prepared, await p.group("r1@chatroom", "群一"))
        two = await p.remaker.for_group(prepared, await p.group("r2@chatroom", "群二"))
        for remade in (one, two):
            assert remade.forward and remade.reason is None, remade.reason
            assert not theirs & _tokens(remade.text), "a source link or 口令 left in the forward"
            for words in (
                "今日线报 🔥",
                "「" + tb_share.title,
                "另一款 ￥",
                "￥ 到手 ¥9.9",
                "京东 空气炸锅 券后 199 ",
                " 快冲",
            ):
                assert words in remade.text
            assert [s.platform for s in remade.links] == ["taobao", "taobao", "jd", "pdd"]
            assert [s.source for s in remade.links][1:] == [code, jd_url, pdd_url]
            assert all(s.target in remade.text for s in remade.links)
            # the Taobao share carried its 口令 only inside the link: the group's 口令 follows its link
            assert re.fullmatch(
                r"https://s\.click\.taobao\.com/\S+ ￥[A-Za-z0-9]{11}￥", remade.links[0].target
            )
        assert not {s.target for s in one.links} & {s.target for s in two.links}, "two groups share a link"
        # the JD links are made for each group's own subUnionId, not the source's
        ours = [p.jd.links[s.target.rsplit("/", 1)[-1]] for s in (one.links[2], two.links[2])]
        assert ours[0].sub_union_id != ours[1].sub_union_id
        assert "another_operator" not in {link.sub_union_id for link in ours}

        # a Prepared made elsewhere (read back by the pipeline: items only) is resolved again
        again = await p.remaker.for_group(Prepared(text, prepared.items), await p.group("r1@chatroom"))
        assert again.text == one.text


async def test_a_taobao_code_beside_a_jd_link_stays_taobao_in_a_message_that_only_says_jd(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    """The recogniser reads a ￥…￥ code as JD's (and pairs it with the JD link next to it) when the
    message says 京东 and not 淘宝; forwarding resolves each 口令 on its own, so the deal keeps its own
    product — never the JD link in place of the 淘口令."""
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        code, jd_url = p.taobao_code(p.taobao_products()[0]), p.jd_link(p.jd_products()[3])
        text = f"双肩包 到手 ¥9.9 ￥{code}￥\n京东 空气炸锅 券后 199 {jd_url}"
        prepared = await p.remaker.prepare(text)
        assert prepared.reason is None, prepared.reason
        assert sorted(item.league for item in prepared.items) == ["jd", "taobao"]
        remade = await p.remaker.for_group(prepared, await p.group("r1@chatroom"))
        assert remade.forward, remade.reason
        assert re.fullmatch(
            r"双肩包 到手 ¥9\.9 ￥[A-Za-z0-9]{11}￥\n京东 空气炸锅 券后 199 https://u\.jd\.com/\S+",
            remade.text,
        ), remade.text
        assert [s.platform for s in remade.links] == ["taobao", "jd"]


async def test_a_repeat_costs_no_league_call_and_a_new_group_costs_only_its_links(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        text = f"京东 {p.jd_link(p.jd_products()[0])}\n拼多多 {p.pdd_link(p.pdd_products()[0])}"
        group = await p.group("r1@chatroom")
        first = await p.remaker.for_group(await p.remaker.prepare(text), group)
        with metered() as repeat:
            again = await p.remaker.for_group(await p.remaker.prepare(text), group)
        assert again.text == first.text
        assert repeat.calls == 0, "the same product for the same group again costs no league call"
        with metered() as other:
            await p.remaker.for_group(await p.remaker.prepare(text), await p.group("r2@chatroom"))
        assert 0 < other.calls <= 4, other.by_league  # its own links (and PDD's PID for the new group)


FOREIGN: dict[str, tuple[Callable[[Parts], str], str]] = {
    "a shop page": (lambda p: "https://shop.example.com/deal/123", "https://shop.example.com/deal/123"),
    "someone else's union link": (lambda p: "https://mmbizurl.cn/s/017btcGpB", "mmbizurl.cn/s/017btcGpB"),
    "someone else's Channels link": (
        lambda p: "https://store.weixin.qq.com/shop/a/DqOBsQjfN0vbRMc",
        "别人的专属链接",
    ),
    "a 闲鱼 listing": (
        lambda p: "【闲鱼】https://m.tb.cn/h.Tz8xQ1a?tk=Qw3Er5Ty7Ui 「我在闲鱼发布了【九成新 自行车】」",
        "闲鱼",
    ),
    "a 抖音 product": (
        lambda p: "抖音商城 https://haohuo.jinritemai.com/views/product/item?id=3581234567890",
        "抖音",
    ),
    "an expired 淘口令": (lambda p: "淘宝 ￥Zz9Yy8Xx7Ww￥ 快抢", "Zz9Yy8Xx7Ww"),
}


@pytest.mark.parametrize("case", list(FOREIGN))
async def test_one_link_the_bot_cannot_convert_drops_the_whole_message(
    case: str, sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        foreign, said = FOREIGN[case]
        text = f"京东好价 {p.jd_link(p.jd_products()[0])}\n{foreign(p)}\n冲"
        prepared = await p.remaker.prepare(text)
        assert prepared.reason is not None and said in prepared.reason, prepared.reason
        assert not prepared.transient and prepared.items == ()
        remade = await p.remaker.for_group(prepared, await p.group("r1@chatroom"))
        assert (remade.forward, remade.reason, remade.text, remade.links) == (False, prepared.reason, "", ())


async def test_links_the_bot_made_for_another_group_are_remade_union_and_channels(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        finder, spots = p.remaker.finder, p.parts.spots
        union, channels = finder.leagues["union"], finder.leagues["channels"]
        home, other = await p.group("home@chatroom", "来源群"), await p.group("other@chatroom", "目标群")
        other.channels_sharer_appid = "wx_sharer_demo03"  # its owner bound a 推客 of their own
        tissue = (await union.search(SearchQuery(keyword="纸巾", limit=1)))[0]
        earbuds = (await channels.search(SearchQuery(keyword="耳机", limit=1)))[0]
        union_link = await finder.link(union, tissue, await spots.for_group(home, "union"))
        channels_link = await finder.link(channels, earbuds, await spots.for_group(home, "channels"))
        text = f"小程序 {union_link.best_url}\n视频号小店 {channels_link.best_url}"

        prepared = await p.remaker.prepare(text)
        assert [item.league for item in prepared.items] == ["union", "channels"], prepared.reason
        theirs = await p.remaker.for_group(prepared, other)
        assert theirs.forward, theirs.reason
        assert union_link.best_url not in theirs.text and channels_link.best_url not in theirs.text
        assert theirs.links[0].target.startswith("https://mmbizurl.cn/s/")
        assert theirs.links[1].target.startswith("https://store.weixin.qq.com/shop/a/")
        own = await p.remaker.for_group(prepared, home)
        assert own.text == text, "the source group's own links are its own already"


async def test_a_digest_of_30_links_is_remade_whole_and_one_bad_link_drops_it(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        lines = [
            f"{n}. {prod.title[:12]} 到手价见图 {p.jd_link(prod)}"
            for n, prod in enumerate(p.jd_products()[:10])
        ]
        lines += [f"拼 {prod.title[:10]} {p.pdd_link(prod)}" for prod in p.pdd_products()[:10]]
        lines += [f"淘 ￥{p.taobao_code(prod)}￥ {prod.title[:8]}" for prod in p.taobao_products()[:10]]
        digest = "【线报汇总】\n" + "\n".join(lines)
        prepared = await p.remaker.prepare(digest)
        assert prepared.reason is None and len(prepared.items) == 30
        remade = await p.remaker.for_group(prepared, await p.group("r1@chatroom"))
        assert remade.forward and len(remade.links) == 30
        assert not _tokens(digest) & _tokens(remade.text)
        assert remade.text.count("\n") == digest.count("\n")

        spoiled = digest + "\n加群领更多 https://shop.example.com/join"
        dropped = await p.remaker.prepare(spoiled)
        assert dropped.reason is not None and "https://shop.example.com/join" in dropped.reason
        expired = await p.remaker.prepare(digest + "\n淘 ￥Zz9Yy8Xx7Ww￥ 已抢光")
        assert expired.reason is not None and "Zz9Yy8Xx7Ww" in expired.reason and not expired.transient


async def test_a_league_that_hangs_gives_a_transient_reason_unless_another_link_cannot_be_remade(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        remaker = p.remaker_with(deadline_seconds=0.3)
        jd_url, pdd_url = p.jd_link(p.jd_products()[0]), p.pdd_link(p.pdd_products()[0])
        text = f"京东 {jd_url}\n拼多多 {pdd_url}"
        ready = await remaker.prepare(text)  # before the trouble: resolved
        assert ready.reason is None

        p.jd.faults.latency_s = 1.0
        slow = await remaker.prepare(f"京东 {p.jd_link(p.jd_products()[1])}\n拼多多 {pdd_url}")
        assert slow.transient and slow.reason is not None and "京东" in slow.reason, slow.reason
        later = await remaker.for_group(ready, await p.group("new@chatroom"))  # its JD link is due now
        assert later.transient and not later.forward and later.reason is not None and "京东" in later.reason

        lasting = await remaker.prepare(f"京东 {p.jd_link(p.jd_products()[2])}\n淘宝 ￥Zz9Yy8Xx7Ww￥")
        assert not lasting.transient and lasting.reason is not None and "Zz9Yy8Xx7Ww" in lasting.reason


async def test_chatter_is_not_forwarded_and_a_bare_site_name_is_kept(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        with metered() as calls:
            chatter = await p.remaker.prepare("今天的线报晚点发，大家稍等～")
        assert chatter.reason == "没有商品链接或口令" and calls.calls == 0
        text = f"京东自营 jd.com 正品 {p.jd_link(p.jd_products()[0])}"
        remade = await p.remaker.for_group(await p.remaker.prepare(text), await p.group("r1@chatroom"))
        assert remade.forward and remade.text.startswith("京东自营 jd.com 正品 https://u.jd.com/")


async def test_the_operator_adds_a_header_and_footer_in_the_forward_template(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "data" / "templates").mkdir(parents=True)
    (tmp_path / "data" / "templates" / "forward.j2").write_text(
        "【{{ group_name }} 今日线报】\n{{ text }}\n—— 共 {{ links|length }} 个链接，已换成本群专属",
        encoding="utf-8",
    )
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        jd_url = p.jd_link(p.jd_products()[0])
        remade = await p.remaker.for_group(
            await p.remaker.prepare(f"好价 {jd_url}"), await p.group("r1@chatroom", "宝妈群")
        )
        assert remade.text.startswith("【宝妈群 今日线报】\n好价 https://u.jd.com/")
        assert remade.text.endswith("—— 共 1 个链接，已换成本群专属")
        assert jd_url not in remade.text


async def test_bad_source_messages_each_get_their_own_answer_without_a_league_call(
    sandbox: SandboxServer, engine: Engine, tmp_path: Path
) -> None:
    async with sandbox_parts(sandbox, engine, tmp_path / "data") as p:
        jd = p.jd_products()[0]
        many = "\n".join(
            f"京东 https://u.jd.com/{p.jd.issue_link(jd_sku(jd.product_id), f'op{n}', '7', '4', '').token}"
            for n in range(61)
        )
        long = "好价" * 3000 + "!" + p.jd_link(jd)
        cases = {
            "": "没有商品链接或口令",
            long: f"消息太长（{len(long)} 字，超过 6000 字），不像线报",
            many: "链接和口令太多（61 个，最多 60 个）",
            "唯品会 https://t.vip.com/AbCdEf12 特卖": "唯品会的链接暂不支持转链（没有启用这个联盟）：https://t.vip.com/AbCdEf12",
        }
        for text, reason in cases.items():
            with metered() as calls:
                prepared = await p.remaker.prepare(text)
            assert (prepared.reason, prepared.transient, prepared.items) == (reason, False, ())
            assert calls.calls == 0

        # half an emoji (a lone surrogate) cannot be sent by any chat: it goes, the deal stays
        broken = await p.remaker.prepare(f"好价\ud83d {p.jd_link(jd)}")
        remade = await p.remaker.for_group(broken, await p.group("r1@chatroom"))
        assert remade.forward and remade.text.startswith("好价 https://u.jd.com/")
        remade.text.encode("utf-8")  # no lone surrogate left
