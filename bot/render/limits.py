"""What an operator template may compute: sizes, loop steps and time, each checked where it is spent.

Jinja's sandbox stops attribute tricks but not arithmetic: `{{ 10 ** (10 ** 8) }}` (folded at compile
time!), `'x' * 10**9`, `'%0999999999d' % 1`, nested `range(99999)` loops or `lipsum(100000)` each
hang or exhaust the bot. `LimitedEnvironment` refuses them before they happen, with a
`TemplateLimitError` raised inside the template's own frame, so the operator is told the file and line:

* `**`, `*`, `%` and `+` go through `call_binop` (which also stops Jinja folding them at compile time):
  integers stay under `max_int_bits`, strings under `max_string`, lists under `max_items`, and `%`
  formats refuse widths and precisions over `max_width` (and `*` widths);
* every call (functions, macros, string methods) and every filter checks the clock and the size of
  what it returns; the string methods and filters that multiply their input (`center`, `replace`,
  `join`, `format`, `indent`, `tojson(indent=)`, `slice` …) are checked before they run;
* everything those checks see counts against `max_built`, the total one render may build: the
  ones whose size is known beforehand (`*`, `replace`, `join`, `center` …) are refused before they
  are built, so 20,000 pieces each under `max_string` cannot add up to gigabytes;
* `range` and `lipsum` are bounded versions; each `{% for %}` body and each macro call counts against
  `max_loop_steps`;
  every `~` result is size-checked;
* list, tuple and dict literals are weighed as they are built, and everything printed (`{{ }}`, `~`,
  and what filters, calls and binops are given) is weighed before it is printed, so no `str()` of a
  runaway value can hold the interpreter lock;
* `render_checked` (bot.render.engine) counts the output against `max_output`.

The clock and the step count live in a `Budget` that the renderer opens per attempt (`budget()`);
without one only the size checks apply. The clock is the rendering thread's CPU time, so running out
of it says the template is too costly, not that the machine was busy.
"""

from __future__ import annotations

import re
import string
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

T = TypeVar("T")


class TemplateLimitError(SecurityError):
    """A template asked for more than one chat message may cost; the version is refused."""


class TemplateTimeoutError(TemplateLimitError):
    """The render used up its time budget. The budget is CPU time of the thread rendering (not the
    wall clock), so a busy machine does not run it out: the template itself cost that much, and the
    version is refused like any other that broke a limit."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Generous for chat copy (a message is at most a few thousand characters), tiny for a machine."""

    max_string: int = 20_000
    max_items: int = 10_000
    max_int_bits: int = 4096
    max_width: int = 1000
    max_loop_steps: int = 10_000
    max_output: int = 50_000
    max_weight: int = 200_000
    """Roughly the characters a nested list would print as: `[[1] * 10000] * 10000` holds 10,000
    items, but the same inner list 10,000 times over."""
    max_built: int = 1_000_000
    """Characters a render may build in all (lists counted as what they print as): each piece under
    `max_string` is not enough when a `map` makes 20,000 of them."""
    seconds: float = 1.0


DEFAULT_LIMITS = Limits()


def cpu_clock() -> float:
    """CPU seconds the current thread has used: what a render's time budget is measured in."""
    return time.thread_time()


@dataclass(slots=True)
class Budget:
    """One render attempt's allowance: a deadline on this thread's CPU clock and loop steps left."""

    limits: Limits
    deadline: float
    steps: int = 0
    built: int = 0
    """Characters built so far (`spend`)."""

    def overrun(self) -> TemplateLimitError | None:
        """The error to raise once the deadline has passed, else None."""
        if cpu_clock() > self.deadline:
            return TemplateTimeoutError(f"模板渲染超时（超过 {self.limits.seconds:g} 秒）")
        return None

    def check_time(self) -> None:
        late = self.overrun()
        if late is not None:
            raise late

    def afford(self, size: int) -> None:
        """Refuse, before it is built, a value of `size` characters that would pass `max_built`."""
        if self.built + size > self.limits.max_built:
            raise TemplateLimitError(f"模板一共生成的内容太多（上限约 {self.limits.max_built} 个字符）")

    def spend(self, size: int) -> None:
        self.afford(size)
        self.built += size


_budget: ContextVar[Budget | None] = ContextVar("tuike_render_budget", default=None)


