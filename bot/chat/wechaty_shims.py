"""python-wechaty on Python 3.11, on a short leash: imported on first use with its working folder in our
data folder and the shims it needs (see `import_wechaty`), and its loggers folded into ours with the
puppet token never printed. Only `bot.chat.wechaty` uses this module."""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

_WECHATY_LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
_CHATTER = (
    "there are endpoint<",  # these two print the token
    "there are two tokens",
    "there is not registed blueprint",  # we register no plugins, on purpose
    "set payload more than once",  # two concurrent ready() of one contact; harmless
)


# -- importing wechaty ---------------------------------------------------------------------------------


def wechaty_installed() -> bool:
    """python-wechaty is an optional extra (`tuike[wechaty]`): is it installed here?"""
    try:
        return importlib.util.find_spec("wechaty") is not None
    except (ImportError, ValueError):
        return False


_lib: Any = None


def import_wechaty(cache_dir: Path) -> Any:
    """Import python-wechaty once, with its working folder under `cache_dir` and the 3.11 shims."""
    global _lib
    if _lib is not None:
        return _lib
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Read at import time: wechaty creates this folder (default ./.wechaty) and its job-store path in it.
    os.environ["CACHE_DIR"] = str(cache_dir.resolve())
    # wechaty_puppet's get_logger raises on an unknown value; the real level is set in adopt_loggers.
    os.environ["WECHATY_LOG"] = "info"
    with warnings.catch_warnings():
        # wechaty/plugin.py and wechaty_puppet_service/utils.py import telnetlib (deprecated in 3.11).
        # We replace both functions that use it (see below), so only the import remains.
        warnings.filterwarnings("ignore", message=r"'telnetlib' is deprecated", category=DeprecationWarning)
        from wechaty_puppet.schemas.puppet import PuppetOptions

        # WechatyOptions has `puppet_options: PuppetOptions = PuppetOptions()`; Python 3.11 dataclasses
        # refuse a default whose class is unhashable. We always pass a fresh PuppetOptions anyway.
        PuppetOptions.__hash__ = object.__hash__

        import wechaty.plugin
        import wechaty_puppet_service.puppet
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from wechaty import Wechaty, WechatyOptions
        from wechaty.user import Contact, Room, Tag
        from wechaty.utils.async_helper import SingleIdContainer
        from wechaty_puppet import FileBox, MessageType, MiniProgramPayload, ScanStatus, UrlLinkPayload

    # A blocking 3 s telnet check on the event loop; we probe the endpoint asynchronously instead.
    setattr(wechaty_puppet_service.puppet, "ping_endpoint", lambda end_point: True)  # noqa: B010
    # On login wechaty refuses to go on if local port 5000 (its plugin web server) is taken, and then
    # never serves anything because we register no plugins. We never start that server.
    setattr(wechaty.plugin, "_check_local_port", lambda port: False)  # noqa: B010

    _lib = SimpleNamespace(
        AsyncIOScheduler=AsyncIOScheduler,
        Contact=Contact,
        FileBox=FileBox,
        MessageType=MessageType,
        MiniProgramPayload=MiniProgramPayload,
        PuppetOptions=PuppetOptions,
        Room=Room,
        ScanStatus=ScanStatus,
        SingleIdContainer=SingleIdContainer,
        Tag=Tag,
        UrlLinkPayload=UrlLinkPayload,
        Wechaty=Wechaty,
        WechatyOptions=WechatyOptions,
    )
    return _lib


class _Redact(logging.Filter):
    """Keeps the token out of wechaty's log lines and drops its per-connection config chatter."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(chatter in message for chatter in _CHATTER):
            return False  # nothing an operator can act on
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def adopt_loggers(level: int, secrets: Sequence[str]) -> None:
    """Fold wechaty's loggers into ours.

    wechaty_puppet's get_logger gives every logger its own stderr handler, INFO level and
    propagate=False, so our level, format and handlers would not apply. Recognised by that handler's
    format string, each is emptied and made to propagate. `warn` is pointed at `warning` because the
    deprecated alias (used by FileBox) warns, and a warning is an error under `-W error`.
    """
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        theirs = [h for h in logger.handlers if getattr(h.formatter, "_fmt", None) == _WECHATY_LOG_FORMAT]
        adopted = any(isinstance(f, _Redact) for f in logger.filters)
        if not theirs and not adopted:
            continue
        for handler in theirs:
            logger.removeHandler(handler)
        for old in [f for f in logger.filters if isinstance(f, _Redact)]:
            logger.removeFilter(old)
        logger.addFilter(_Redact(secrets))
        logger.propagate = True
        logger.setLevel(level)
        setattr(logger, "warn", logger.warning)  # noqa: B010  (assigning a method needs setattr for mypy)
    # The HTTP/2 header coder logs every header at DEBUG, and the token travels as `:authority`.
    for name in ("hpack", "h2"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
