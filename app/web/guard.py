"""The one place all input passes before a view runs: no control characters, no integers the database
cannot hold.

PostgreSQL refuses a NUL (U+0000) in any text value and an integer beyond its column type with an error
deep inside a transaction (HTTP 500, or a workflow that can never be saved again); refusing them here, with
a Chinese message naming the field, covers every route, signed in or not.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, request
from werkzeug.routing import IntegerConverter

from ..services import ServiceError

# PostgreSQL INTEGER, the type of every id column: larger numbers are no id of ours.
DB_INT_MIN, DB_INT_MAX = -(2**31), 2**31 - 1

# C0 controls and DEL; tab, newline and carriage return are ordinary text in a textarea.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_IN_PATH = re.compile(r"[\x00-\x1f\x7f]")

# Fields posted by pages that have no forms/*.yaml definition.
_LABELS = {
    "username": "用户名", "password": "密码", "q": "查询关键字", "number": "编号", "code": "项目代码",
    "reason": "申请理由", "prior_document": "文号", "name": "名称", "progress": "建设进程", "invested": "完成投资额",
    "year": "年度", "day": "日期", "hours": "小时数", "kind": "类别", "next": "跳转地址", "files": "文件",
    "file": "文件",
}


class DbIntConverter(IntegerConverter):
    """`<int:…>` bounded to the database's integer range: /tasks/99999999999/claim is a 404, not a 500."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=DB_INT_MIN if min is None else min,
                         max=DB_INT_MAX if max is None else max, signed=signed)


def db_int(value: Any) -> int:
    """An integer from a query or form value that fits the database's INTEGER; ValueError otherwise.
    Made for `request.args.get(name, type=db_int)`, which turns the ValueError into its default."""
    text = str(value).strip()
    if len(text) > 11:  # longer than any INTEGER: int() of a megabyte of digits is slow
        raise ValueError("out of range")
    number = int(text)
    if not DB_INT_MIN <= number <= DB_INT_MAX:
        raise ValueError("out of range")
    return number


@lru_cache(maxsize=1)
def _form_labels(directory: str) -> dict[str, dict[str, str]]:
    """Form key → field name → label, from forms/*.yaml."""
    from ..formkit import FormRegistry

    registry = FormRegistry(directory)
    return {path.stem: {f.name: f.label for f in registry.get(path.stem).fields}
            for path in sorted(registry.directory.glob("*.yaml"))}


def _task_form() -> str | None:
    """The form key of the task a `/tasks/<task_id>/…` request completes: its labels come first."""
    task_id = (request.view_args or {}).get("task_id")
    if not isinstance(task_id, int):
        return None
    from engine.tables import HumanTask

    from ..extensions import db

    task = db.session.get(HumanTask, task_id)
    return task.form_key if task is not None else None


def label_of(name: str) -> str:
    """A field's label as its page shows it: from the form of the task being completed, else from the first
    form file defining the name, else a label of a page without a form file, else the name itself."""
    base = re.sub(r"^change_", "", name)
    try:
        forms = _form_labels(current_app.config["FORMS_DIR"])
        own = forms.get(_task_form() or "", {})
    except Exception:  # noqa: BLE001  (a broken form file must not turn a refusal into a 500)
        forms, own = {}, {}
    if base in own:
        return own[base]
    for labels in forms.values():
        if base in labels:
            return labels[base]
    return _LABELS.get(base) or name


def _json_items(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(name, text) of every key and string in a JSON body; a nested value is named by its last key."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), str(key)
            yield from _json_items(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _json_items(item, path)


def _inputs() -> Iterator[tuple[str, str]]:
    """(field name, text) for every piece of text the request carries besides its path."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            yield name, value
    for multi in (request.args, request.form):
        for name in multi:
            yield name, name
            for value in multi.getlist(name):
                yield name, value
    for name in request.files:
        for upload in request.files.getlist(name):
            yield name, upload.filename or ""
    if request.is_json:
        yield from _json_items(request.get_json(silent=True), "")


def refuse_control_characters() -> None:
    if _CONTROL_IN_PATH.search(request.path):
        raise ServiceError("网址中含有不允许的控制字符（如 NUL），请检查链接", 400)
    for name, value in _inputs():
        if _CONTROL.search(value):
            label = label_of(name)
            message = f"「{label}」含有不允许的控制字符（如 NUL），请删除后重新提交"
            raise ServiceError(message, 422, {name: message})


def init(app: Flask) -> None:
    """Before any blueprint is registered: their `<int:…>` rules are built with the converter in place."""
    app.url_map.converters["int"] = DbIntConverter
    app.before_request(refuse_control_characters)