@contextmanager
def budget(limits: Limits) -> Iterator[Budget]:
    """Open a render attempt's budget for the code running in this context (thread)."""
    current = Budget(limits, cpu_clock() + limits.seconds)
    token = _budget.set(current)
    try:
        yield current
    finally:
        _budget.reset(token)


def _check_time() -> None:
    current = _budget.get()
    if current is not None:
        current.check_time()


def afford(size: int) -> None:
    """Refuse building `size` more characters when the render's total would pass `max_built`."""
    current = _budget.get()
    if current is not None:
        current.afford(size)


def _spend(size: int) -> None:
    current = _budget.get()
    if current is not None:
        current.spend(size)


# ------------------------------------------------------------------------------------ size checks

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_NUMBER = re.compile(r"\d+")


_CONTAINERS = (list, tuple, dict, set, frozenset)
_PRINTABLE_CONTAINERS = (*_CONTAINERS, Namespace)


def weight(value: Any, cap: int) -> int:
    """About how many characters `value` prints as, counting shared inner lists every time they
    appear; stops counting once past `cap`, so a huge value costs no more than `cap` steps."""
    total, todo = 0, [value]
    while todo and total <= cap:
        item = todo.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, Namespace):  # prints as its attributes: a way to hold many lists at once
            attrs: dict[str, Any] = object.__getattribute__(item, "_Namespace__attrs")
            total += 14
            todo.extend(attrs.keys())
            todo.extend(attrs.values())
        elif isinstance(item, _CONTAINERS):
            total += 2
            todo.extend(item)
        else:
            total += 8
    return total


def check_size(value: T, limits: Limits, what: str = "结果") -> T:
    """`value` unchanged when it is small enough for a chat message, else a `TemplateLimitError`.
    What it weighs counts against the render's `max_built` (when a budget is open)."""
    size = 0
    if isinstance(value, str | bytes):
        size = len(value)
        if size > limits.max_string:
            raise TemplateLimitError(f"{what}太长：{size} 个字符（上限 {limits.max_string}）")
    elif isinstance(value, _CONTAINERS):
        if len(value) > limits.max_items:
            raise TemplateLimitError(f"{what}太多：{len(value)} 项（上限 {limits.max_items}）")
        size = weight(value, limits.max_weight)
        if size > limits.max_weight:
            raise TemplateLimitError(f"{what}展开后太大（上限约 {limits.max_weight} 个字符）")
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > limits.max_int_bits:
        raise TemplateLimitError(f"{what}数字太大（超过 {limits.max_int_bits} 位二进制）")
    _spend(size)
    return value


def check_input(value: Any, limits: Limits, what: str = "要打印的值") -> None:
    """Refuse a list (or dict, tuple, namespace) that would print as more than `max_weight`
    characters, before anything prints it: `str()` of a deeply shared list runs in C for as long as
    it takes, holding the interpreter lock, and no clock can stop it. Strings are not charged here:
    they were weighed when they were built."""
    if isinstance(value, _PRINTABLE_CONTAINERS) and weight(value, limits.max_weight) > limits.max_weight:
        raise TemplateLimitError(f"{what}展开后太大（上限约 {limits.max_weight} 个字符）")


def _refuse_width(width: int, limits: Limits, what: str) -> None:
    if width > limits.max_width:
        raise TemplateLimitError(f"{what}的宽度 {width} 太大（上限 {limits.max_width}）")


def check_percent_format(fmt: str, limits: Limits) -> None:
    """`'%05d' % x` is fine; `'%0999999999d'` and `'%*d'` would allocate whatever they are told."""
    for match in _PERCENT_SPEC.finditer(fmt):
        for number in match.groups():
            if number == "*":
                raise TemplateLimitError("% 格式里不能用 * 指定宽度或精度")
            if number is not None:
                _refuse_width(int(number), limits, "% 格式")


