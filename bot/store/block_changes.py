"""How many times this process has blocked or allowed a group: the router's cache of blocked rooms
(`bot.handlers.router.BlockedRooms`) reads the list again as soon as the count moves, instead of waiting
for its periodic refresh. A module of its own so the router can ask without importing the store."""

from __future__ import annotations

_generation = 0


def generation() -> int:
    return _generation


def changed() -> None:
    global _generation
    _generation += 1
