"""The sandbox catalogue must look like a real shop floor: searches find things, prices make sense,
coupons and lives cover the cases the bot has to handle."""

from __future__ import annotations

import re
import statistics
from collections import Counter

import pytest

from tuike_sandbox.catalogue import (
    Catalogue,
    SandboxProduct,
    build_catalogue,
    charm_price,
    generate_catalogue,
    yuan_to_fen,
)

REFERENCE_IDS = {
    "家清日用": "8261345894708739273",
    "食品生鲜": "11099070301657575487",
    "服饰鞋包": "16579416177373560313",
    "个护美妆": "17007902228422672609",
    "图书": "12377324634086192020",
}

# What a shopper would accept as the cheapest and dearest SKU in each department, in yuan.
PRICE_RANGE_YUAN = {
    "家清日用": (5, 200),
    "食品生鲜": (5, 800),
    "服饰鞋包": (19, 3_000),
    "个护美妆": (9, 2_000),
    "图书": (9, 500),
    "手机数码": (9, 15_000),
    "家用电器": (49, 8_000),
    "母婴玩具": (49, 3_000),
    "运动户外": (29, 3_000),
    "宠物用品": (19, 1_000),
    "家居家装": (29, 3_000),
}

COMMON_SEARCHES = {
    "蓝牙耳机": 5,
    "纸巾": 3,
    "手机壳": 3,
    "洗衣液": 3,
    "零食": 3,
    "牛奶": 3,
    "口红": 3,
    "运动鞋": 3,
    "猫粮": 3,
    "充电宝": 3,
    "茶叶": 3,
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return build_catalogue()


def matches(product: SandboxProduct, word: str) -> bool:
    return word in product.title or word in product.keywords


def promotable_matches(cat: Catalogue, word: str) -> list[SandboxProduct]:
    """Only what a member can actually be sent counts: on promotion, public plan."""
    return [p for p in cat.products if matches(p, word) and p.status == 1 and p.plan_type == 2]


def prices(product: SandboxProduct) -> list[int]:
    return [sku.price_fen for sku in product.skus]


def test_size_and_category_tree(cat: Catalogue) -> None:
    assert len(cat.products) >= 300
    by_id = {c.cat_id: c for c in cat.categories}
    level1 = [c for c in cat.categories if c.level == 1]
    assert len(level1) >= 10
    for top in level1:
        assert top.f_cat_id == "0"
        assert any(c.f_cat_id == top.cat_id and c.level == 2 for c in cat.categories), top.name
    for name, cat_id in REFERENCE_IDS.items():
        assert by_id[cat_id].name == name
    assert any(int(c.cat_id) > 2**63 - 1 for c in level1)  # ids beyond int64 exist, as on Channels
    for c in cat.categories:
        has_children = any(other.f_cat_id == c.cat_id for other in cat.categories)
        assert c.leaf == (not has_children), c.name
        if c.level > 1:
            assert by_id[c.f_cat_id].level == c.level - 1


def test_every_product_sits_in_a_leaf_under_its_top_category(cat: Catalogue) -> None:
    by_id = {c.cat_id: c for c in cat.categories}
    used_leaves = set()
    for p in cat.products:
        assert by_id[p.category_id].level == 1
        leaf = by_id[p.leaf_category_id]
        assert leaf.leaf
        assert leaf.level in (2, 3)
        while leaf.level > 1:
            leaf = by_id[leaf.f_cat_id]
        assert leaf.cat_id == p.category_id
        used_leaves.add(p.leaf_category_id)
    assert {c.cat_id for c in cat.categories if c.leaf} == used_leaves  # no empty aisles


@pytest.mark.parametrize(("word", "at_least"), COMMON_SEARCHES.items())
def test_common_searches_find_enough_products(cat: Catalogue, word: str, at_least: int) -> None:
    found = promotable_matches(cat, word)
    assert len(found) >= at_least
    assert len({p.shop_appid for p in found}) >= 2  # a search shows a choice of shops


def test_earbuds_fill_a_whole_results_page(cat: Catalogue) -> None:
    """The demo search 「蓝牙耳机」 shows 12 offers, each with the words in its title."""
    promotable = [p for p in cat.products if p.status == 1 and p.plan_type == 2]
    assert sum("蓝牙耳机" in p.title for p in promotable) >= 12


def test_keywords_lead_with_what_the_item_is(cat: Catalogue) -> None:
    first = {p.keywords[0] for p in cat.products}
    assert {"抽纸", "洗衣液", "蓝牙耳机", "猫粮", "纯牛奶", "口红"} <= first
    for p in cat.products:
        assert len(set(p.keywords)) == len(p.keywords)


def test_titles_read_like_a_shop_and_never_repeat(cat: Catalogue) -> None:
    titles = [p.title for p in cat.products]
    assert len(set(titles)) == len(titles)
    for p in cat.products:
        assert re.search(r"[\u4e00-\u9fff]", p.title), p.title
        assert 6 <= len(p.title) <= 60, p.title
        assert p.shop_name.endswith("店")
        assert p.sub_title
        assert p.desc
    assert "小米官方旗舰店" in {p.shop_name for p in cat.products}


def test_shops_have_one_stable_appid(cat: Catalogue) -> None:
    appid_of: dict[str, set[str]] = {}
    for p in cat.products:
        assert re.fullmatch(r"wx[0-9a-f]{16}", p.shop_appid)
        appid_of.setdefault(p.shop_name, set()).add(p.shop_appid)
    assert all(len(ids) == 1 for ids in appid_of.values())
    assert len({next(iter(ids)) for ids in appid_of.values()}) == len(appid_of)
    # A shop keeps its appid when the seed changes, so saved links stay meaningful.
    other = {p.shop_name: p.shop_appid for p in generate_catalogue(7).products}
    assert all(other[name] in ids for name, ids in appid_of.items())


def test_prices_make_sense_per_department(cat: Catalogue) -> None:
    name_of = {c.cat_id: c.name for c in cat.categories}
    for p in cat.products:
        assert 1 <= len(p.skus) <= 4
        lo, hi = PRICE_RANGE_YUAN[name_of[p.category_id]]
        for fen in prices(p):
            assert isinstance(fen, int)
            assert lo * 100 <= fen <= hi * 100, (p.title, fen)
    phones = [p for p in cat.products if name_of[p.leaf_category_id] == "手机"]
    assert phones
    assert all(min(prices(p)) >= 499_00 for p in phones)
    tissues = [p for p in cat.products if "抽纸" in p.title or "卷纸" in p.title]
    assert tissues
    assert all(min(prices(p)) <= 80_00 for p in tissues)
    assert any(min(prices(p)) < 15_00 for p in tissues)  # the ¥9.9 bargain is there
    earbuds = [p for p in cat.products if name_of[p.leaf_category_id] == "蓝牙耳机"]
    assert all(49_00 <= min(prices(p)) <= 2_000_00 for p in earbuds)
    assert any(min(prices(p)) < 150_00 for p in earbuds)
    assert any(min(prices(p)) > 1_000_00 for p in earbuds)


def test_skus_have_attrs_images_and_some_sell_out(cat: Catalogue) -> None:
    skus = [s for p in cat.products for s in p.skus]
    assert len({s.sku_id for s in skus}) == len(skus)
    assert all(s.attrs and all(k and v for k, v in s.attrs) for s in skus)
    assert all(s.thumb_img.startswith("https://img.sandbox.tuike.test/") for s in skus)
    assert any(s.stock == 0 for s in skus)
    assert all(s.stock >= 0 for s in skus)
    for p in cat.products:
        assert 1 <= len(p.head_imgs) <= 9
        assert all(url.startswith("https://img.sandbox.tuike.test/") for url in p.head_imgs)


def test_sales_have_a_long_tail_and_ratios_stay_in_range(cat: Catalogue) -> None:
    sales = [p.monthly_sales for p in cat.products]
    assert max(sales) >= 10 * statistics.median(sales)
    top_tenth = sorted(sales, reverse=True)[: len(sales) // 10]
    assert sum(top_tenth) > sum(sales) / 2
    assert all(50_000 <= p.commission_ratio_ppm <= 400_000 for p in cat.products)
    assert len({p.commission_ratio_ppm for p in cat.products}) > 10
    assert all(0 <= p.service_ratio_ppm < 1_000_000 for p in cat.products)
    statuses = Counter(p.status for p in cat.products)
    assert statuses[1] > 0.8 * len(cat.products)
    assert statuses[2] + statuses[5] > 0
    plans = Counter(p.plan_type for p in cat.products)
    assert plans[2] > plans[1] > 0


def test_ids_are_unique_and_shaped_like_channels_ids(cat: Catalogue) -> None:
    ids = [p.product_id for p in cat.products]
    assert len(set(ids)) == len(ids)
    assert min(ids) >= 10_000_000_000
    assert len({c.cat_id for c in cat.categories}) == len(cat.categories)
    assert all(c.cat_id.isdigit() for c in cat.categories)
    assert len({c.coupon_id for c in cat.coupons}) == len(cat.coupons)
    assert len({t.talent_appid for t in cat.talents}) == len(cat.talents)
    assert len({lv.notice_id for lv in cat.lives}) == len(cat.lives)
    assert len({lv.export_id for lv in cat.lives}) == len(cat.lives)


def test_coupons_belong_to_their_products_shop(cat: Catalogue) -> None:
    for c in cat.coupons:
        assert c.product_ids
        for pid in c.product_ids:
            product = cat.product(pid)
            assert product is not None
            assert product.shop_appid == c.shop_appid
            assert c.coupon_id in product.coupon_ids
    for p in cat.products:
        for cid in p.coupon_ids:
            coupon = cat.coupon(cid)
            assert coupon is not None
            assert p.product_id in coupon.product_ids
    share = sum(1 for p in cat.products if p.coupon_ids) / len(cat.products)
    assert 0.5 <= share <= 0.7
    assert any(len(c.product_ids) > 1 for c in cat.coupons)  # some shop-wide coupons


def test_coupons_cover_the_awkward_cases(cat: Catalogue) -> None:
    exhausted = [c for c in cat.coupons if c.receive_num == c.total_num]
    discount = [c for c in cat.coupons if c.discount_num]
    assert len(exhausted) >= 3
    assert len(discount) >= 3
    assert any(c.cooperative for c in cat.coupons)
    assert any(not c.cooperative for c in cat.coupons)

    def dearest(c_ids: tuple[int, ...]) -> int:
        return max(max(prices(p)) for pid in c_ids if (p := cat.product(pid)))

    unusable = [c for c in cat.coupons if c.threshold_fen > dearest(c.product_ids)]
    assert unusable
    for c in cat.coupons:
        assert 0 <= c.used_num <= c.receive_num <= c.total_num
        assert c.valid_days > 0
        if c.discount_num:
            assert c.discount_fee_fen == 0
            assert 5000 <= c.discount_num < 10000
            assert "折" in c.name
        else:
            assert c.discount_fee_fen > 0
            if c.threshold_fen:
                assert c.discount_fee_fen < c.threshold_fen
                assert c.name == f"满{c.threshold_fen // 100}减{c.discount_fee_fen // 100}"
            else:
                assert c.discount_fee_fen < min(
                    min(prices(p)) for pid in c.product_ids if (p := cat.product(pid))
                )


def test_lives_cover_now_soon_and_later(cat: Catalogue) -> None:
    assert len(cat.talents) >= 3
    talent_ids = {t.talent_appid for t in cat.talents}
    assert all(lv.talent_appid in talent_ids for lv in cat.lives)
    live_now = [lv for lv in cat.lives if lv.start_offset_s <= 0 < lv.start_offset_s + lv.duration_s]
    soon = [lv for lv in cat.lives if 30 * 60 <= lv.start_offset_s <= 90 * 60]
    later = [lv for lv in cat.lives if 2 * 3600 <= lv.start_offset_s <= 48 * 3600]
    assert live_now
    assert soon
    assert later
    assert all(lv.duration_s > 0 and lv.description for lv in cat.lives)


@pytest.mark.parametrize("seed", [1, 99, 31337])
def test_other_seeds_keep_the_guarantees(seed: int) -> None:
    other = generate_catalogue(seed)
    lives = other.lives
    assert any(lv.start_offset_s <= 0 < lv.start_offset_s + lv.duration_s for lv in lives)
    assert any(30 * 60 <= lv.start_offset_s <= 90 * 60 for lv in lives)
    assert any(c.receive_num == c.total_num for c in other.coupons)
    assert any(c.discount_num for c in other.coupons)
    assert len(other.products) == len(build_catalogue().products)
    for word, at_least in COMMON_SEARCHES.items():
        assert len(promotable_matches(other, word)) >= at_least, word


def test_sharers(cat: Catalogue) -> None:
    assert len(cat.sharers) >= 3
    for s in cat.sharers:
        assert re.fullmatch(r"wx_sharer_demo\d\d", s.sharer_appid)
        assert s.nickname
        assert 100_000 <= s.commission_ratio_ppm <= 900_000
        assert s.commission_type in (0, 1)


def test_lookups(cat: Catalogue) -> None:
    first = cat.products[0]
    assert cat.product(first.product_id) is first
    assert cat.product(1) is None
    assert cat.coupon(cat.coupons[0].coupon_id) is cat.coupons[0]
    assert cat.coupon("no-such-coupon") is None


def test_same_seed_same_catalogue() -> None:
    first = generate_catalogue(2026)
    assert first == generate_catalogue(2026)
    assert first != generate_catalogue(2027)
    assert build_catalogue(2026) is build_catalogue(2026)
    assert build_catalogue(2026) == first


@pytest.mark.parametrize(("text", "fen"), [("39.9", 3990), ("129", 12900), ("32.8", 3280), ("0.05", 5)])
def test_yuan_to_fen(text: str, fen: int) -> None:
    assert yuan_to_fen(text) == fen


@pytest.mark.parametrize(("fen", "shown"), [(1012, 990), (4190, 4190), (20350, 19900), (612000, 609900)])
def test_charm_price(fen: int, shown: int) -> None:
    assert charm_price(fen) == shown
