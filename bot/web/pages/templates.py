"""The 模板 pages: which file wins for each message kind, and an editor with live preview and history.

Everything about files (where they go, checks, history, restore) is bot.render.files; rendering is
the Renderer's sandbox with its limits. Every blocking step runs in a worker thread, and the edited
text renders (preview and save-time checks) in a separate process with a hard limit
(bot.render.worker): whatever a template does there, the event loop (which also serves chat) never
waits on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.render import files as tf
from bot.render.engine import BUILTIN_TEMPLATES, SUFFIX, Renderer, group_key
from bot.render.kinds import KINDS, label
from bot.store.groups import all_groups, find_group
from bot.web.services import WebServices
from bot.web.views import error_page, page

ORIGINS = {"builtin": "内置", "operator": "运营目录", "group": "群单独"}
PREVIEW_SECONDS_SLACK = 2.0


@dataclass(frozen=True, slots=True)
class GroupChoice:
    """A group the editor can preview for or override: its room id (or override folder key) and name."""

    value: str
    name: str
    key: str
    known: bool = True
    """False for an override folder no group in the database matches."""

    @property
    def sample_name(self) -> str:
        """The name previews put in the sample data (a folder key is no group name)."""
        return self.name if self.known else ""


def _services(request: Request) -> WebServices:
    services: WebServices = request.app.state.services
    return services


def _known_groups(services: WebServices) -> list[GroupChoice]:
    """Groups in the database, plus override folders no known group matches (shown by their key)."""
    renderer = services.renderer
    choices = [
        GroupChoice(g.room_id, g.name or g.room_id, group_key(g.room_id)) for g in all_groups(services.engine)
    ]
    seen = {c.key for c in choices}
    for key in renderer.groups():
        if key not in seen:
            choices.append(GroupChoice(key, f"（文件夹 {key}）", key, known=False))
    return choices


def _override_names(services: WebServices) -> dict[str, GroupChoice]:
    """Group key → group, for the groups that have an override folder (no query when none has)."""
    keys = set(services.renderer.groups())
    return {c.key: c for c in _known_groups(services) if c.key in keys} if keys else {}


def _chosen_group(services: WebServices, given: str) -> GroupChoice | None:
    """The group `given` names: a known group's room id exactly, or an existing override folder's key
    (never a path someone typed: the folder is always `group_key` of it). None when it is neither."""
    found = find_group(services.engine, given)
    if found is not None and found.room_id == given:
        return GroupChoice(found.room_id, found.name or found.room_id, group_key(found.room_id))
    if given in services.renderer.groups():
        return GroupChoice(given, f"（文件夹 {given}）", given, known=False)
    return None


def _editor_url(kind: str, group: GroupChoice | None, ok: str = "") -> str:
    query: dict[str, str] = {}
    if group is not None:
        query["group"] = group.value
    if ok:
        query["ok"] = ok
    return f"/templates/{kind}" + ("?" + urlencode(query, quote_via=quote) if query else "")


def _where(renderer: Renderer, path: Path | None) -> str:
    """A file's place as the operator knows it; never an absolute path of the shipped folder."""
    if path is None:
        return "—"
    if path.parent == BUILTIN_TEMPLATES:
        return f"templates/{path.name}"
    folder = renderer.operator_dir
    if folder is not None:
        try:
            return str(path.relative_to(folder))
        except ValueError:
            pass
    return path.name


# ------------------------------------------------------------------------------------------ list


async def show(request: Request) -> Response:
    services = _services(request)
    renderer = services.renderer
    overview, names = await asyncio.gather(
        asyncio.to_thread(tf.overview, renderer), asyncio.to_thread(_override_names, services)
    )
    rows: list[dict[str, Any]] = []
    broken = 0
    for item in overview:
        overrides = []
        for key, status in item.overrides:
            known = names.get(key)
            overrides.append(
                {
                    "name": known.name if known else key,
                    "value": known.value if known else key,
                    "problem": status.problem,
                }
            )
            broken += status.problem is not None
        broken += item.winner.problem is not None
        rows.append(
            {
                "kind": item.kind,
                "label": label(item.kind),
                "origin": ORIGINS[item.winner.origin],
                "where": _where(renderer, item.winner.path),
                "problem": item.winner.problem,
                "overrides": overrides,
            }
        )
    return page(
        request,
        "templates.html",
        {"rows": rows, "broken": broken, "folder": str(renderer.operator_dir or "")},
        title="模板",
    )


