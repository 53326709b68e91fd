"""What a bundle of diagrams asks of the application, read statically at deploy: the events its scripts emit
and the form keys and roles of its user tasks. The application's contract (which events, forms and roles a
process may use) judges these facts; the engine only gathers them, so it knows nothing of investment projects.
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Where diagram code runs: emit() may be called from any of them.
_CODE_TAGS = (f"{{{BPMN_NS}}}script", f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript",
              f"{{{BPMN_NS}}}conditionExpression", f"{{{BPMN_NS}}}loopCondition",
              f"{{{BPMN_NS}}}completionCondition")


@dataclass(frozen=True)
class Emit:
    element: str  # the id of the task or flow whose code calls emit()
    event: str | None  # None: the name is not a string literal
    fields: frozenset[str]
    dynamic_fields: bool = False  # emit(..., **payload): the fields cannot be known before it runs


@dataclass(frozen=True)
class UserTask:
    element: str
    form_key: str
    role: str


@dataclass(frozen=True)
class Problem:
    element: str
    message: str


@dataclass(frozen=True)
class BundleFacts:
    process_id: str
    emits: tuple[Emit, ...]
    user_tasks: tuple[UserTask, ...]


Contract = Callable[[BundleFacts], list[Problem]]


def _owner_id(node: etree._Element) -> str:
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return "?"


def emits_in(roots: Iterable[etree._Element]) -> list[Emit]:
    found = []
    for root in roots:
        for tag in _CODE_TAGS:
            for node in root.iter(tag):
                try:
                    tree = ast.parse((node.text or "").strip())
                except SyntaxError:
                    continue  # the sandbox compile check reports it, with the element
                for call in ast.walk(tree):
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "emit"):
                        continue
                    first = call.args[0] if call.args else None
                    name = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                    fields = frozenset(k.arg for k in call.keywords if k.arg)
                    found.append(Emit(_owner_id(node), name, fields, any(k.arg is None for k in call.keywords)))
    return found


def user_tasks_in(specs: Iterable[object]) -> list[UserTask]:
    tasks = []
    for spec in specs:
        for task_spec in spec.task_specs.values():  # type: ignore[attr-defined]
            if getattr(task_spec, "manual", False):
                props = task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}
                tasks.append(UserTask(task_spec.bpmn_id, props.get("formKey") or "",
                                      props.get("candidateRole") or task_spec.lane or ""))
    return tasks
