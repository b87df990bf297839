"""Emoji as pictures on every WeChat build: the variation selector (U+FE0F) after emoji whose default
presentation is text.

Some Android WeChat builds draw 🏷 🎟 🛍 ❤ ☀ ✔ … as flat black symbols unless U+FE0F follows them;
templates (and operators' edits) rarely carry it. The renderer adds it to everything it sends; an
emoji already followed by a selector (FE0F, or FE0E asking for text on purpose), a skin tone or a
keycap mark is left alone.
"""

from __future__ import annotations

VS16 = "\ufe0f"
_KEEP_AS_IS = frozenset("\ufe0e\ufe0f\u20e3\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")

TEXT_DEFAULT_EMOJI = frozenset(
    # Unicode emoji with Emoji_Presentation=No (drawn as text without U+FE0F), except the digits,
    # # and * (keycaps) and the marks © ® ™ that shops use as plain text.
    "‼⁉ℹ↔↕↖↗↘↙↩↪⌨⏏⏭⏮⏯⏱⏲⏸⏹⏺Ⓜ▪▫▶◀◻◼☀☁☂☃☄☎☑☘☝☠☢☣☦☪☮☯☸☹☺♀♂♟♠♣♥♦♨♻♾⚒⚔⚕⚖⚗⚙⚛⚜⚠⚧⚰⚱⛈⛏⛑⛓⛩⛰⛱⛴⛷⛸⛹"
    "✂✈✉✌✍✏✒✔✖✝✡✳✴❄❇❣❤➡⤴⤵⬅⬆⬇〰〽㊗㊙"
    "🅰🅱🅾🅿🈂🈷🌡🌤🌥🌦🌧🌨🌩🌪🌫🌬🌶🍽🎖🎗🎙🎚🎛🎞🎟🏋🏌🏍🏎🏔🏕🏖🏗🏘🏙🏚🏛🏜🏝🏞🏟🏳🏵🏷🐿👁📽🕉🕊🕯🕰🕳🕴🕵🕶🕷🕸🕹"
    "🖇🖊🖋🖌🖍🖐🖥🖨🖱🖲🖼🗂🗃🗄🗑🗒🗓🗜🗝🗞🗡🗣🗨🗯🗳🗺🛋🛍🛎🛏🛠🛡🛢🛣🛤🛥🛩🛰🛳"
)


def emoji_presentation(text: str) -> str:
    """`text` with U+FE0F after each text-default emoji that lacks a selector."""
    if not any(c in TEXT_DEFAULT_EMOJI for c in text):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        out.append(char)
        if char in TEXT_DEFAULT_EMOJI and (i + 1 == len(text) or text[i + 1] not in _KEEP_AS_IS):
            out.append(VS16)
    return "".join(out)
