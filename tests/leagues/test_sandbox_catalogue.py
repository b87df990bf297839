"""The shipped catalogue reads like a real shop and covers what members search for."""

from __future__ import annotations

from collections import Counter

from bot.leagues.sandbox.catalogue import build_catalogue


def test_size_categories_and_ids() -> None:
    c = build_catalogue()
    assert len(c.products) >= 300
    tops = [cat for cat in c.categories if cat.level == 1]
    assert len(tops) >= 10
    for top in tops:
        assert any(child.f_cat_id == top.cat_id for child in c.categories), f"{top.name} has children"
    assert len({p.product_id for p in c.products}) == len(c.products)
    assert all(p.product_id >= 10_000_000_000 for p in c.products)
    assert {"家清日用", "食品生鲜", "服饰鞋包", "个护美妆", "图书"} <= {t.name for t in tops}
    assert len({p.title for p in c.products}) == len(c.products), "titles do not repeat"


def test_prices_commissions_and_coupons_are_sensible() -> None:
    c = build_catalogue()
    for p in c.products:
        assert 1 <= len(p.skus) <= 4
        assert all(isinstance(s.price_fen, int) and s.price_fen > 0 for s in p.skus)
        assert 50_000 <= p.commission_ratio_ppm <= 400_000
    by_noun = {p.keywords[0]: min(s.price_fen for s in p.skus) for p in c.products}
    assert by_noun["抽纸"] < 10_000 < by_noun["智能手表"]
    with_coupon = sum(1 for p in c.products if p.coupon_ids) / len(c.products)
    assert 0.4 < with_coupon < 0.8
    coupons = c.coupons
    assert any(x.receive_num == x.total_num for x in coupons), "some coupons have run out"
    assert any(x.discount_num for x in coupons), "some are 折扣券"
    for coupon in coupons:
        for pid in coupon.product_ids:
            product = c.product(pid)
            assert product is not None
            assert product.shop_appid == coupon.shop_appid


def test_common_searches_find_enough() -> None:
    c = build_catalogue()
    hay = [p.title + " " + " ".join(p.keywords) for p in c.products]
    wanted = Counter(
        {
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
        }
    )
    for word, minimum in wanted.items():
        assert sum(word in h for h in hay) >= minimum, word


def test_lives_talents_sharers_and_determinism() -> None:
    c = build_catalogue()
    assert len(c.talents) >= 3
    offsets = [lv.start_offset_s for lv in c.lives]
    assert any(30 * 60 <= o <= 90 * 60 for o in offsets), "one upcoming within the hour or so"
    assert any(o < 0 < o + lv.duration_s for o, lv in zip(offsets, c.lives, strict=True)), "one live now"
    assert any(o > 3 * 3600 for o in offsets), "one later"
    assert len(c.sharers) >= 3
    again = build_catalogue.__wrapped__(2026)  # type: ignore[attr-defined]
    assert again.products == c.products
