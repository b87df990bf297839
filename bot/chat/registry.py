"""The chat channels this bot knows: one line per channel. Adding one is its package (the channel, its
`<kind>_settings.py` with the settings model and `PLUGIN`) plus a line here.

The config loader finds the `[chat.<kind>]` models here by module name at validation time (plug-in
discovery, as entry points would), so bot/config.py never imports bot.chat. Light: the settings
modules import pydantic only; each channel's own module loads when it is built.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.chat import console_settings, gateway_settings, ilink_settings, wechaty_settings
from bot.chat.plugin import Capabilities, ChannelPlugin

CHANNELS: dict[str, ChannelPlugin] = {
    plugin.kind: plugin
    for plugin in (
        console_settings.PLUGIN,
        wechaty_settings.PLUGIN,
        gateway_settings.PLUGIN,
        ilink_settings.PLUGIN,
    )
}
"""Kind → plug-in, in the order the config example and error messages list them."""


def plugin(kind: str) -> ChannelPlugin:
    """The plug-in of `kind`; KeyError for a kind no channel has (the config loader refuses those)."""
    return CHANNELS[kind]


def kind_of(channel: object) -> str:
    """The kind of a built channel (its `name`)."""
    return str(getattr(channel, "name", ""))


def capabilities(kind: str) -> Capabilities:
    """What a channel of `kind` can do; a channel the registry does not list (a test's scripted
    channel) is taken as a real, paced account that may push."""
    found = CHANNELS.get(kind)
    return found.capabilities if found is not None else Capabilities()


def capabilities_of(channel: object) -> Capabilities:
    return capabilities(kind_of(channel))


def settings_models() -> dict[str, type]:
    """Kind → the model of its `[chat.<kind>]` table (what bot/config.py validates them with)."""
    return {kind: p.settings for kind, p in CHANNELS.items()}


def env_keys() -> dict[str, tuple[str, str]]:
    """Environment variable → (kind, key) for the secrets channels take from the environment."""
    return {var: (kind, key) for kind, p in CHANNELS.items() for var, key in p.env.items()}


def real(kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds among `kinds` that reach real WeChat users."""
    return tuple(k for k in kinds if k in CHANNELS and CHANNELS[k].capabilities.real)
