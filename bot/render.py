"""Turns handler data into chat text through operator-editable Jinja templates.

Templates are untrusted operator code, so they run in a `SandboxedEnvironment`; a misspelt variable
is an error (`StrictUndefined`), not an empty string in front of a member. Autoescape is off: the
output is chat text, not HTML, and escaping would turn `&` in affiliate URLs into `&amp;`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SUFFIX = ".j2"


class Renderer:
    """Renders one template per message kind, e.g. `render("help", {...})`."""

    def __init__(self, operator_dir: Path | None = None) -> None:
        search = [str(operator_dir)] if operator_dir else []
        search.append(str(BUILTIN_TEMPLATES))
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(search),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        template = self.env.get_template(name + SUFFIX)
        return template.render(dict(context or {})).strip()

    def names(self) -> list[str]:
        return sorted(p.stem for p in BUILTIN_TEMPLATES.glob("*" + SUFFIX))