# ---------------------------------------------------------------------------------------- editor


async def _editor_context(request: Request, kind: str, group: GroupChoice | None) -> dict[str, Any]:
    services = _services(request)
    renderer = services.renderer
    value = group.value if group else None

    def gather() -> dict[str, Any]:
        choices = _known_groups(services)
        if group is not None and group.value not in {c.value for c in choices}:
            choices.append(group)
        winner = renderer.winner(kind, value) or BUILTIN_TEMPLATES / (kind + SUFFIX)
        own = tf.scope_file(renderer.operator_dir, kind, value) if renderer.operator_dir else None
        return {
            "winner_where": _where(renderer, winner),
            "winner_origin": ORIGINS[tf.origin_of(renderer, winner)],
            "source": winner.read_text(encoding="utf-8", errors="replace"),
            "own_exists": own is not None and own.is_file(),
            "own_where": _where(renderer, own),
            "versions": tf.history(renderer, kind, value),
            "samples": tf.sample_count(kind),
            "groups": choices,
        }

    facts = await asyncio.to_thread(gather)
    return {
        "kind": kind,
        "label": label(kind),
        "group": group,
        "variables": sorted(KINDS[kind]),
        "sample": 0,
        "problem": None,
        "refused": "没有保存。",
        **facts,
    }


async def _kind_and_group(request: Request, group_value: str) -> tuple[str, GroupChoice | None]:
    kind = tf.checked_kind(request.path_params["kind"])
    if not group_value:
        return kind, None
    group = await asyncio.to_thread(_chosen_group, _services(request), group_value)
    if group is None:
        raise tf.EditRefusedError("不认识这个群：请从列表里选")
    return kind, group


async def editor(request: Request) -> Response:
    try:
        kind, group = await _kind_and_group(request, request.query_params.get("group", ""))
    except tf.EditRefusedError as exc:
        return error_page(request, 404, str(exc), "回到模板列表重新选一个。")
    context = await _editor_context(request, kind, group)
    return page(request, "template_editor.html", context, title=f"模板 · {context['label']}")


def _sample_index(value: str, kind: str) -> int:
    try:
        index = int(value)
    except ValueError:
        return 0
    return index if 0 <= index < tf.sample_count(kind) else 0


async def _render_preview(
    services: WebServices, kind: str, source: str, group: GroupChoice | None, sample: int
) -> tf.Preview:
    """The edited text rendered in a worker thread; the render limits stop it, and should the thread
    still hang somewhere they are not checked, the page stops waiting (the thread ends on its own)."""
    context = tf.sample_context(
        kind,
        sample,
        group_name=group.sample_name if group else "",
        room_id=group.value if group else "",
    )
    limit = services.renderer.limits.seconds * 2 + PREVIEW_SECONDS_SLACK
    worker = services.renderer.worker
    if worker is not None:  # started outside the page's wait: importing is not rendering
        try:
            await asyncio.to_thread(worker.start)
        except RuntimeError as exc:
            return tf.Preview(problem=tf.Problem("没法预览", str(exc)))
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(
                tf.preview, services.renderer, kind, source, context, group=group.value if group else None
            ),
            timeout=limit,
        )
    except TimeoutError:
        return tf.Preview(problem=tf.Problem("渲染超时", f"{limit:g} 秒内没有渲染完"))


async def preview(request: Request) -> Response:
    form = await request.form()
    try:
        kind, group = await _kind_and_group(request, str(form.get("group", "")))
    except tf.EditRefusedError as exc:
        shown = tf.Preview(problem=tf.Problem("没法预览", str(exc)))
        return page(request, "partials/template_preview.html", {"preview": shown}, status=200)
    source = str(form.get("source", ""))
    sample = _sample_index(str(form.get("sample", "0")), kind)
    shown = await _render_preview(_services(request), kind, source, group, sample)
    # 200 even for a problem: htmx swaps only successful answers, and the problem is the answer
    return page(request, "partials/template_preview.html", {"preview": shown})


