"""`tuike check`: is this installation ready to run? Each check yields (ok, one line)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text

from bot.config import LoadedConfig
from bot.health.probes import live_checks, refusals
from bot.redact import mask, mask_url
from bot.render.check import check_templates
from bot.render.kinds import KINDS
from bot.store import db


def run_checks(loaded: LoadedConfig) -> Iterator[tuple[bool, str]]:
    settings = loaded.settings
    source = "embedded default" if loaded.is_example else str(loaded.path)
    chat = "+".join(settings.chat.kinds)
    yield True, f"config: {source} (chat={chat}, timezone={settings.bot.timezone})"
    yield from refusals(settings)

    folder = settings.templates_dir
    problems = check_templates(
        folder if settings.templates.dir or folder.is_dir() else None,
        timezone=settings.bot.timezone,
        max_chars=settings.templates.max_message_chars,
    )
    for problem in problems:
        yield False, f"template {problem}"
    if not problems:
        where = f"built-in + {folder}" if settings.templates.dir or folder.is_dir() else "built-in"
        yield True, f"templates: {len(KINDS)} kinds render with sample data ({where})"

    url = settings.database_url
    shown = mask_url(url)
    try:
        engine = db.make_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = db.current_revision(engine)
        engine.dispose()
    except Exception as exc:
        yield False, mask(f"database: {shown} unreachable: {type(exc).__name__}: {exc}".splitlines()[0])
        yield from live_checks(settings, None)
        return
    head = db.head_revision()
    if current == head:
        yield True, f"database: {shown} at {head}"
    elif db.is_sqlite(url):
        yield True, f"database: {shown} at {current or 'empty'}; `tuike run` will upgrade it to {head}"
    else:
        yield False, f"database: {shown} at {current or 'empty'}, needs {head}: run `tuike db upgrade`"
    live = db.make_engine(url)
    try:
        yield from live_checks(settings, live if current == head else None)
    finally:
        live.dispose()
