"""The templates engine: operator-editable Jinja templates turned into chat text, safely.

- `engine.py`  the Renderer: sandboxed environment, per-group overrides, hot reload, fallback
- `filters.py` the filters templates use (yuan, shorten, dates …) and the cutting of long messages
- `limits.py`  what a template may compute (sizes, loop steps, time), checked where it is spent
- `emoji.py`   the emoji presentation selector every WeChat build needs
- `kinds.py`   the variables each message kind receives: the handlers' contract with the templates
- `samples.py` realistic data per kind, to check and preview templates with
- `check.py`   validating template files (`tuike templates check`, `tuike check`)
- `files.py`   editing the operator's template files: preview, save with history, restore

Nothing here calls the network (pyproject.toml's import contracts hold it to that).
"""

from bot.render.engine import Renderer, RenderError

__all__ = ["RenderError", "Renderer"]
