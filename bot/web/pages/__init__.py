"""One module per console page; each exports `routes` (Starlette routes). Listed here once."""

from __future__ import annotations

from types import ModuleType

from bot.web.pages import broadcasts, dashboard, forward, groups, leagues, orders, pushes, rebates, templates

ALL_PAGES: tuple[ModuleType, ...] = (
    dashboard,
    groups,
    templates,
    pushes,
    broadcasts,
    leagues,
    orders,
    rebates,
    forward,
)
