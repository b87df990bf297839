"""The sandbox league's shipped catalogue: products, coupons, lives and sharers to serve locally.

Generated from the word lists in `catalogue_data` with `random.Random(seed)`, so a seed always gives the
same catalogue (tests and demos can name product ids) while the content still reads like a real shop
floor. Money is integer fen; live times are offsets from the server's start, which places them.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from tuike_sandbox.catalogue_data import (
    CATEGORY_TREE,
    COMMISSION_PPM,
    KINDS,
    LIVE_HOOKS,
    LIVE_THEMES,
    SERVICES,
    SHARERS,
    TALENTS,
    Kind,
)
from tuike_sandbox.search import SearchIndex

IMG_HOST = "img.sandbox.tuike.test"
PRODUCT_ID_MIN = 10_000_000_000_000


@dataclass(frozen=True, slots=True)
class SandboxCategory:
    cat_id: str
    name: str
    f_cat_id: str
    level: int
    leaf: bool


@dataclass(frozen=True, slots=True)
class SandboxSku:
    sku_id: str
    price_fen: int
    stock: int
    attrs: tuple[tuple[str, str], ...]
    thumb_img: str


@dataclass(frozen=True, slots=True)
class SandboxCoupon:
    coupon_id: str
    shop_appid: str
    name: str
    discount_fee_fen: int
    discount_num: int
    threshold_fen: int
    product_ids: tuple[int, ...]
    cooperative: bool
    valid_days: int
    total_num: int
    receive_num: int
    used_num: int


@dataclass(frozen=True, slots=True)
class SandboxProduct:
    product_id: int
    shop_appid: str
    shop_name: str
    title: str
    sub_title: str
    head_imgs: tuple[str, ...]
    desc: str
    category_id: str
    leaf_category_id: str
    skus: tuple[SandboxSku, ...]
    monthly_sales: int
    commission_ratio_ppm: int
    service_ratio_ppm: int
    plan_type: int
    status: int
    coupon_ids: tuple[str, ...]
    keywords: tuple[str, ...]
    brand: str = ""


@dataclass(frozen=True, slots=True)
class SandboxTalent:
    talent_appid: str
    nickname: str
    openfinderid: str = ""
    """What the window APIs name the talent by (its opentalentid since 2025)."""
    window_authorised: bool = True
    """False: the window calls answer 10024011 未获得橱窗授权 for this talent."""


@dataclass(frozen=True, slots=True)
class SandboxFeed:
    """A 视频号 video of a talent that carries one product (§1.12: no title of its own)."""

    export_id: str
    talent_appid: str
    product_id: int
    predict_commission_fen: int


@dataclass(frozen=True, slots=True)
class SandboxWindowItem:
    openfinderid: str
    product_id: int


@dataclass(frozen=True, slots=True)
class SandboxLive:
    talent_appid: str
    notice_id: str
    export_id: str
    description: str
    start_offset_s: int
    duration_s: int


@dataclass(frozen=True, slots=True)
class SandboxSharer:
    sharer_appid: str
    nickname: str
    commission_ratio_ppm: int
    commission_type: int


@dataclass(frozen=True, slots=True)
class Catalogue:
    categories: tuple[SandboxCategory, ...]
    products: tuple[SandboxProduct, ...]
    coupons: tuple[SandboxCoupon, ...]
    talents: tuple[SandboxTalent, ...]
    lives: tuple[SandboxLive, ...]
    sharers: tuple[SandboxSharer, ...]
    feeds: tuple[SandboxFeed, ...] = ()
    windows: tuple[SandboxWindowItem, ...] = ()
    _products_by_id: dict[int, SandboxProduct] = field(init=False, repr=False, compare=False)
    _coupons_by_id: dict[str, SandboxCoupon] = field(init=False, repr=False, compare=False)
    _search: SearchIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Indexes so the server's detail endpoints are O(1) per request.
        object.__setattr__(self, "_products_by_id", {p.product_id: p for p in self.products})
        object.__setattr__(self, "_coupons_by_id", {c.coupon_id: c for c in self.coupons})
        names = {c.cat_id: c.name for c in self.categories}
        object.__setattr__(
            self,
            "_search",
            SearchIndex(
                [
                    (
                        p.brand,
                        p.title,
                        p.keywords,
                        [names.get(p.category_id, ""), names.get(p.leaf_category_id, "")],
                    )
                    for p in self.products
                ]
            ),
        )

    def search(self, keyword: str) -> list[SandboxProduct]:
        """Products matching every word of `keyword`, most relevant first (then best sellers): case-
        and width-blind, brand and category aware, as a real league's search (see `search.py`)."""
        scored = [(s, p) for s, p in zip(self._search.scores(keyword), self.products, strict=True) if s]
        scored.sort(key=lambda sp: (-sp[0], -sp[1].monthly_sales, sp[1].product_id))
        return [p for _s, p in scored]

    def product(self, product_id: int) -> SandboxProduct | None:
        return self._products_by_id.get(product_id)

    def coupon(self, coupon_id: str) -> SandboxCoupon | None:
        return self._coupons_by_id.get(coupon_id)


