"""The one restricted environment every diagram expression runs in.

Conditions, scripts, timer expressions, DMN cells, loop and completion conditions are code written
by policy staff, so they are compiled with RestrictedPython: no `__import__`, no `open`, no
underscore attribute walks (`().__class__.__base__.__subclasses__()`), no `str.format` tricks.

They also run within a budget (`Limits`), in the worker thread that holds the instance's row lock:
- one C call can compute or allocate without end (`10**10**7`, `[0]*(10**9)`, `'a'.ljust(10**9)`) and
  nothing can interrupt it, so every operation that can build a big int, str, bytes, list or tuple in
  one call is rewritten into a guarded helper that estimates the result's size before computing it;
- Python-level work (loop iterations, `while` tests, calls of functions defined in the sandbox) counts
  steps; every step checks the step limit and the CPU time, and every few steps the memory growth.
  Steps are counted by the rewritten code itself rather than by a tracer (`sys.settrace`): a tracer
  would replace a debugger's or coverage's, and code that catches the tracer's exception would go on
  untraced. A refusal is sticky: code that catches it is refused again at its next step and when the
  evaluation ends.
A constant expression that is over the limits (`10**10**7` as a literal) is refused at compile time,
so deploy refuses the diagram. Functions the application registers are trusted and not interrupted.
"""
from __future__ import annotations

import ast
import contextvars
import gc
import math
import operator
import re
import resource
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from time import monotonic
from types import CodeType
from typing import Any, NoReturn

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment


class ExpressionError(ValueError):
    """An expression that does not compile in the sandbox (a plain exception on purpose:
    SpiffWorkflow's error helper crashes on a SyntaxError without a line number)."""


class ExpressionBudgetExceeded(ExpressionError):
    """An expression refused because it would exceed its budget (size, steps, time or memory)."""


@dataclass(frozen=True)
class Limits:
    """What one evaluation may use. The largest legitimate evaluation measured (whole test suite and the
    shipped diagrams) is far below each limit; see the module docstring for what counts."""

    seconds: float = 0.1  # CPU time of the evaluating thread, garbage collection excluded
    steps: int = 1_000_000  # loop iterations, while tests, calls of sandbox-defined functions
    int_bits: int = 4096  # an int result (about 1,233 decimal digits)
    items: int = 100_000  # a str/bytes result in characters, a list/tuple in items, a range, a format width
    memory: int = 256 * 2**20  # growth of the process's peak resident memory while the evaluation loops

    def __post_init__(self) -> None:
        if self.int_bits < _FINE_BITS or self.items < _FINE_ITEMS:
            raise ValueError(f"int_bits ≥ {_FINE_BITS} and items ≥ {_FINE_ITEMS}: smaller results are never checked")


# Results this small are not checked against the limits at all (the common case stays cheap).
_FINE_BITS = 64
_FINE_ITEMS = 1000
DEFAULT_LIMITS = Limits()

# Full collections can take a good part of the time budget in a large process; they are not the
# expression's doing, so their duration is taken off (a collection in another thread only makes the
# budget more lenient).
_gc_seconds = [0.0, 0.0]  # total seconds in collections, start of the current one


