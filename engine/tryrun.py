"""Try a diagram before it is deployed: run it in memory with sample answers, no database, no real case.

The run starts the process with sample start data, completes each user task as it becomes ready with the
sample answers of its form, and, when only timers are left, fires the earliest one (its due time is shown,
the platform clock is not moved: other users share it). Emitted events are recorded, never dispatched.
What comes back is the path taken, the tasks with their forms and roles, the timers with their due times
and where the run stopped.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from . import clock
from .deploy import candidate_role
from .sandbox import collect_events

MAX_TASKS = 60  # a loop (补正 answered again and again) stops here
MAX_TIMERS = 12


@dataclass
class Step:
    kind: str  # task | timer | event | error
    element: str
    name: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class TryRun:
    steps: list[Step] = field(default_factory=list)
    path: list[str] = field(default_factory=list)  # element ids in the order they completed
    finished: bool = False
    stopped: str = ""  # why the run ended before the process did


def _tasks(workflow: BpmnWorkflow) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _name(task: Any) -> str:
    return task.task_spec.bpmn_name or task.task_spec.bpmn_id or ""


def _completed(workflow: BpmnWorkflow, seen: set[Any], run: TryRun) -> None:
    done = [t for t in _tasks(workflow) if t.state == TaskState.COMPLETED and t.id not in seen
            and getattr(t.task_spec, "bpmn_id", None)]
    for task in sorted(done, key=lambda t: t.last_state_change):
        seen.add(task.id)
        if not run.path or run.path[-1] != task.task_spec.bpmn_id:
            run.path.append(task.task_spec.bpmn_id)


def _waiting(workflow: BpmnWorkflow) -> tuple[list[tuple[Any, datetime]], list[Any]]:
    timers, messages = [], []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            value = value.get("next") if isinstance(value, dict) else value
            if value:
                due = datetime.fromisoformat(value) if isinstance(value, str) else value
                timers.append((task, due if due.tzinfo else due.replace(tzinfo=UTC)))
        elif isinstance(definition, MessageEventDefinition):
            messages.append(task)
    return sorted(timers, key=lambda t: t[1]), messages


def _events(run: TryRun, events: list[dict[str, Any]], element: str) -> None:
    for event in events:
        payload = {k: v for k, v in event.items() if k != "kind"}
        run.steps.append(Step("event", element, event["kind"], payload))


def try_run(spec: Any, subprocess_specs: Mapping[str, Any], script_engine: Any, start_data: Mapping[str, Any],
            answers: Mapping[str, Mapping[str, Any]]) -> TryRun:
    run, seen = TryRun(), set()
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update(start_data)
    current = "start"
    tasks_done = timers_fired = 0
    try:
        with collect_events() as events:
            workflow.do_engine_steps()
        _events(run, events, current)
        _completed(workflow, seen, run)
        while not workflow.is_completed():
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if ready:
                if tasks_done >= MAX_TASKS:
                    run.stopped = f"已办理 {MAX_TASKS} 个任务仍未结束，可能在循环（例如补正后仍选择补正），请检查示例答案"
                    break
                task = ready[0]
                props = task.task_spec.extensions.get("properties", {})
                form_key = props.get("formKey", "")
                current = task.task_spec.bpmn_id
                due_var = props.get("dueVar")
                run.steps.append(Step("task", current, _name(task), {
                    "form": form_key, "role": candidate_role(task.task_spec),
                    "due": str(task.data.get(due_var, "")) if due_var else "",
                    "answers": dict(answers.get(form_key, {}))}))
                task.set_data(**{form_key: dict(answers.get(form_key, {}))})
                with collect_events() as events:
                    task.run()
                    workflow.do_engine_steps()
                _events(run, events, current)
                _completed(workflow, seen, run)
                tasks_done += 1
                continue
            timers, messages = _waiting(workflow)
            if not timers:
                names = "、".join(_name(t) for t in messages)
                run.stopped = (f"等待外部消息：{names}（由平台在业务发生时发送，试运行到此为止）" if names
                               else "没有可继续的步骤")
                break
            if timers_fired >= MAX_TIMERS:
                run.stopped = f"已触发 {MAX_TIMERS} 个定时器，试运行到此为止"
                break
            task, due = timers[0]
            current = task.task_spec.bpmn_id
            run.steps.append(Step("timer", current, _name(task), {"due": due.isoformat()}))
            _fire(task)
            with collect_events() as events:
                workflow.refresh_timers()
                workflow.do_engine_steps()
            _events(run, events, current)
            _completed(workflow, seen, run)
            timers_fired += 1
        run.finished = workflow.is_completed()
    except WorkflowException as exc:
        element = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or current
        run.steps.append(Step("error", element, "", {"message": str(exc)}))
        run.stopped = f"元素 {element} 出错：{exc}"
    return run


def _fire(task: Any) -> None:
    """Make a waiting timer due now without moving anyone's clock: its stored due time goes into the past."""
    past = (clock.now() - timedelta(days=36500)).isoformat()
    value = task.internal_data.get("event_value")
    task.internal_data["event_value"] = {**value, "next": past} if isinstance(value, dict) else past