@lru_cache(maxsize=4)
def build_catalogue(seed: int = 2026) -> Catalogue:
    """The catalogue for `seed`, built once per process (it is immutable, so sharing is safe)."""
    return generate_catalogue(seed)


def generate_catalogue(seed: int = 2026) -> Catalogue:
    """Build a fresh catalogue without the cache; `build_catalogue` is what callers normally want."""
    rng = random.Random(seed)
    categories, leaf_ids = _categories()
    products, coupons = _coupons(rng, _products(rng, leaf_ids))
    talents = tuple(SandboxTalent(_appid("talent", name), name) for name, _ in TALENTS)
    lives = _lives(rng, talents)
    sharers = tuple(
        SandboxSharer(appid, nickname, rng.choice((500_000, 600_000, 700_000, 800_000)), 1 if i == 2 else 0)
        for i, (appid, nickname) in enumerate(SHARERS)
    )
    # feeds and windows draw from their own generator: the products, coupons and lives of a seed
    # stay what they were before the catalogue had them
    extra = random.Random(f"{seed}:feeds-windows")
    talents = tuple(
        replace(
            t,
            openfinderid=_appid("finder", t.nickname).replace("wx", "sbxfinder_", 1),
            window_authorised=i < len(talents) - 1,
        )
        for i, t in enumerate(talents)
    )
    feeds, windows = _feeds_and_windows(extra, talents, products)
    return Catalogue(categories, products, coupons, talents, lives, sharers, feeds, windows)


# ---- money helpers -------------------------------------------------------------------------------


