"""The operator web console: an ASGI app served by the bot itself (`tuike run` with `[web] enabled`, or
`tuike web` alone).

Pages are server-rendered Jinja with a little htmx (vendored in `static/`). Every page calls the same
services the chat handlers and the CLI use (bot.store, bot.push, bot.orders, bot.render): the console
never has a second implementation of subscriptions, pushes or reports. Layout:

- `app.py`      the Starlette app: routes from every page module, login wall, CSRF, error pages
- `security.py` password hashing, sessions, CSRF tokens, the login rate limit
- `services.py` what the pages are given: settings, engine, renderer, leagues, push services
- `views.py`    rendering a page (layout, navigation, CSRF token, Chinese formatting filters)
- `server.py`   uvicorn inside the bot's event loop
- `pages/`      one module per page, each exporting `routes`
"""
