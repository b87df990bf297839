"""Property tests of the template sandbox with hostile operator templates: fragments that grow what a
template builds (doubling literals, namespaces, `map` over many pieces, `~`, `*`, recursion) glued
together at random. Whatever the mix, a render ends with the operator's text or the built-in
fallback, never an exception, and it never builds more than the limits allow (peak memory counted
with tracemalloc, not time). Issue 33 #1, #18, #19 are here as kinds, so they stay fixed."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.render.engine import Renderer
from bot.render.limits import DEFAULT_LIMITS
from bot.render.samples import SAMPLES

HELP = SAMPLES["help"][0]
BUILTIN_HELP = Renderer(None).render("help", HELP)
PEAK_BYTES = 4 * DEFAULT_LIMITS.max_built + 16 * 2**20
"""What a render may hold at once: the total it may build, in the widest characters, plus slack."""

GROWERS = [
    "{% set ns.x = [ns.x, ns.x] %}",
    "{% set ns.x = {'a': ns.x, 'b': ns.x} %}",
    "{% set ns.x = (ns.x, ns.x, ns.x) %}",
    "{% set ns.x = [ns.x] * 3 %}",
    "{% set ns.x = ns.x + ns.x if ns.x is sequence and ns.x is not string else ns.x %}",
    "{% set ns.s = ns.s ~ ns.s %}",
    "{% set ns.s = ns.s * 7 %}",
    "{% set ns.s = ns.s|replace('x', '😀' * 999) %}",
    "{% set ns.y = ns.x %}",
]
PRINTERS = [
    "{{ ns.x }}",
    "{{ ns }}",
    "{{ ns.x|string|length }}",
    "{{ (ns.x ~ '')|length }}",
    "{{ ns.x|tojson|length }}",
    "{{ '{}'.format(ns.x)|length }}",
    "{{ '%s' % [ns.x] }}",
    "{{ ns.s|length }}",
    "{{ ('x' * 20000)|map('replace', 'x', ns.s)|join|length }}",
    "{{ ('x' * 20000)|map('replace', 'x', '😀' * 19999)|list|length }}",
    "{{ f(30) }}",
    "{{ ns.x|pprint|length }}",
]
HEADER = (
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{% set ns = namespace(x=[1], s='x', y=0) %}"
)


def _loop(body: str, times: int) -> str:
    return f"{{% for i in range({times}) %}}{body}{{% endfor %}}"


templates = st.builds(
    lambda grow, times, printer, tail: HEADER + _loop("".join(grow), times) + "\n" + printer + tail,
    st.lists(st.sampled_from(GROWERS), min_size=1, max_size=3),
    st.integers(min_value=1, max_value=40),
    st.sampled_from(PRINTERS),
    st.sampled_from(["", "\n好的", "\n{{ ns.x|length }}"]),
)


@pytest.fixture(scope="module")
def operator_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("template-fuzz")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(source=templates)
@example(source=HEADER + _loop(GROWERS[0], 24) + "\n{{ ns.x }}")  # issue 33 #1, as reported
@example(source=HEADER + "{{ ('x'*20000)|map('replace','x','😀'*19999)|join|length }}")  # #18
@example(source=HEADER + "{{ f(40) }}")  # #19
def test_a_hostile_template_ends_in_text_within_the_limits(operator_dir: Path, source: str) -> None:
    path = operator_dir / "help.j2"
    path.write_text(source, encoding="utf-8")
    # a new inode and size every time: the renderer must see a new version
    renderer = Renderer(operator_dir, notify=lambda _message: None)
    tracemalloc.start()
    try:
        text = renderer.render("help", HELP)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text
    assert len(text) <= renderer.max_chars
    assert peak < PEAK_BYTES
    if text != BUILTIN_HELP:  # it rendered: a second time costs what the first did, no more
        assert renderer.render("help", HELP) == text
