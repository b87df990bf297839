"""The sandbox's shipped catalogue: ~360 products in 12 categories, generated deterministically.

Titles are composed from hand-written brand / product / spec lists so they read like a real Chinese
shop, and every number is in the league's units (fen, parts per million).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from functools import cache

IMG = "https://img.sandbox.tuike.test"


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


@dataclass(frozen=True, slots=True)
class SandboxTalent:
    talent_appid: str
    nickname: str


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


@dataclass(frozen=True)
class Catalogue:
    categories: tuple[SandboxCategory, ...]
    products: tuple[SandboxProduct, ...]
    coupons: tuple[SandboxCoupon, ...]
    talents: tuple[SandboxTalent, ...]
    lives: tuple[SandboxLive, ...]
    sharers: tuple[SandboxSharer, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_products", {p.product_id: p for p in self.products})
        object.__setattr__(self, "_coupons", {c.coupon_id: c for c in self.coupons})

    def product(self, product_id: int) -> SandboxProduct | None:
        return self._products.get(product_id)  # type: ignore[attr-defined, no-any-return]

    def coupon(self, coupon_id: str) -> SandboxCoupon | None:
        return self._coupons.get(coupon_id)  # type: ignore[attr-defined, no-any-return]


# (level-1 name, id, [(level-2 name, [(product noun, extra keywords, price range yuan, brands, specs)])])
_Line = tuple[str, tuple[str, ...], tuple[int, int], tuple[str, ...], tuple[str, ...]]
_TREE: list[tuple[str, str, list[tuple[str, list[_Line]]]]] = [
    (
        "手机数码",
        "13572468013579246801",
        [
            (
                "耳机音箱",
                [
                    (
                        "蓝牙耳机",
                        ("耳机", "无线耳机", "降噪耳机"),
                        (59, 899),
                        ("小米", "漫步者", "华为", "OPPO", "倍思", "QCY"),
                        ("真无线 长续航", "主动降噪 入耳式", "半入耳 运动款", "游戏低延迟"),
                    ),
                    (
                        "蓝牙音箱",
                        ("音箱", "音响"),
                        (79, 599),
                        ("JBL", "小米", "漫步者", "索爱"),
                        ("便携户外 防水", "桌面 重低音"),
                    ),
                ],
            ),
            (
                "手机配件",
                [
                    (
                        "充电宝",
                        ("移动电源", "充电宝"),
                        (59, 199),
                        ("小米", "倍思", "罗马仕", "安克"),
                        ("20000mAh 22.5W快充", "10000mAh 超薄", "自带线 磁吸"),
                    ),
                    (
                        "手机壳",
                        ("保护壳", "手机套"),
                        (9, 69),
                        ("倍思", "图拉斯", "闪魔", "ESR亿色"),
                        (
                            "iPhone 16 Pro 磨砂防摔",
                            "iPhone 15 透明硅胶",
                            "华为Mate70 全包",
                            "小米15 液态硅胶",
                        ),
                    ),
                    (
                        "数据线",
                        ("充电线", "快充线"),
                        (9, 59),
                        ("绿联", "倍思", "小米"),
                        ("Type-C 100W 1米", "苹果 PD快充 2米"),
                    ),
                ],
            ),
            (
                "智能穿戴",
                [
                    (
                        "智能手表",
                        ("手表", "运动手表"),
                        (199, 1999),
                        ("华为", "小米", "荣耀", "dido"),
                        ("血氧心率 长续航", "eSIM 独立通话"),
                    ),
                    ("手环", ("运动手环",), (149, 399), ("小米", "华为"), ("9 NFC版", "彩屏 心率")),
                ],
            ),
        ],
    ),
    (
        "家用电器",
        "14680246813579135792",
        [
            (
                "厨房电器",
                [
                    (
                        "空气炸锅",
                        ("炸锅",),
                        (159, 599),
                        ("美的", "苏泊尔", "九阳", "小熊"),
                        ("5L 大容量 可视", "3.5L 家用 不粘"),
                    ),
                    (
                        "电饭煲",
                        ("电饭锅",),
                        (129, 799),
                        ("美的", "苏泊尔", "九阳"),
                        ("4L 智能预约", "IH 球釜 3L"),
                    ),
                ],
            ),
            (
                "生活电器",
                [
                    (
                        "吹风机",
                        ("电吹风",),
                        (69, 499),
                        ("戴森平替", "飞科", "徕芬", "松下"),
                        ("高速 负离子 护发", "大功率 速干"),
                    ),
                    (
                        "电动牙刷",
                        ("牙刷",),
                        (89, 399),
                        ("飞利浦", "欧乐B", "usmile", "小米"),
                        ("声波 成人款", "情侣套装 软毛"),
                    ),
                ],
            ),
        ],
    ),
    (
        "家清日用",
        "8261345894708739273",
        [
            (
                "纸品湿巾",
                [
                    (
                        "抽纸",
                        ("纸巾", "面巾纸", "卫生纸"),
                        (19, 69),
                        ("维达", "清风", "心相印", "洁柔"),
                        ("3层110抽*24包 整箱", "超韧 18包 家用", "婴儿可用 柔软"),
                    ),
                    (
                        "湿巾",
                        ("湿纸巾", "纸巾"),
                        (9, 39),
                        ("心相印", "维达", "全棉时代"),
                        ("80抽*6包 带盖", "手口专用"),
                    ),
                ],
            ),
            (
                "洗衣清洁",
                [
                    (
                        "洗衣液",
                        ("洗衣", "洗衣服"),
                        (29, 99),
                        ("蓝月亮", "奥妙", "立白", "超能"),
                        ("除菌除螨 10斤装", "薰衣草香 留香", "母婴 低泡"),
                    ),
                    (
                        "洗洁精",
                        ("洗碗",),
                        (9, 39),
                        ("白猫", "立白", "雕牌"),
                        ("柠檬 1.5kg*2瓶", "食品级 不伤手"),
                    ),
                ],
            ),
        ],
    ),
    (
        "食品生鲜",
        "11099070301657575487",
        [
            (
                "休闲零食",
                [
                    (
                        "零食大礼包",
                        ("零食", "小吃"),
                        (29, 129),
                        ("三只松鼠", "良品铺子", "百草味", "卫龙"),
                        ("一整箱 送女友", "30包 办公室", "辣条 解馋"),
                    ),
                    (
                        "坚果",
                        ("零食", "每日坚果"),
                        (39, 159),
                        ("三只松鼠", "洽洽", "良品铺子"),
                        ("每日坚果 30袋", "混合果仁 750g"),
                    ),
                ],
            ),
            (
                "乳品饮料",
                [
                    (
                        "纯牛奶",
                        ("牛奶",),
                        (39, 99),
                        ("伊利", "蒙牛", "特仑苏", "认养一头牛"),
                        ("250ml*24盒 整箱", "全脂 早餐奶 12盒"),
                    ),
                    (
                        "咖啡",
                        ("速溶咖啡", "冻干咖啡"),
                        (29, 159),
                        ("三顿半", "雀巢", "隅田川"),
                        ("冷萃 24颗", "美式 黑咖啡 100条"),
                    ),
                ],
            ),
        ],
    ),
    (
        "服饰鞋包",
        "16579416177373560313",
        [
            (
                "运动鞋",
                [
                    (
                        "运动鞋",
                        ("跑步鞋", "鞋子", "球鞋"),
                        (129, 899),
                        ("李宁", "安踏", "特步", "361°", "耐克"),
                        ("男款 透气 跑步鞋", "女款 轻便 休闲", "缓震 竞速"),
                    ),
                ],
            ),
            (
                "男女服装",
                [
                    (
                        "羽绒服",
                        ("外套",),
                        (299, 1299),
                        ("波司登", "雪中飞", "鸭鸭"),
                        ("90白鸭绒 连帽 短款", "长款 过膝 加厚"),
                    ),
                    (
                        "卫衣",
                        ("上衣",),
                        (69, 259),
                        ("优衣库", "森马", "太平鸟"),
                        ("纯棉 连帽 宽松", "加绒 圆领 情侣"),
                    ),
                ],
            ),
        ],
    ),
    (
        "个护美妆",
        "17007902228422672609",
        [
            (
                "彩妆",
                [
                    (
                        "口红",
                        ("唇膏", "唇釉"),
                        (59, 399),
                        ("完美日记", "花西子", "MAC", "YSL圣罗兰"),
                        ("哑光 正红色", "丝绒 豆沙色 礼盒", "滋润 不沾杯"),
                    ),
                ],
            ),
            (
                "护肤",
                [
                    (
                        "面霜",
                        ("护肤", "保湿霜"),
                        (79, 899),
                        ("珀莱雅", "薇诺娜", "自然堂", "兰蔻"),
                        ("修护 敏感肌 50g", "抗皱 紧致"),
                    ),
                    (
                        "洗面奶",
                        ("洁面",),
                        (29, 129),
                        ("芙丽芳丝", "旁氏", "珀莱雅"),
                        ("氨基酸 温和 120g", "控油 男士"),
                    ),
                ],
            ),
        ],
    ),
    (
        "母婴玩具",
        "15793579135791357913",
        [
            (
                "纸尿裤",
                [
                    (
                        "纸尿裤",
                        ("尿不湿", "拉拉裤"),
                        (79, 259),
                        ("帮宝适", "好奇", "花王", "babycare"),
                        ("L码 84片", "XL码 拉拉裤 超薄"),
                    ),
                ],
            ),
            (
                "玩具",
                [
                    (
                        "积木",
                        ("玩具", "拼装"),
                        (49, 599),
                        ("乐高", "布鲁可", "森宝"),
                        ("城市系列 6岁+", "大颗粒 益智"),
                    ),
                ],
            ),
        ],
    ),
    (
        "运动户外",
        "18024680246802468024",
        [
            (
                "健身器材",
                [
                    (
                        "瑜伽垫",
                        ("健身垫",),
                        (39, 199),
                        ("Keep", "李宁", "迪卡侬"),
                        ("加厚 15mm 防滑", "TPE 双面"),
                    ),
                    ("跳绳", ("健身",), (19, 99), ("Keep", "李宁"), ("计数 无绳", "钢丝 竞速")),
                ],
            ),
            (
                "户外装备",
                [
                    (
                        "帐篷",
                        ("露营",),
                        (199, 1299),
                        ("牧高笛", "骆驼", "探险者"),
                        ("全自动 3-4人", "天幕 一体"),
                    ),
                ],
            ),
        ],
    ),
    (
        "宠物用品",
        "19135791357913579135",
        [
            (
                "猫狗主粮",
                [
                    (
                        "猫粮",
                        ("猫咪", "宠物粮"),
                        (59, 399),
                        ("皇家", "渴望", "网易严选", "麦富迪"),
                        ("成猫 全价 10kg", "幼猫 鸡肉 2kg", "冻干 双拼"),
                    ),
                    (
                        "狗粮",
                        ("狗狗", "宠物粮"),
                        (69, 399),
                        ("皇家", "比瑞吉", "麦富迪"),
                        ("中大型犬 15kg", "泰迪 小型犬 2.5kg"),
                    ),
                ],
            ),
            (
                "宠物日用",
                [
                    (
                        "猫砂",
                        ("猫咪",),
                        (29, 129),
                        ("pidan", "洁客", "许翠花"),
                        ("豆腐猫砂 6L*4包", "混合 除臭 低尘"),
                    ),
                ],
            ),
        ],
    ),
    (
        "家居家装",
        "10246802468024680246",
        [
            (
                "床上用品",
                [
                    (
                        "四件套",
                        ("床单", "被套"),
                        (99, 699),
                        ("水星家纺", "罗莱", "富安娜"),
                        ("纯棉 1.8m 简约", "60支 长绒棉 刺绣"),
                    ),
                    (
                        "乳胶枕",
                        ("枕头",),
                        (59, 299),
                        ("泰国皇家", "网易严选"),
                        ("天然乳胶 一对装", "护颈 波浪"),
                    ),
                ],
            ),
            (
                "收纳整理",
                [
                    (
                        "收纳箱",
                        ("收纳",),
                        (29, 129),
                        ("太力", "禧天龙", "百露"),
                        ("大号 加厚 3个装", "衣柜 透明 可折叠"),
                    ),
                ],
            ),
        ],
    ),
    (
        "图书",
        "12377324634086192020",
        [
            (
                "童书",
                [
                    (
                        "绘本",
                        ("童书", "儿童书"),
                        (29, 199),
                        ("小猪佩奇", "小熊很忙", "汪汪队"),
                        ("全套 10册 3-6岁", "双语 认知"),
                    ),
                ],
            ),
            (
                "文学小说",
                [
                    (
                        "小说",
                        ("书", "文学"),
                        (19, 129),
                        ("余华", "东野圭吾", "刘慈欣"),
                        ("活着 精装", "白夜行 新版", "三体 全集"),
                    ),
                ],
            ),
        ],
    ),
    (
        "酒水茶饮",
        "11357913579135791357",
        [
            (
                "茶叶",
                [
                    (
                        "茶叶",
                        ("绿茶", "红茶", "茶"),
                        (49, 699),
                        ("八马", "天福茗茶", "小罐茶"),
                        ("明前龙井 250g", "正山小种 礼盒", "福鼎白茶 饼"),
                    ),
                ],
            ),
            (
                "酒类",
                [
                    (
                        "白酒",
                        ("酒",),
                        (99, 1499),
                        ("洋河", "汾酒", "泸州老窖"),
                        ("52度 500ml*2 礼盒", "42度 光瓶 整箱"),
                    ),
                ],
            ),
        ],
    ),
]

_SHOP_SUFFIX = ("官方旗舰店", "旗舰店", "官方店", "品牌店")
_COLORS = ("白色", "黑色", "蓝色", "粉色", "灰色")
_TALENTS = (
    ("wx_talent_yang01", "小杨数码严选", "数码专场 手机耳机全场低至5折"),
    ("wx_talent_li02", "李姐家居好物", "家清日用囤货节 纸巾洗衣液第二件半价"),
    ("wx_talent_chen03", "陈小厨的零食铺", "零食坚果大促 满99减30"),
    ("wx_talent_mei04", "美美爱美妆", "口红面霜专场 大牌小样免费领"),
)


@cache
def build_catalogue(seed: int = 2026) -> Catalogue:
    rnd = random.Random(seed)
    categories: list[SandboxCategory] = []
    products: list[SandboxProduct] = []
    coupons: list[SandboxCoupon] = []
    next_pid = 10_000_000_001
    leaf_seq = 1000
    for top_name, top_id, children in _TREE:
        categories.append(SandboxCategory(top_id, top_name, "0", 1, False))
        for child_name, lines in children:
            leaf_seq += 1
            leaf_id = str(leaf_seq)
            categories.append(SandboxCategory(leaf_id, child_name, top_id, 2, True))
            for noun, synonyms, (low, high), brands, specs in lines:
                for brand in brands:
                    shop_appid = (
                        f"wx{zlib.crc32(f'{brand}/{top_name}/{seed}'.encode()):08x}{len(brand):02d}shop"
                    )
                    shop_name = brand + rnd.choice(_SHOP_SUFFIX)
                    for spec in specs:
                        pid = next_pid
                        next_pid += rnd.randint(1, 97)
                        base_yuan = rnd.randint(low, high)
                        price = base_yuan * 100 - rnd.choice((0, 0, 10, 1, 50))
                        sku_count = rnd.randint(1, 3)
                        skus = tuple(
                            SandboxSku(
                                sku_id=str(pid * 10 + i),
                                price_fen=price + i * rnd.choice((0, 500, 1000, 2000)),
                                stock=rnd.choice((0, 12, 230, 999, 5000))
                                if i
                                else rnd.choice((120, 999, 5000)),
                                attrs=(("颜色", _COLORS[i % len(_COLORS)]),),
                                thumb_img=f"{IMG}/sku/{pid}-{i}.jpg",
                            )
                            for i in range(sku_count)
                        )
                        title = f"{brand} {noun} {spec}"
                        sales = min(int(rnd.paretovariate(0.9) * 150) + rnd.randint(0, 60), 900_000)
                        coupon_ids: tuple[str, ...] = ()
                        if rnd.random() < 0.6:
                            cid = f"cp{pid}"
                            kind = rnd.random()
                            total = rnd.choice((100, 500, 1000, 5000))
                            received = total if rnd.random() < 0.12 else rnd.randint(0, total - 1)
                            if kind < 0.1:
                                discount_num, fee, threshold = rnd.choice((9500, 9000, 8800)), 0, 0
                                name = f"{discount_num / 1000:g}折券"
                            else:
                                fee = max(100, (price * rnd.choice((5, 8, 10, 15, 20)) // 100) // 100 * 100)
                                threshold = rnd.choice(
                                    (0, 0, price // 100 * 100, price + 5000 if kind > 0.95 else 0)
                                )
                                discount_num = 0
                                name = (
                                    f"满{threshold // 100}减{fee // 100}"
                                    if threshold
                                    else f"无门槛减{fee // 100}元"
                                )
                            coupons.append(
                                SandboxCoupon(
                                    coupon_id=cid,
                                    shop_appid=shop_appid,
                                    name=name,
                                    discount_fee_fen=fee,
                                    discount_num=discount_num,
                                    threshold_fen=threshold,
                                    product_ids=(pid,),
                                    cooperative=rnd.random() < 0.5,
                                    valid_days=rnd.choice((3, 7, 15, 30)),
                                    total_num=total,
                                    receive_num=received,
                                    used_num=received // 3,
                                )
                            )
                            coupon_ids = (cid,)
                        products.append(
                            SandboxProduct(
                                product_id=pid,
                                shop_appid=shop_appid,
                                shop_name=shop_name,
                                title=title,
                                sub_title=f"{shop_name}正品 {rnd.choice(('包邮', '七天无理由', '顺丰速发', '假一赔三'))}",
                                head_imgs=tuple(f"{IMG}/p/{pid}-{i}.jpg" for i in range(rnd.randint(1, 5))),
                                desc=f"{title}，{shop_name}发货。",
                                category_id=top_id,
                                leaf_category_id=leaf_id,
                                skus=skus,
                                monthly_sales=sales,
                                commission_ratio_ppm=rnd.choice(
                                    (50_000, 80_000, 100_000, 150_000, 200_000, 300_000, 400_000)
                                ),
                                service_ratio_ppm=rnd.choice((10_000, 20_000, 50_000)),
                                plan_type=1 if rnd.random() < 0.1 else 2,
                                status=1 if rnd.random() < 0.95 else rnd.choice((2, 5)),
                                coupon_ids=coupon_ids,
                                keywords=(noun, *synonyms, brand, top_name, child_name),
                            )
                        )
    talents = tuple(SandboxTalent(appid, name) for appid, name, _ in _TALENTS)
    lives = []
    for i, (appid, name, theme) in enumerate(_TALENTS):
        # one live now, one within the hour, one this evening, one tomorrow
        offsets = ((-20 * 60, 0), (45 * 60, 1), (6 * 3600, 2), (26 * 3600, 3))
        start, n = offsets[i % len(offsets)]
        lives.append(
            SandboxLive(
                appid, f"notice-{appid}-{n}", f"export-{appid}-{n}", f"{name}：{theme}", start, 3 * 3600
            )
        )
        lives.append(
            SandboxLive(
                appid,
                f"notice-{appid}-x",
                f"export-{appid}-x",
                f"{name}：周末返场",
                start + 2 * 86400,
                2 * 3600,
            )
        )
    sharers = (
        SandboxSharer("wx_sharer_demo01", "推客小王", 200_000, 0),
        SandboxSharer("wx_sharer_demo02", "宝妈团长阿芳", 300_000, 0),
        SandboxSharer("wx_sharer_demo03", "数码群主老李", 150_000, 1),
    )
    return Catalogue(tuple(categories), tuple(products), tuple(coupons), talents, tuple(lives), sharers)