def yuan_to_fen(text: str) -> int:
    """Turn "39.9" into 3990 without going through float."""
    whole, _, frac = text.strip().partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def charm_price(fen: int) -> int:
    """Round to a price a shop would print: ¥9.9 / ¥39.9, ¥199, ¥2999."""
    if fen < 10_000:
        return max(1, (fen + 50) // 100) * 100 - 10
    if fen < 100_000:
        return ((fen + 500) // 1000) * 1000 - 100
    return ((fen + 5000) // 10_000) * 10_000 - 100


# Thresholds shops really use for 满减 (yuan).
# fmt: off
_NICE_THRESHOLDS = (
    9, 19, 29, 39, 49, 59, 69, 79, 89, 99, 129, 149, 159, 199, 249, 299, 399, 499, 599, 799, 999,
    1299, 1499, 1999, 2999, 3999, 4999, 5999, 6999, 7999, 9999, 14999, 19999,
)
# fmt: on


def _nice_at_most(fen: int) -> int:
    """Largest nice threshold not above `fen` (0 when the price is below all of them)."""
    best = 0
    for yuan in _NICE_THRESHOLDS:
        if yuan * 100 <= fen:
            best = yuan * 100
    return best


def _nice_above(fen: int) -> int:
    for yuan in _NICE_THRESHOLDS:
        if yuan * 100 > fen:
            return yuan * 100
    return (fen // 100_000 + 1) * 100_000


def _whole_yuan_off(fen: int) -> int:
    """An amount off as shops write it: whole yuan, to ¥5 from ¥10 and to ¥50 from ¥100; at least ¥1."""
    yuan = max(1, fen // 100)
    if yuan >= 100:
        yuan = (yuan // 50) * 50
    elif yuan >= 10:
        yuan = (yuan // 5) * 5
    return yuan * 100


def _zhe(discount_num: int) -> str:
    """9500 → "9.5折", 9000 → "9折"."""
    whole, tenth = discount_num // 1000, (discount_num % 1000) // 100
    return f"{whole}.{tenth}折" if tenth else f"{whole}折"


# ---- ids -----------------------------------------------------------------------------------------


def _appid(kind: str, name: str) -> str:
    """A stable wx-style appid from a name, so a shop keeps its appid across seeds."""
    return "wx" + hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=8).hexdigest()


def _fresh(rng: random.Random, used: set[int], lo: int, hi: int) -> int:
    while True:
        value = rng.randrange(lo, hi)
        if value not in used:
            used.add(value)
            return value


# ---- categories ----------------------------------------------------------------------------------


def _categories() -> tuple[tuple[SandboxCategory, ...], dict[str, tuple[str, str]]]:
    """The category tree, plus leaf name → (level-1 id, leaf id) for placing products."""
    out: list[SandboxCategory] = []
    leaf_ids: dict[str, tuple[str, str]] = {}
    level2_id, level3_id = 1101, 6103
    for top_name, top_id, children in CATEGORY_TREE:
        out.append(SandboxCategory(top_id, top_name, "0", 1, False))
        for child_name, grandchildren in children:
            child_id = str(level2_id)
            level2_id += 7
            out.append(SandboxCategory(child_id, child_name, top_id, 2, not grandchildren))
            if not grandchildren:
                leaf_ids[child_name] = (top_id, child_id)
            for grand_name in grandchildren:
                grand_id = str(level3_id)
                level3_id += 11
                out.append(SandboxCategory(grand_id, grand_name, child_id, 3, True))
                leaf_ids[grand_name] = (top_id, grand_id)
    return tuple(out), leaf_ids


# ---- products ------------------------------------------------------------------------------------


def _parse_pairs(text: str, sep: str) -> list[tuple[str, str]]:
    pairs = []
    for chunk in text.split(sep):
        label, _, value = chunk.strip().rpartition("=")
        pairs.append((label.strip(), value.strip()))
    return pairs


def _title(kind: Kind, brand: str, model: str, rng: random.Random) -> tuple[str, list[str]]:
    parts = [brand, model] if kind.brand_in_title else [model]
    if not any(word in model for word in (*kind.nouns, *kind.keywords)):  # the model already names it
        parts.append(rng.choice(kind.nouns))
    points = [p for p in kind.points if p not in model]
    chosen = rng.sample(points, k=min(len(points), rng.choice((1, 2, 2))))
    return " ".join(parts + chosen), chosen


def _monthly_sales(rng: random.Random, price_fen: int) -> int:
    """Long tail: cheap daily goods sell in the thousands, most items far less, a few are hits."""
    if rng.random() < 0.04:
        return 0
    mu = 7.0 if price_fen < 3_000 else 6.2 if price_fen < 10_000 else 5.2 if price_fen < 50_000 else 4.0
    return min(300_000, int(rng.lognormvariate(mu, 1.5)))


def _skus(
    rng: random.Random, used: set[int], key: str, options: list[tuple[str, int]], list_fen: int
) -> tuple[SandboxSku, ...]:
    """1–4 variants; the first option is always on sale and sets the headline price."""
    base = list_fen * rng.randint(95, 105) // 100
    n_skus = rng.randint(1, min(4, len(options)))
    picked = [options[0], *rng.sample(options[1:], k=n_skus - 1)]
    picked.sort(key=options.index)
    skus = []
    for label, pct in picked:
        sku_id = _fresh(rng, used, 1_000_000_000, 4_000_000_000)
        skus.append(
            SandboxSku(
                sku_id=str(sku_id),
                price_fen=charm_price(base * pct // 100),
                stock=0 if rng.random() < 0.04 else rng.randint(20, 9_999),
                attrs=((key, label),),
                thumb_img=f"https://{IMG_HOST}/sku/{sku_id}.jpg",
            )
        )
    return tuple(skus)


def _products(rng: random.Random, leaf_ids: dict[str, tuple[str, str]]) -> list[SandboxProduct]:
    used_ids: set[int] = set()
    used_skus: set[int] = set()
    titles: set[str] = set()
    top_names = {top_id: name for name, top_id, _ in CATEGORY_TREE}
    products: list[SandboxProduct] = []
    for kind in KINDS:
        if kind.leaf not in leaf_ids:
            raise ValueError(f"catalogue data: kind leaf {kind.leaf!r} is not a leaf category")
        top_id, leaf_id = leaf_ids[kind.leaf]
        lo_ppm, hi_ppm = COMMISSION_PPM[top_names[top_id]]
        options = [(label, int(pct)) for label, pct in _parse_pairs(kind.sku_options, "|")]
        lines = [
            (brand, model, yuan) for brand in kind.brands for model, yuan in _parse_pairs(brand.models, ";")
        ]
        # Three lines per kind always on public promotion, so every common search has something to show.
        always_on = set(rng.sample(range(len(lines)), k=min(3, len(lines))))
        for index, (brand, model, yuan) in enumerate(lines):
            shop_appid = _appid("shop", brand.shop_name)
            title, points = _title(kind, brand.name, model, rng)
            if title in titles:
                raise ValueError(f"catalogue data: duplicate title {title!r}")
            titles.add(title)
            product_id = _fresh(rng, used_ids, PRODUCT_ID_MIN, PRODUCT_ID_MIN + 99_999_999_999)
            skus = _skus(rng, used_skus, kind.sku_key, options, yuan_to_fen(yuan))
            services = rng.sample(SERVICES, k=2)
            plan_roll, status_roll = (1.0, 1.0) if index in always_on else (rng.random(), rng.random())
            products.append(
                SandboxProduct(
                    product_id=product_id,
                    shop_appid=shop_appid,
                    shop_name=brand.shop_name,
                    title=title,
                    sub_title=" · ".join([*points[:1], *services]),
                    head_imgs=tuple(
                        f"https://{IMG_HOST}/p/{product_id}/{i}.jpg" for i in range(1, rng.randint(1, 9) + 1)
                    ),
                    desc=f"{brand.name} {model}，{'，'.join(points)}。"
                    f"{brand.shop_name}发货，{'、'.join(services)}。",
                    category_id=top_id,
                    leaf_category_id=leaf_id,
                    skus=skus,
                    monthly_sales=_monthly_sales(rng, skus[0].price_fen),
                    commission_ratio_ppm=rng.randrange(lo_ppm, hi_ppm + 1, 5_000),
                    service_ratio_ppm=rng.choice((0, 50_000, 100_000, 100_000, 200_000)),
                    plan_type=1 if plan_roll < 0.08 else 2,
                    status=2 if status_roll < 0.04 else 5 if status_roll < 0.06 else 1,
                    coupon_ids=(),
                    # The product line's own noun first: it is what the item "is" when listed.
                    keywords=tuple(dict.fromkeys((kind.nouns[0], *kind.keywords, brand.name))),
                    brand=brand.name,
                )
            )
    products.sort(key=lambda p: p.product_id)
    return products


# ---- coupons -------------------------------------------------------------------------------------


def _coupons(
    rng: random.Random, products: list[SandboxProduct]
) -> tuple[tuple[SandboxProduct, ...], tuple[SandboxCoupon, ...]]:
    """About 60% of products get a coupon; some shops share one coupon across several products."""
    chosen = rng.sample(products, k=round(len(products) * 0.6))
    chosen.sort(key=lambda p: p.product_id)
    by_shop: dict[str, list[SandboxProduct]] = {}
    for p in chosen:
        by_shop.setdefault(p.shop_appid, []).append(p)
    groups: list[list[SandboxProduct]] = []
    for shop_products in by_shop.values():
        if len(shop_products) >= 2 and rng.random() < 0.4:
            groups.append(shop_products)
        else:
            groups.extend([p] for p in shop_products)
    groups.extend([p] for p in chosen if rng.random() < 0.15)  # a second coupon on some products

    n = len(groups)
    coupons_on = Counter(p.product_id for group in groups for p in group)
    discount = set(rng.sample(range(n), k=max(3, n // 12)))
    unusable = set(rng.sample([i for i in range(n) if i not in discount], k=max(2, n // 20)))
    # A run-out coupon goes on a product with no other coupon: the clear "券已抢光" case.
    sole = [
        i
        for i in range(n)
        if i not in discount and len(groups[i]) == 1 and coupons_on[groups[i][0].product_id] == 1
    ]
    exhausted = set(rng.sample(sole, k=min(len(sole), max(3, n // 10))))

    used_ids: set[int] = set()
    coupons: list[SandboxCoupon] = []
    for i, group in enumerate(groups):
        low = min(min(s.price_fen for s in p.skus) for p in group)
        high = max(max(s.price_fen for s in p.skus) for p in group)
        fee, num, threshold = 0, 0, 0
        if i in discount:
            num = rng.choice((9500, 9000, 8800, 8500, 8000))
            threshold = _nice_at_most(low) if rng.random() < 0.5 else 0
            name = f"满{threshold // 100}享{_zhe(num)}" if threshold else f"{_zhe(num)}券"
        elif i in unusable:
            threshold = _nice_above(high * 6 // 5)
            fee = _whole_yuan_off(threshold * rng.randint(8, 20) // 100)
            name = f"满{threshold // 100}减{fee // 100}"
        else:
            threshold = _nice_at_most(low) if rng.random() < 0.6 else 0
            if threshold:
                fee = _whole_yuan_off(threshold * rng.randint(8, 20) // 100)
                name = f"满{threshold // 100}减{fee // 100}"
            else:
                fee = _whole_yuan_off(low * rng.randint(3, 10) // 100)
                name = f"立减{fee // 100}元"
        total = rng.choice((500, 1_000, 2_000, 5_000, 10_000, 50_000))
        received = total if i in exhausted else total * rng.randint(5, 95) // 100
        coupons.append(
            SandboxCoupon(
                coupon_id=str(_fresh(rng, used_ids, 10**17, 10**18)),
                shop_appid=group[0].shop_appid,
                name=name,
                discount_fee_fen=fee,
                discount_num=num,
                threshold_fen=threshold,
                product_ids=tuple(p.product_id for p in group),
                cooperative=rng.random() < 0.4,
                valid_days=rng.choice((3, 7, 7, 15, 30)),
                total_num=total,
                receive_num=received,
                used_num=received * rng.randint(20, 80) // 100,
            )
        )

    # Per product: public before 定向 (the order the detail endpoint lists them), specific before shop-wide.
    ids_for: dict[int, list[str]] = {}
    for c in sorted(coupons, key=lambda c: (c.cooperative, len(c.product_ids) > 1)):
        for pid in c.product_ids:
            ids_for.setdefault(pid, []).append(c.coupon_id)
    with_coupons = tuple(replace(p, coupon_ids=tuple(ids_for.get(p.product_id, ()))) for p in products)
    return with_coupons, tuple(coupons)


# ---- lives ---------------------------------------------------------------------------------------

_HOUR = 3600


def _lives(rng: random.Random, talents: Sequence[SandboxTalent]) -> tuple[SandboxLive, ...]:
    """One live on now, one starting in 30–90 min, one later today/tomorrow, plus past and extra ones."""
    slots = [
        (0, -rng.randint(5, 50) * 60, rng.randint(2, 4) * _HOUR),  # on air now
        (1, rng.randint(35, 85) * 60, 3 * _HOUR),  # starting soon
        (2, rng.randint(4, 26) * _HOUR + rng.choice((0, 1800)), rng.randint(2, 4) * _HOUR),  # later
        (0, rng.randint(22, 30) * _HOUR, 3 * _HOUR),  # tomorrow evening
        (1, -rng.randint(20, 44) * _HOUR, 3 * _HOUR),  # ended yesterday
    ]
    for t in range(3, len(talents)):
        slots.append((t, -rng.randint(20, 44) * _HOUR, 2 * _HOUR))
        slots.append((t, rng.randint(6, 40) * _HOUR, 3 * _HOUR))
    lives = []
    for t, start, duration in slots:
        scope = TALENTS[t][1]
        token = f"{rng.getrandbits(96):024x}"
        lives.append(
            SandboxLive(
                talent_appid=talents[t].talent_appid,
                notice_id=f"finderlivenotice-{token}",
                export_id=f"export/UzFfAgtgekIEAQAAAAAA{token}",
                description=f"{rng.choice(LIVE_THEMES)} {scope} {rng.choice(LIVE_HOOKS)}",
                start_offset_s=start,
                duration_s=duration,
            )
        )
    return tuple(lives)


# ---- feeds and windows ---------------------------------------------------------------------------


def _feeds_and_windows(
    rng: random.Random, talents: Sequence[SandboxTalent], products: Sequence[SandboxProduct]
) -> tuple[tuple[SandboxFeed, ...], tuple[SandboxWindowItem, ...]]:
    """Each talent: 8–25 feeds (more than one page of 10) on promoted products, and a window of
    40–160 products (the first talent's, more than one default page of 100)."""
    on_promotion = [p for p in products if p.status == 1 and p.plan_type == 2]
    feeds: list[SandboxFeed] = []
    windows: list[SandboxWindowItem] = []
    for i, talent in enumerate(talents):
        for product in rng.sample(on_promotion, k=rng.randint(8, 25)):
            price = min(s.price_fen for s in product.skus)
            feeds.append(
                SandboxFeed(
                    export_id=f"export/UzFfAgtgekIEAQAAAAAAfeed{rng.getrandbits(64):016x}",
                    talent_appid=talent.talent_appid,
                    product_id=product.product_id,
                    predict_commission_fen=price * product.commission_ratio_ppm // 1_000_000,
                )
            )
        size = 160 if i == 0 else rng.randint(40, 90)
        windows += [
            SandboxWindowItem(talent.openfinderid, p.product_id) for p in rng.sample(on_promotion, k=size)
        ]
    return tuple(feeds), tuple(windows)
