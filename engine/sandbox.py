"""The one restricted environment every diagram expression runs in.

Conditions, scripts, timer expressions, DMN cells, loop and completion conditions are code written
by policy staff, so they are compiled with RestrictedPython: no `__import__`, no `open`, no
underscore attribute walks (`().__class__.__base__.__subclasses__()`), no `str.format` tricks.
"""
from __future__ import annotations

import ast
import contextvars
import operator
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import (
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment


class ExpressionError(ValueError):
    """An expression that does not compile in the sandbox (a plain exception on purpose:
    SpiffWorkflow's error helper crashes on a SyntaxError without a line number)."""


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "|=": operator.ior, "&=": operator.iand,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise ExpressionError(f"不支持的运算符 {op}") from None


_BUILTINS: dict[str, Any] = dict(safe_builtins)
_BUILTINS.update(limited_builtins)
_BUILTINS.update({
    name: fn for name, fn in {
        "sum": sum, "min": min, "max": max, "any": any, "all": all, "enumerate": enumerate,
        "sorted": sorted, "zip": zip, "map": map, "filter": filter, "reversed": reversed,
        "dict": dict, "list": list, "set": set, "frozenset": frozenset,
    }.items()
})

GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
}

BASE_FUNCTIONS: dict[str, Any] = {"Decimal": Decimal, "date": date, "timedelta": timedelta}


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    result = compile_restricted_eval(source.strip())
    if result.errors or result.code is None:
        raise ExpressionError("；".join(result.errors) or "无法编译")
    return result.code


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ExpressionError(f"第{exc.lineno}行语法错误：{exc.msg}") from None
    # RestrictedPython lets import statements compile (they fail later for want of __import__);
    # refuse them up front so a diagram with one never deploys.
    if any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree)):
        raise ExpressionError("脚本中不允许 import")
    result = compile_restricted_exec(source)
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


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__({**BASE_FUNCTIONS, "emit": emit, **(functions or {})})

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        code = compile_expression(expression)
        scope = {**self.globals, **(external_context or {}), **context, **GUARDS}
        return eval(code, scope)  # noqa: S307 - compiled by RestrictedPython with guards

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = compile_script(script)
        context.update(self.globals)
        context.update(external_context or {})
        context.update(GUARDS)
        try:
            exec(code, context)  # noqa: S102 - compiled by RestrictedPython with guards
        finally:
            for key in list(context):
                if key in GUARDS or key in self.globals or callable(context[key]) or (
                    external_context and key in external_context
                ):
                    context.pop(key)
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__(environment=RestrictedEnvironment(functions))

    def validate(self, expression: str) -> None:
        # The DMN engine tells an equality cell ("yes") from a unary test (">= 1000") by catching
        # SyntaxError here; give it one, with a line number so its error helper can format it.
        try:
            compile_expression(expression)
        except ExpressionError as exc:
            raise SyntaxError(str(exc), ("<expression>", 1, 1, expression)) from None