class _Write(Protocol):
    """tf.save or tf.restore: write `text` (a source, or a version's name) as the kind's template."""

    def __call__(
        self,
        renderer: Renderer,
        kind: str,
        text: str,
        /,
        *,
        group: str | None,
        group_name: str,
        now: Callable[[], datetime],
    ) -> Path: ...


async def _posted(request: Request, nothing_done: str) -> tuple[FormData, str, GroupChoice | None] | Response:
    """A posted save, restore or reset: (the form, its kind, its group), or the error page when the
    kind or the group is not one we know (`nothing_done` says so)."""
    form = await request.form()
    try:
        kind, group = await _kind_and_group(request, str(form.get("group", "")))
    except tf.EditRefusedError as exc:
        return error_page(request, 400, str(exc), nothing_done)
    return form, kind, group


async def _write(request: Request, write: _Write, kind: str, group: GroupChoice | None, text: str) -> None:
    """`write` for this kind and group, in a worker thread; raises what it raises."""
    services = _services(request)
    await asyncio.to_thread(
        write,
        services.renderer,
        kind,
        text,
        group=group.value if group else None,
        group_name=group.sample_name if group else "",
        now=services.clock,
    )


async def save(request: Request) -> Response:
    posted = await _posted(request, "没有保存任何东西。")
    if isinstance(posted, Response):
        return posted
    form, kind, group = posted
    source = str(form.get("source", ""))
    sample = _sample_index(str(form.get("sample", "0")), kind)
    try:
        await _write(request, tf.save, kind, group, source)
    except (tf.TemplateRejectedError, tf.EditRefusedError) as exc:
        return await _refused(request, kind, group, exc, 400, source=source, sample=sample)
    where = f"「{group.name}」的单独模板" if group else "运营目录"
    return RedirectResponse(_editor_url(kind, group, f"已保存到{where}，下一条消息就会用上"), status_code=303)


async def _refused(
    request: Request,
    kind: str,
    group: GroupChoice | None,
    exc: tf.TemplateRejectedError | tf.EditRefusedError,
    status: int,
    **shown: Any,
) -> Response:
    """The editor again, with the reason a save or restore was refused (nothing was written)."""
    problem = exc.problem if isinstance(exc, tf.TemplateRejectedError) else tf.Problem("原因", str(exc))
    values = await _editor_context(request, kind, group)
    values.update(problem=problem, **shown)
    return page(request, "template_editor.html", values, status=status, title=f"模板 · {values['label']}")


async def restore(request: Request) -> Response:
    posted = await _posted(request, "没有恢复任何东西。")
    if isinstance(posted, Response):
        return posted
    form, kind, group = posted
    try:
        await _write(request, tf.restore, kind, group, str(form.get("version", "")))
    except (tf.TemplateRejectedError, tf.EditRefusedError) as exc:
        status = 400 if isinstance(exc, tf.TemplateRejectedError) else 404
        return await _refused(request, kind, group, exc, status, refused="没有恢复。")
    return RedirectResponse(_editor_url(kind, group, "已恢复这个版本，原来的放进了历史"), status_code=303)


async def reset(request: Request) -> Response:
    services = _services(request)
    posted = await _posted(request, "没有改动任何东西。")
    if isinstance(posted, Response):
        return posted
    _form, kind, group = posted
    try:
        removed = await asyncio.to_thread(
            tf.reset, services.renderer, kind, group=group.value if group else None, now=services.clock
        )
    except tf.EditRefusedError as exc:
        return error_page(request, 400, str(exc), "没有改动任何东西。")
    if not removed:
        message = "本来就在用默认模板"
    elif group is not None:
        message = "已去掉这个群的单独模板（原来的放进了历史）"
    else:
        message = "已恢复默认：现在用内置模板（原来的放进了历史）"
    return RedirectResponse(_editor_url(kind, group, message), status_code=303)


routes: list[BaseRoute] = [
    Route("/templates", show, methods=["GET"]),
    Route("/templates/{kind}", editor, methods=["GET"]),
    Route("/templates/{kind}/preview", preview, methods=["POST"]),
    Route("/templates/{kind}/save", save, methods=["POST"]),
    Route("/templates/{kind}/restore", restore, methods=["POST"]),
    Route("/templates/{kind}/reset", reset, methods=["POST"]),
]
