"""`bot.leagues.vip.links.recognise`: Vipshop goods pages, short links and pages that are not goods."""

from __future__ import annotations

import pytest

from bot.leagues.vip.links import recognise

GID = "6918901004295698011"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://detail.vip.com/detail-1710613245-{GID}.html", ("item", GID)),
        (f"https://www.vip.com/detail-1710613245-{GID}.html?f=ad", ("item", GID)),
        (f"https://m.vip.com/product-1710613245-{GID}.html?msns=iphone&from=share", ("item", GID)),
        (f"m.vip.com/product-0-{GID}.html", ("item", GID)),
        ("https://m.vip.com/product-1710613245-6920061234567.html", ("item", "6920061234567")),
        ("https://t.vip.com/mlCYWuKuVNA", ("short_link", None)),
        ("https://t.vip.com/mlCYWuKuVNA?wq=1", ("short_link", None)),
        ("https://click.union.vip.com/Hq7KpZxW", ("short_link", None)),
        ("https://click.union.vip.com/deeplink/showGoodsDetail?goodsId=1", ("short_link", None)),
        ("https://list.vip.com/brand-1710613245.html", ("not_product", None)),
        ("https://m.vip.com/brand-1710613245.html", ("not_product", None)),
        ("https://www.vip.com/", None),
        ("https://t.vip.com/", None),
        ("https://t.vip.com/x", None),
        (f"https://evil.example/detail-1-{GID}.html", None),
        (f"https://vip.com.evil.example/detail-1-{GID}.html", None),
    ],
)
def test_recognise(url: str, expected: object) -> None:
    assert recognise(url) == expected