def check_brace_format(fmt: str, limits: Limits) -> None:
    """The same for `'{:>9999999}'.format(x)`; nested `{:{}}` specs are refused outright."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format raises the same error itself, with a better message
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("format 的格式里不能再嵌套 {}")
        for number in _NUMBER.findall(spec):
            _refuse_width(int(number), limits, "format 格式")


def _join_size(separator: str, items: list[Any]) -> int:
    return sum(len(i) if isinstance(i, str) else 20 for i in items) + len(separator) * max(len(items) - 1, 0)


def _checked_join(separator: str, iterable: Iterable[Any], limits: Limits) -> list[Any]:
    items = list(iterable) if not isinstance(iterable, list) else iterable
    check_size(items, limits, "join 的项")
    predicted = _join_size(separator, items)
    if predicted > limits.max_string:
        raise TemplateLimitError(f"join 的结果太长（上限 {limits.max_string} 个字符）")
    afford(predicted)
    return items


def _replace_size(text: str, old: str, new: str, count: int = -1) -> int:
    hits = len(text) + 1 if old == "" else text.count(old)
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def check_binop(operator: str, left: Any, right: Any, limits: Limits) -> None:
    """Refuse `left <operator> right` when its result would be too big, before computing it."""
    check_input(left, limits)
    check_input(right, limits)
    if operator == "**":
        grows = _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1
        if grows and right * abs(left).bit_length() > limits.max_int_bits:
            raise TemplateLimitError(f"{left} ** {right} 太大了（超过 {limits.max_int_bits} 位二进制）")
    elif operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and _is_int(times):
                limit = limits.max_string if isinstance(seq, str | bytes) else limits.max_items
                if len(seq) * max(times, 0) > limit:
                    raise TemplateLimitError(f"乘出来 {len(seq) * times} 个（上限 {limit}）")
                afford(len(seq) * max(times, 0))
                if (
                    isinstance(seq, list | tuple)
                    and weight(seq, limits.max_weight) * times > limits.max_weight
                ):
                    raise TemplateLimitError(f"乘出来展开后太大（上限约 {limits.max_weight} 个字符）")
        if _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > limits.max_int_bits:
            raise TemplateLimitError(f"乘积太大（超过 {limits.max_int_bits} 位二进制）")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, limits)
    elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        limit = limits.max_string if isinstance(left, str) else limits.max_items
        if len(left) + len(right) > limit:
            raise TemplateLimitError(f"加起来有 {len(left) + len(right)} 个（上限 {limit}）")
        if (
            not isinstance(left, str)
            and weight(left, limits.max_weight) + weight(right, limits.max_weight) > limits.max_weight
        ):
            raise TemplateLimitError(f"加起来展开后太大（上限约 {limits.max_weight} 个字符）")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_str_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any], limits: Limits) -> None:
    """The str methods whose result can be far bigger than the string: checked before they run."""
    text, name = method.__self__, method.__name__
    if name in ("center", "ljust", "rjust", "zfill") and args and _is_int(args[0]):
        if args[0] > limits.max_string:
            raise TemplateLimitError(f"{name} 的宽度 {args[0]} 太大（上限 {limits.max_string}）")
        afford(args[0])
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(tabsize):
            _refuse_width(tabsize, limits, "expandtabs")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = args[2] if len(args) > 2 and _is_int(args[2]) else -1
        predicted = _replace_size(text, args[0], args[1], count)
        if predicted > limits.max_string:
            raise TemplateLimitError(f"replace 的结果太长（上限 {limits.max_string} 个字符）")
        afford(predicted)


# -------------------------------------------------------------------------------------- globals


def make_range(limits: Limits) -> Callable[..., range]:
    def range_(*args: int) -> range:
        """`range` with at most `max_items` numbers."""
        numbers = range(*args)
        if len(numbers) > limits.max_items:
            raise TemplateLimitError(f"range 有 {len(numbers)} 个数（上限 {limits.max_items}）")
        return numbers

    return range_


def make_lipsum(limits: Limits) -> Callable[..., str]:
    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        """Placeholder text for drafts: a few paragraphs, never a book."""
        if n > 20 or max > 200 or min > max:
            raise TemplateLimitError("lipsum 最多 20 段、每段最多 200 个词")
        text: str = generate_lorem_ipsum(n, html, min, max)
        return check_size(text, limits, "lipsum")

    return lipsum


# ------------------------------------------------------------------------------------------ filters

_WIDTH_ARGUMENTS = frozenset(
    {"center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson", "shorten"}
)
"""Filters whose numeric options set how much they produce or how often they loop."""


def limit_filter(name: str, func: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    """`func` with the clock, its multiplying options and its result size checked."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0  # context/environment first

    @wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        _check_time()
        value, options = (
            (args[skip], [*args[skip + 1 :], *kwargs.values()]) if len(args) > skip else (None, [])
        )
        for given in (value, *options):  # `|string`, `|tojson`, `|pprint` … print what they are given
            check_input(given, limits)
        if name in _WIDTH_ARGUMENTS:
            for option in options:
                if _is_int(option):
                    _refuse_width(option, limits, f"{name} 过滤器")
        if name == "format" and isinstance(value, str):
            check_percent_format(value, limits)
        elif name == "replace" and isinstance(value, str) and len(options) >= 2:
            old, new = options[0], options[1]
            if isinstance(old, str) and isinstance(new, str):
                predicted = _replace_size(value, old, new)
                if predicted > limits.max_string:
                    raise TemplateLimitError(f"replace 的结果太长（上限 {limits.max_string} 个字符）")
                afford(predicted)
        elif name == "join" and isinstance(value, Iterable) and not isinstance(value, str | dict):
            separator = options[0] if options and isinstance(options[0], str) else ""
            args = (*args[:skip], _checked_join(separator, value, limits), *args[skip + 1 :])
        return check_size(func(*args, **kwargs), limits, f"{name} 过滤器的结果")

    return limited


