"""The platforms' names as members and operators read them. A module of its own, with no imports, so
the message recogniser (read before anything else at start-up) stays light."""

PLATFORM_NAMES: dict[str, str] = {
    "taobao": "淘宝/天猫",
    "jd": "京东",
    "pdd": "拼多多",
    "channels": "微信小店",
    "union": "小程序联盟",
    "vip": "唯品会",
    "eleme": "饿了么",
    "meituan": "美团",
    "xiaohongshu": "小红书",
    "douyin": "抖音",
}
"""What members and operators read for each platform (one place for replies and the CLI)."""