def _gc_clock(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_seconds[1] = monotonic()
    else:
        _gc_seconds[0] += monotonic() - _gc_seconds[1]


gc.callbacks.append(_gc_clock)

# One getrusage gives the thread's CPU time and the process's peak resident memory (ru_maxrss: KiB on
# Linux, bytes on macOS, which has no per-thread figure).
_RUSAGE = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


class Budget:
    """One evaluation's running count. The clocks start at its first step: straight-line code is bounded
    by the guarded operations alone, and most evaluations never step."""

    __slots__ = ("cpu_start", "deadline", "exceeded", "limits", "rss_start", "steps")

    def __init__(self, limits: Limits):
        self.limits = limits
        self.steps = 0
        self.deadline = 0.0  # monotonic; 0 makes the first step start the clocks
        self.cpu_start = -1.0  # CPU seconds of the thread less collections, at the first step
        self.rss_start = 0
        self.exceeded: ExpressionBudgetExceeded | None = None

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps or not self.steps & 31 or monotonic() > self.deadline or self.exceeded:
            self.check()

    def check(self) -> None:
        """The slow part of a step, when due: the refusal the code caught, the step limit, the memory every
        32 steps, the CPU time once the wall-clock deadline has passed."""
        if self.exceeded is not None:
            raise self.exceeded
        if self.steps > self.limits.steps:
            _refuse(f"循环或调用超过 {self.limits.steps:,} 次")
        now = monotonic()
        if self.cpu_start < 0 or not self.steps & 31 or now > self.deadline:
            usage = resource.getrusage(_RUSAGE)
            cpu, rss = usage.ru_utime + usage.ru_stime - _gc_seconds[0], usage.ru_maxrss * _RSS_UNIT
            if self.cpu_start < 0:
                self.cpu_start, self.rss_start, self.deadline = cpu, rss, now + self.limits.seconds
                return
            if rss - self.rss_start > self.limits.memory:
                _refuse(f"内存增长超过 {self.limits.memory // 2**20} MB")
            if now > self.deadline:
                if cpu - self.cpu_start >= self.limits.seconds:
                    _refuse(f"运行时间超过 {self.limits.seconds:g} 秒")
                # The thread waited (other threads, other processes, collections): only its own work counts.
                self.deadline = now + self.limits.seconds - (cpu - self.cpu_start)


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("sandbox_budget", default=None)


def _limits() -> Limits:
    budget = _current.get()
    return DEFAULT_LIMITS if budget is None else budget.limits


def _run(code: CodeType, namespace: dict[str, Any], limits: Limits, source: str) -> Any:
    """Run compiled sandbox code under a budget of its own. A refusal the code caught is raised again
    when it ends, and a refusal carries the source, for the message that names the element."""
    budget = Budget(limits)
    token = _current.set(budget)
    try:
        result = eval(code, namespace)  # noqa: S307 - compiled by RestrictedPython with guards
    except BaseException as exc:
        error = budget.exceeded or exc
        if isinstance(error, ExpressionError) and not getattr(error, "source", None):
            error.source = source  # type: ignore[attr-defined]
        if error is exc:
            raise
        raise error from None
    finally:
        _current.reset(token)
    if budget.exceeded is not None:
        budget.exceeded.source = source  # type: ignore[attr-defined]
        raise budget.exceeded
    return result


def _refuse(reason: str) -> NoReturn:
    error = ExpressionBudgetExceeded(f"表达式超出运行限制（{reason}）")
    budget = _current.get()
    if budget is not None and budget.exceeded is None:
        budget.exceeded = error
    raise error


# ---------------------------------------------------------------- size guards (before the C call)
_SEQUENCES = (str, bytes, list, tuple)


def _check_items(count: int) -> None:
    if count > _FINE_ITEMS and count > (limit := _limits().items):
        _refuse(f"结果过大：超过 {limit:,} 个字符或元素")


def _check_bits(bits: float) -> None:
    if bits > _FINE_BITS and bits > (limit := _limits().int_bits):
        _refuse(f"计算量过大：整数结果超过 {limit:,} 位")


def _check_decimal_int(value: Decimal) -> None:
    """An int made from a Decimal (int(), round(), '%d', as_integer_ratio) has all its digits."""
    if value.is_finite():
        _sign, digits, exponent = value.as_tuple()
        _check_bits((len(digits) + abs(int(exponent))) * math.log2(10))


def _mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length())
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _check_items(len(a) * b)
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _check_items(len(b) * a)
    return a * b


def _check_pow(a: Any, b: Any, mod: Any = None) -> None:
    if not (isinstance(a, int) and isinstance(b, int)):
        return
    if mod is not None:
        # A modular power costs a multiplication modulo `mod` per bit of the exponent: 2,048-bit
        # operands take about 20 ms.
        if isinstance(mod, int) and b.bit_length() * mod.bit_length() > _limits().int_bits ** 2 // 4:
            _refuse("计算量过大：模幂运算的指数和模数过大")
        return
    if b > 0 and a not in (0, 1, -1):
        _check_bits(b if b > _limits().int_bits else b * math.log2(abs(a)))


def _pow(a: Any, b: Any, mod: Any = None) -> Any:
    _check_pow(a, b, mod)
    return pow(a, b) if mod is None else pow(a, b, mod)


