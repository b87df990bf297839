"""The operator web console: an ASGI app served by the bot itself (`tuike run` with `[web] enabled`, or
`tuike web` alone).

Pages are server-rendered Jinja with a little htmx (vendored in `static/`). Every page calls the same
services the chat handlers and the CLI use (bot.store, bot.push, bot.orders, bot.render): the console
never has a second implementation of subscriptions, pushes or reports. Layout:

- `app.py`      the Starlette app: routes from every page module, login wall, CSRF, error pages
- `security.py` password hashing, sessions, CSRF tokens, the login rate limit, setup links (all kept in
                the database, bot/store/web_sessions.py: any replica serves any login)
- `services.py` what the pages are given: settings, engine, renderer, leagues, push services
- `views.py`    rendering a page (layout, navigation, CSRF token, Chinese formatting filters)
- `server.py`   uvicorn inside the bot's event loop
- `pages/`      one module per page, each exporting `routes`

A row id in an address is written `{name:id}`: digits, read as at most the largest id a row can have
(`bot.web.paging.MAX_ID`), so an absurd number is an ordinary "not found" instead of overflowing the
database's integers. Registered here, before any page module builds its routes.
"""

from typing import Any

from starlette.convertors import Convertor, register_url_convertor

from bot.web.paging import MAX_ID


class _IdConvertor(Convertor[int]):
    regex = "[0-9]{1,40}"

    def convert(self, value: str) -> int:
        return min(int(value), MAX_ID)

    def to_string(self, value: Any) -> str:
        return str(int(value))


register_url_convertor("id", _IdConvertor())
