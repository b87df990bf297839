"""The platforms' names as members and operators read them: each registered league's display name
(`bot.leagues.registry`), and the platforms no league serves that the message recogniser still names so
a member hears "暂不支持" instead of a wrong guess."""

from bot.leagues.registry import LEAGUES

UNSERVED_PLATFORMS: dict[str, str] = {"xiaohongshu": "小红书", "douyin": "抖音"}

PLATFORM_NAMES: dict[str, str] = {plugin.name: plugin.display_name for plugin in LEAGUES} | UNSERVED_PLATFORMS
"""What members and operators read for each platform (one place for replies and the CLI)."""