def _lshift(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_bits(b if b > _limits().int_bits else a.bit_length() + b)
    return a << b


def _check_concat(a: Any, b: Any) -> None:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _check_items(len(a) + len(b))


def _add(a: Any, b: Any) -> Any:
    _check_concat(a, b)
    return a + b


def _starred(value: Any) -> Any:
    """`*value` in a list, tuple or set display: `a = [*a, *a]` in a loop doubles like `a + a`."""
    if isinstance(value, (*_SEQUENCES, dict, set, frozenset, range)):
        _check_items(len(value))
    return value


# %-formatting: the width and precision of each conversion, `*` taking them from the arguments.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)


def _check_width(width: str | int | None) -> None:
    """A format width or precision, as written (digits, or "*") or as an argument."""
    if isinstance(width, str):
        if not width.isdigit():
            return
        width = int(width) if len(width) <= 9 else sys.maxsize
    if isinstance(width, int) and width > _limits().items:
        _refuse(f"格式宽度或精度超过 {_limits().items:,}")


def _check_percent(template: str | bytes, args: Any) -> None:
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    values = list(args.values()) if isinstance(args, Mapping) else list(args) if isinstance(args, tuple) else [args]
    for width, precision, kind in _PERCENT.findall(text):
        _check_width(width)
        _check_width(precision)
        if "*" in (width, precision):
            for value in values:
                if isinstance(value, int):
                    _check_width(value)
        if kind in "diouxXc":
            for value in values:
                if isinstance(value, Decimal):
                    _check_decimal_int(value)


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        _check_percent(a, b)
    return a % b


def _check_format_spec(value: Any, spec: str) -> None:
    for digits in re.findall(r"\d+", spec):
        _check_width(digits)
    # A Decimal in fixed point prints every digit of its exponent (Decimal("1e999999999")).
    if isinstance(value, Decimal) and value.is_finite() and spec[-1:] in ("f", "F", "%"):
        _check_items(abs(value.adjusted()))


def _format(value: Any, conversion: int = -1, spec: str = "") -> str:
    """One f-string placeholder: `{value!conversion:spec}`."""
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    if spec:
        _check_format_spec(value, spec)
    return format(value, spec)


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "-=": operator.isub, "/=": operator.itruediv, "//=": operator.ifloordiv, ">>=": operator.irshift,
    "|=": operator.ior, "&=": operator.iand, "^=": operator.ixor,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    # In place where Python is (`items += [...]` changes the list other names see too), checked first.
    if op == "+=":
        _check_concat(x, y)
        return operator.iadd(x, y)
    if op == "*=":
        if isinstance(x, list) and isinstance(y, int):
            _check_items(len(x) * y)
            return operator.imul(x, y)
        return _mul(x, y)
    if op == "**=":
        return _pow(x, y)
    if op == "<<=":
        return _lshift(x, y)
    if op == "%=":
        return _mod(x, y)
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise ExpressionError(f"不支持的运算符 {op}") from None


# ---------------------------------------------------------------- builtins that allocate in one call
def _range(*args: Any) -> range:
    span = range(*args)
    try:
        count = len(span)
    except OverflowError:  # more items than a C size
        count = sys.maxsize
    _check_items(count)
    return span


def _check_int_conversion(value: Any, base: Any = 10) -> None:
    if isinstance(value, Decimal):
        _check_decimal_int(value)
    elif isinstance(value, (str, bytes)):
        # Every character a digit of the base (16 for base 0, which reads a 0x prefix); bases that are
        # powers of two have no digit limit in Python.
        width = math.log2(base) if isinstance(base, int) and 2 <= base <= 36 else 4
        _check_bits(len(value) * width)


class _IntType(type):
    """`int` as the sandbox sees it: isinstance and the class methods work, conversions are checked."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, int)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, int)

    def __call__(cls, *args: Any, **kwargs: Any) -> int:
        if args:
            _check_int_conversion(args[0], args[1] if len(args) > 1 else kwargs.get("base", 10))
        return int(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        return getattr(int, name)

    def __repr__(cls) -> str:
        return "<class 'int'>"


class _Int(metaclass=_IntType):
    pass


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None and isinstance(number, Decimal):
        _check_decimal_int(number)
    return round(number, ndigits)


def _sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if not isinstance(start, _SEQUENCES):
        return sum(iterable, start)
    total = start  # sum(lists, []) concatenates: checked item by item
    for item in _getiter(iterable):
        total = _add(total, item)
    return total


# Methods that can build a big result in one call, checked by the attribute guard (`"x".ljust(10**9)`,
# `str.ljust`, `map(str.ljust, …)` all come through it). Each check returns the arguments to call with.
_Args = tuple[tuple[Any, ...], dict[str, Any]]


def _check_pad(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, (str, bytes)) and args and isinstance(args[0], int) and args[0] > len(owner):
        _check_items(args[0])
    return args, kwargs


def _check_expandtabs(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    size = args[0] if args else kwargs.get("tabsize", 8)
    if isinstance(owner, (str, bytes)) and isinstance(size, int) and size > 1:
        _check_items(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * size)
    return args, kwargs


def _check_join(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, (str, bytes)) and args:
        parts = args[0] if isinstance(args[0], (list, tuple)) else list(_getiter(args[0]))
        try:
            _check_items(sum(map(len, parts)) + len(owner) * max(len(parts) - 1, 0))
        except TypeError:
            pass  # join refuses the non-strings itself
        args = (parts, *args[1:])
    return args, kwargs


def _check_replace(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, (str, bytes)) and len(args) >= 2 and type(args[0]) is type(args[1]) is type(owner):
        old, new = args[0], args[1]
        if len(new) > len(old):
            count = owner.count(old) if old else len(owner) + 1
            limit = args[2] if len(args) > 2 else kwargs.get("count", -1)
            if isinstance(limit, int) and limit >= 0:
                count = min(count, limit)
            _check_items(len(owner) + count * (len(new) - len(old)))
    return args, kwargs


def _check_translate(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, str) and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if longest > 1:
            _check_items(len(owner) * longest)
    return args, kwargs


def _check_to_bytes(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    length = args[0] if args else kwargs.get("length", 1)
    if isinstance(owner, int) and isinstance(length, int):
        _check_items(length)
    return args, kwargs


def _check_extend(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, list) and args and isinstance(args[0], _SEQUENCES):
        _check_items(len(owner) + len(args[0]))
    return args, kwargs


def _check_ratio(owner: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Args:
    if isinstance(owner, Decimal):
        _check_decimal_int(owner)
    return args, kwargs


_METHOD_CHECKS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], _Args]] = {
    "ljust": _check_pad, "rjust": _check_pad, "center": _check_pad, "zfill": _check_pad,
    "expandtabs": _check_expandtabs, "join": _check_join, "replace": _check_replace, "translate": _check_translate,
    "to_bytes": _check_to_bytes, "extend": _check_extend, "as_integer_ratio": _check_ratio,
}


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    value = safer_getattr(obj, name, default)
    check = _METHOD_CHECKS.get(name)
    if check is None or not callable(value):
        return value
    if isinstance(obj, type):  # str.ljust: the object is the first argument
        def unbound(*args: Any, **kwargs: Any) -> Any:
            if args:
                rest, kwargs = check(args[0], args[1:], kwargs)
                args = (args[0], *rest)
            return value(*args, **kwargs)

        return unbound

    def bound(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = check(obj, args, kwargs)
        return value(*args, **kwargs)

    return bound


# ---------------------------------------------------------------- steps
def _counted(iterator: Iterator[Any], budget: Budget) -> Iterator[Any]:
    limits = budget.limits
    for item in iterator:
        # Budget.step written out: this runs for every iteration of every loop, and a call costs a third more.
        steps = budget.steps = budget.steps + 1
        if steps > limits.steps or not steps & 31 or monotonic() > budget.deadline or budget.exceeded:
            budget.check()
        yield item


def _getiter(ob: Any) -> Iterator[Any]:
    """Every for loop and comprehension iterates through here (RestrictedPython's `_getiter_`)."""
    budget = _current.get()
    # Outside an evaluation nothing is counted (sandboxed code called later by trusted code).
    return iter(ob) if budget is None else _counted(iter(ob), budget)


def _step(value: Any = None) -> Any:
    """A `while` test (`while _step_(test)`) or the entry of a sandbox-defined function or lambda."""
    budget = _current.get()
    if budget is not None:
        budget.step()
    return value


_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(limited_builtins)
_BUILTINS.update({
    name: fn for name, fn in {
        "sum": _sum, "min": min, "max": max, "any": any, "all": all, "enumerate": enumerate,
        "sorted": sorted, "zip": zip, "map": map, "filter": filter, "reversed": reversed,
        "dict": dict, "list": list, "set": set, "frozenset": frozenset,
        "range": _range, "pow": _pow, "round": _round, "int": _Int,
    }.items()
})

GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": _getiter,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_mul_": _mul,
    "_pow_": _pow,
    "_lshift_": _lshift,
    "_add_": _add,
    "_mod_": _mod,
    "_format_": _format,
    "_starred_": _starred,
    "_step_": _step,
}

BASE_FUNCTIONS: dict[str, Any] = {"Decimal": Decimal, "date": date, "timedelta": timedelta}


# ---------------------------------------------------------------- compilation
_BINOP_HELPERS: dict[type[ast.operator], str] = {
    ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_",
}


def _call(helper: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(helper, ast.Load()), args=args, keywords=[])
    ast.copy_location(node, where)
    return ast.fix_missing_locations(node)


class _BudgetPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus the budget: guarded operators, f-string placeholders and `*`
    unpacking in displays, and a step at every `while` test and at the entry of every function and lambda
    (for loops and comprehensions step in `_getiter_`). Names starting with "_" are refused in the source, so these
    helpers cannot be shadowed or called by it."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        helper = _BINOP_HELPERS.get(type(node.op))
        return node if helper is None else _call(helper, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        args = [node.value, ast.Constant(node.conversion)]
        if node.format_spec is not None:
            args.append(node.format_spec)
        node.value = _call("_format_", args, node.value)
        node.conversion, node.format_spec = -1, None
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node = super().visit_Starred(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _call("_starred_", [node.value], node.value)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        node.test = _call("_step_", [node.test], node.test)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        step = ast.Expr(_call("_step_", [], node))
        ast.copy_location(step, node)
        node.body.insert(0, step)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.fix_missing_locations(ast.copy_location(
            ast.BoolOp(op=ast.Or(), values=[_call("_step_", [], node.body), node.body]), node.body))
        return node


class _NotConstant(Exception):
    pass


_FOLDABLE: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Mult: _mul, ast.Pow: _pow, ast.LShift: _lshift, ast.Add: _add, ast.Mod: _mod,
    ast.Sub: operator.sub, ast.FloorDiv: operator.floordiv, ast.RShift: operator.rshift,
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
}


def _fold(node: ast.AST, values: dict[ast.AST, Any]) -> Any:
    """The value of `node` from its children's `values`, computed with the guarded operators (which refuse
    one over the limits); _NotConstant when it depends on data (or on a child that does)."""
    def value(child: ast.AST) -> Any:
        if child not in values:
            raise _NotConstant
        return values[child]

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [value(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _FOLDABLE:
        return _FOLDABLE[type(node.op)](value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _FOLDABLE:
        return _FOLDABLE[type(node.op)](value(node.left), value(node.right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        return _range(*(value(arg) for arg in node.args))
    if isinstance(node, ast.FormattedValue) and node.format_spec is None and node.conversion == -1:
        return format(value(node.value), "")  # a part of another placeholder's spec: f"{x:>{10**9}}"
    if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
        _check_format_spec(None, "".join(str(value(part)) for part in node.format_spec.values))
    raise _NotConstant


def _check_constants(tree: ast.AST) -> None:
    """Refuse, at compile (so at deploy) time, constant parts that are over the limits: `10**10**7`,
    `[0]*(10**9)`, `range(10**12)`, `f"{x:>999999999}"`. Children before parents (the reverse of a
    breadth-first walk), each node once."""
    values: dict[ast.AST, Any] = {}
    for node in reversed(list(ast.walk(tree))):
        try:
            values[node] = _fold(node, values)
        except ExpressionBudgetExceeded:
            raise
        except (_NotConstant, ArithmeticError, TypeError, ValueError):
            pass  # data-dependent, or an error the evaluation will meet and report


def _parse(source: str, mode: str) -> ast.AST:
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(f"第{exc.lineno}行语法错误：{exc.msg}") from None
    _check_constants(tree)
    return tree


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    result = compile_restricted_eval(_parse(source.strip(), "eval"), policy=_BudgetPolicy)
    if result.errors or result.code is None:
        raise ExpressionError("；".join(result.errors) or "无法编译")
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    tree = _parse(source, "exec")
    # RestrictedPython lets import statements compile (they fail later for want of __import__);
    # refuse them up front so a diagram with one never deploys.
    if any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree)):
        raise ExpressionError("脚本中不允许 import")
    result = compile_restricted_exec(tree, policy=_BudgetPolicy)
    if result.errors or result.code is None:
        raise ExpressionError("；".join(result.errors) or "无法编译")
    return result.code


# Events a script raises with emit(kind, **payload) during one engine call; the runtime collects
# them and hands them to the application's listeners in the same transaction.
_events: contextvars.ContextVar[list[dict[str, Any]] | None] = contextvars.ContextVar("engine_events", default=None)


def emit(kind: str, **payload: Any) -> None:
    bucket = _events.get()
    if bucket is not None:
        bucket.append({"kind": str(kind), **payload})


class collect_events:
    """Context manager that gathers emit() calls made while it is open."""

    def __enter__(self) -> list[dict[str, Any]]:
        self.bucket: list[dict[str, Any]] = []
        self.token = _events.set(self.bucket)
        return self.bucket

    def __exit__(self, *exc: object) -> None:
        _events.reset(self.token)


def _compiled(compiler: Callable[[str], CodeType], source: str) -> CodeType:
    try:
        return compiler(source)
    except ExpressionError as exc:
        exc.source = source  # type: ignore[attr-defined]
        raise


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, limits: Limits = DEFAULT_LIMITS):
        super().__init__({**BASE_FUNCTIONS, "emit": emit, **(functions or {})})
        self.limits = limits

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        code = _compiled(compile_expression, expression)
        return _run(code, {**self.globals, **(external_context or {}), **context, **GUARDS}, self.limits, expression)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = _compiled(compile_script, script)
        context.update(self.globals)
        context.update(external_context or {})
        context.update(GUARDS)
        try:
            _run(code, context, self.limits, script)
        finally:
            for key in list(context):
                if key in GUARDS or key in self.globals or callable(context[key]) or (
                    external_context and key in external_context
                ):
                    context.pop(key)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, limits: Limits = DEFAULT_LIMITS):
        super().__init__(environment=RestrictedEnvironment(functions, limits))

    def validate(self, expression: str) -> None:
        # The DMN engine tells an equality cell ("yes") from a unary test (">= 1000") by catching
        # SyntaxError here; give it one, with a line number so its error helper can format it.
        try:
            compile_expression(expression)
        except ExpressionError as exc:
            raise SyntaxError(str(exc), ("<expression>", 1, 1, expression)) from None

    # SpiffWorkflow words a failed expression "Error evaluating expression '…'" without the cause: a sandbox
    # refusal keeps its own (Chinese) reason, for whoever shows the error (the runtime, the studio's try-run).
    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as exc:
            if (explained := _explained(exc)) is None:
                raise
            raise explained from exc

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        try:
            return super().execute(task, script, external_context)
        except WorkflowTaskException as exc:
            if (explained := _explained(exc)) is None:
                raise
            raise explained from exc


def _refusal_in(error: BaseException) -> ExpressionError | None:
    cause: BaseException | None = error
    for _ in range(10):
        if cause is None or isinstance(cause, ExpressionError):
            break
        cause = cause.__cause__ or cause.__context__
    return cause if isinstance(cause, ExpressionError) else None


def _shown(refusal: ExpressionError) -> str:
    source = " ".join(str(getattr(refusal, "source", "") or "").split())
    return source if len(source) <= 80 else source[:77] + "…"


def _explained(error: WorkflowTaskException) -> WorkflowTaskException | None:
    refusal = _refusal_in(error)
    if refusal is None:
        return None
    shown = _shown(refusal)
    return WorkflowTaskException(f"{refusal}{f'，表达式：{shown}' if shown else ''}", task=error.task,
                                 exception=refusal, line_number=error.line_number, error_line=error.error_line)


def refusal_message(error: BaseException) -> str | None:
    """The Chinese message for a sandbox refusal found in `error` (SpiffWorkflow's WorkflowTaskException holds
    the task), naming the element whose expression it was; None if `error` is not caused by one."""
    refusal = _refusal_in(error)
    if refusal is None:
        return None
    spec = getattr(getattr(error, "task", None), "task_spec", None)
    element = getattr(spec, "bpmn_id", None) or "（未知）"
    name = getattr(spec, "bpmn_name", None)
    shown = _shown(refusal)
    return (f"流程环节 {element}{f'（{name}）' if name else ''}：{refusal}"
            f"{f'。表达式：{shown}' if shown else ''}。本次操作未保存，请联系政策人员修改流程图")
