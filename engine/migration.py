"""Move running instances from the version they started on to another version of the same process.

An instance is stored without its spec (runtime.SpecLessWorkflowConverter): its tasks name their task specs,
so it can be restored onto another version when every task it holds — waiting, ready or already passed —
exists there, the sub-processes it is in exist there, and a ready user task keeps its form (the applicant or
reviewer may be filling it in). Anything else is refused with the reason, and nothing changes.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from .deploy import candidate_role
from .runtime import ConflictError, NotFound, Runtime, load_state
from .tables import HumanTask, Instance, ProcessVersion, TrailEntry

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _stored_tasks(node: Any) -> Iterator[tuple[str, str, int]]:
    """(task id, task spec name, state) of every task in a stored state, sub-processes included."""
    if isinstance(node, dict):
        if "task_spec" in node and "state" in node and "id" in node:
            yield str(node["id"]), str(node["task_spec"]), int(node["state"])
        for value in node.values():
            yield from _stored_tasks(value)
    elif isinstance(node, list):
        for value in node:
            yield from _stored_tasks(value)


def _all_tasks(workflow: Any) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _spec_names(specs: tuple[Any, dict[str, Any]]) -> dict[str, Any]:
    names = dict(specs[0].task_specs)
    for sub in specs[1].values():
        names.update(sub.task_specs)
    return names


def problem(runtime: Runtime, session: Session, row: Instance, target: ProcessVersion) -> str | None:
    """Why the instance cannot move to `target`, or None when it can."""
    if row.status != "running":
        return "已办结的办件无需迁移"
    if target.process_key != row.process_key:
        return f"目标版本属于另一流程（{target.process_key}）"
    if target.id == row.process_version_id:
        return f"已在 v{target.version}"
    source_specs = runtime.specs.get_by_id(session, row.process_version_id)
    target_specs = runtime.specs.get(target)
    names = _spec_names(target_specs)
    source_names = _spec_names(source_specs)
    stored = list(_stored_tasks(json.loads(row.state)))
    for _, spec_name, state in stored:
        if spec_name in names:
            continue
        label = getattr(source_names.get(spec_name), "bpmn_name", None) or spec_name
        if state & _ACTIVE:
            return f"当前环节「{label}」在 v{target.version} 中不存在"
        if state & TaskState.COMPLETED:
            return f"已经过的环节「{label}」在 v{target.version} 中不存在，办理记录无法对应"
        return f"后续环节「{label}」在 v{target.version} 中不存在（办件已按原版本预定了后续路径）"
    try:
        workflow = load_state(row.state, target_specs)
    except Exception as exc:  # the deserializer raises several unrelated types
        return f"在 v{target.version} 中无法恢复（{exc}）"
    if any(t.task_spec is None for t in _all_tasks(workflow)):
        return f"部分环节在 v{target.version} 中不存在"
    before = load_state(row.state, source_specs)
    old_forms = {str(t.id): t.task_spec.extensions.get("properties", {}).get("formKey")
                 for t in before.get_tasks(state=TaskState.READY, manual=True)}
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        form = task.task_spec.extensions.get("properties", {}).get("formKey")
        old = old_forms.get(str(task.id))
        if old != form:
            return (f"待办「{task.task_spec.bpmn_name or task.task_spec.bpmn_id}」在 v{target.version} 中改用表单 {form}"
                    f"（原为 {old}），正在填写的内容将无法对应")
    return None


def migrate(runtime: Runtime, session: Session, instance_id: int, target: ProcessVersion, actor: str,
            reason: str) -> Instance:
    """Move one instance under its row lock; raises ConflictError with the reason when it cannot move."""
    row = session.scalar(select(Instance).where(Instance.id == instance_id).with_for_update())
    if row is None:
        raise NotFound("流程实例不存在")
    why = problem(runtime, session, row, target)
    if why:
        raise ConflictError(f"办件 {row.business_key or row.id} 不能迁移：{why}")
    source = session.get(ProcessVersion, row.process_version_id)
    workflow, _ = runtime._restore_onto(row, runtime.specs.get(target))
    row.process_version_id = target.id
    runtime._save(session, row, workflow, actor, [])
    for human in session.scalars(select(HumanTask).where(HumanTask.instance_id == row.id)):
        task = next((t for t in _all_tasks(workflow) if str(t.id) == human.task_id), None)
        if task is not None:  # names and roles as the new version says
            human.name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
            human.candidate_role = candidate_role(task.task_spec)
    session.add(TrailEntry(actor=actor, action="migrate", instance_id=row.id, detail={
        "process_key": row.process_key, "from_version": source.version, "to_version": target.version,
        "reason": reason}))
    return row