# -------------------------------------------------------------------------------------- environment


class _Instrument(NodeTransformer):
    """Counts every loop step and size-checks every `~` (its operands before they are printed) and
    every list, tuple and dict literal: what the sandbox cannot see. A literal holds references, so it
    is cheap to build however big it prints: `[x, x]` doubles what `x` prints as. It is weighed as it
    is made, at its own line, before anything can print it."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        tick = nodes.ExprStmt(nodes.Call(nodes.EnvironmentAttribute("tick_loop"), [], [], None, None))
        node.body.insert(0, tick.set_lineno(node.lineno))
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_call("check_operand", operand) for operand in node.nodes]
        return _call("check_value", node)

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return _call("check_value", node)

    visit_List = visit_Dict = _literal

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        if node.ctx != "load":  # `{% for a, b in … %}`, `{% set a, b = … %}`: names, not a value
            return self.generic_visit(node) or node
        return self._literal(node)


def _call(method: str, node: nodes.Expr) -> nodes.Expr:
    """`environment.<method>(node)` at the node's line."""
    call = nodes.Call(nodes.EnvironmentAttribute(method), [node], [], None, None)
    call.set_lineno(node.lineno)
    return call


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus `Limits` on what a template may compute (see the module docstring)."""

    intercepted_binops = frozenset({"**", "*", "%", "+"})

    def __init__(self, *args: Any, limits: Limits = DEFAULT_LIMITS, **kwargs: Any) -> None:
        kwargs.setdefault("finalize", self.check_operand)  # every `{{ … }}` before it is printed
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.globals["range"] = make_range(limits)
        self.globals["lipsum"] = make_lipsum(limits)

    def limit_filters(self) -> None:
        """Wrap every registered filter; call after adding the house filters."""
        for name, func in list(self.filters.items()):
            if not getattr(func, "_tuike_limited", False):
                wrapped = limit_filter(name, func, self.limits)
                wrapped._tuike_limited = True  # type: ignore[attr-defined]
                self.filters[name] = wrapped

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        instrumented = _Instrument().visit(tree)
        assert isinstance(instrumented, nodes.Template)
        return instrumented.set_environment(self)  # type: ignore[return-value]

    # Called from compiled template code (`environment.tick_loop()` etc.).

    def tick_loop(self, what: str = "循环") -> None:
        current = _budget.get()
        if current is None:
            return
        current.steps += 1
        if current.steps > self.limits.max_loop_steps:
            raise TemplateLimitError(f"{what}次数太多（上限 {self.limits.max_loop_steps} 次）")
        current.check_time()

    def check_value(self, value: Any) -> Any:
        return check_size(value, self.limits)

    def check_operand(self, value: Any) -> Any:
        check_input(value, self.limits)
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_time()
        check_binop(operator, left, right, self.limits)
        return check_size(super().call_binop(context, operator, left, right), self.limits)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_time()
        limits = __self.limits
        if isinstance(__obj, Macro):  # a recursive macro is a loop too: `f(40)` calling itself twice
            __self.tick_loop("宏调用")
        for given in (*args, *kwargs.values()):  # `'{}'.format(x)` prints x
            check_input(given, limits)
        target = getattr(__obj, "__wrapped__", __obj)
        if isinstance(target, types.BuiltinMethodType) and isinstance(target.__self__, str):
            if target.__name__ in ("format", "format_map"):
                check_brace_format(target.__self__, limits)
            elif target.__name__ == "join" and args:
                args = (_checked_join(target.__self__, args[0], limits), *args[1:])
            else:
                check_str_method(target, args, kwargs, limits)
        return check_size(super().call(__context, __obj, *args, **kwargs), limits)
