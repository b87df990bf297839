"""Validating templates before a member sees them: `tuike templates check` and `tuike check`.

Every file — built-in, operator, per group — is compiled as itself, checked for variables its kind
does not receive (even in branches the samples do not take), and rendered against every sample of
its kind. Files whose name starts with `_` are partials for `{% include %}`: compiled only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jinja2 import Template, nodes
from jinja2.meta import find_undeclared_variables

from bot.render.engine import (
    BUILTIN_TEMPLATES,
    GROUPS_FOLDER,
    SUFFIX,
    Renderer,
    TemplateProblem,
    compile_file,
    problem_from,
    render_checked,
)
from bot.render.kinds import KINDS
from bot.render.limits import LimitedEnvironment
from bot.render.samples import SAMPLES


def template_files(operator_dir: Path | None) -> Iterator[Path]:
    """Built-in files, then the operator's, then each group folder's, in a stable order."""
    yield from sorted(BUILTIN_TEMPLATES.glob("*" + SUFFIX))
    if operator_dir is None:
        return
    yield from sorted(operator_dir.glob("*" + SUFFIX))
    groups = operator_dir / GROUPS_FOLDER
    if groups.is_dir():
        for folder in sorted(p for p in groups.iterdir() if p.is_dir()):
            yield from sorted(folder.glob("*" + SUFFIX))


def _unknown_variables(env: LimitedEnvironment, path: Path, kind: str) -> list[TemplateProblem]:
    """Names the template reads that its kind never receives: a typo the samples might not reach."""
    ast = env.parse(path.read_text(encoding="utf-8"), path.name, str(path))
    allowed = KINDS[kind] | set(env.globals)
    unknown = find_undeclared_variables(ast) - allowed
    problems = []
    for name in sorted(unknown):
        line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
        receives = "、".join(sorted(KINDS[kind]))
        problems.append(
            TemplateProblem(path, line, f"'{name}' is not a variable of {kind} (it receives: {receives})")
        )
    return problems


def check_file(renderer: Renderer, path: Path) -> list[TemplateProblem]:
    kind = path.name.removesuffix(SUFFIX)
    try:
        template: Template = compile_file(renderer.env, path)
    except Exception as exc:
        return [problem_from(exc, path)]
    if kind.startswith("_"):
        return []
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        return [
            TemplateProblem(
                path, None, f"'{kind}' is not a template kind, so it is never used (kinds: {known})"
            )
        ]
    problems = _unknown_variables(renderer.env, path, kind)
    if problems:
        return problems
    for sample in SAMPLES[kind]:
        try:
            render_checked(template, sample, renderer.limits)
        except Exception as exc:
            return [problem_from(exc, path)]
    return []


def check_templates(
    operator_dir: Path | None, *, timezone: str = "Asia/Shanghai", max_chars: int = 1500
) -> list[TemplateProblem]:
    """Every problem in every template file; an empty list means all of them render."""
    renderer = Renderer(operator_dir, timezone=timezone, max_chars=max_chars)
    problems: list[TemplateProblem] = []
    if operator_dir is not None and not operator_dir.is_dir():
        problems.append(TemplateProblem(operator_dir, None, "the [templates] dir does not exist"))
    for kind in sorted(KINDS):
        builtin = BUILTIN_TEMPLATES / (kind + SUFFIX)
        if not builtin.is_file():
            problems.append(TemplateProblem(builtin, None, f"the built-in {kind} template is missing"))
    for path in template_files(operator_dir):
        problems.extend(check_file(renderer, path))
    return problems
