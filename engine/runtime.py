"""Instances: start, load, mutate, save under a row lock plus compare-and-set, and the projections
of READY human tasks and pending timers that inboxes and the scheduler read."""
from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import StandardLoopTask
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import clock
from .deploy import SpecCache, candidate_role, current_version
from .sandbox import RestrictedScriptEngine, collect_events, refusal_message
from .tables import HumanTask, Instance, PendingTimer, ProcessVersion, TrailEntry

# Task data carries personal data: keep SpiffWorkflow's debug records out of the logs.
for _name in ("spiff.task", "spiff.workflow"):
    logging.getLogger(_name).setLevel(logging.INFO)

log = logging.getLogger(__name__)

# A timer whose firing fails is retried after 1, 2, 4, 8 minutes, then left for an operator.
TIMER_MAX_ATTEMPTS = 5


def timer_backoff(attempts: int) -> timedelta:
    return timedelta(minutes=2 ** max(0, attempts - 1))


class EngineError(Exception):
    status = 400


class ConflictError(EngineError):
    """Someone else changed the same instance or task first; the caller may retry."""

    status = 409


class NotFound(EngineError):
    status = 404


class Forbidden(EngineError):
    status = 403


class ExpressionRefused(EngineError):
    """A diagram expression the sandbox refused while running (over its budget, …): the diagram is at
    fault, not the request; nothing of the step is saved."""

    status = 500


@contextmanager
def _running() -> Iterator[list[dict[str, Any]]]:
    """collect_events around an engine run; a sandbox refusal becomes an EngineError naming the element."""
    with collect_events() as events:
        try:
            yield events
        except WorkflowException as exc:
            message = refusal_message(exc)
            if message is None:
                raise
            raise ExpressionRefused(message) from exc


# The spec to attach while a state is being restored (states are stored without their spec).
_restoring: contextvars.ContextVar[tuple[Any, dict[str, Any]] | None] = contextvars.ContextVar("restoring", default=None)


class SpecLessWorkflowConverter(BpmnWorkflowConverter):
    """Stores an instance without its process spec: the spec is the deployed version's, immutable and
    cached, so embedding it would only double the state and re-parse it on every load. States that
    still carry a spec load as before."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        if "spec" in dct:
            return super().from_dict(dct)
        specs = _restoring.get()
        if specs is None:
            raise EngineError("恢复流程实例需要其流程版本的定义")
        workflow = self.target_class(specs[0], specs[1], deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry():
    registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: SpecLessWorkflowConverter})
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return registry


SERIALIZER = BpmnWorkflowSerializer(_registry())


def dump_state(workflow: BpmnWorkflow) -> str:
    return SERIALIZER.serialize_json(workflow)


def load_state(state: str, specs: tuple[Any, dict[str, Any]]) -> BpmnWorkflow:
    """Restore a stored state onto the (spec, subprocess specs) of its process version."""
    token = _restoring.set(specs)
    try:
        return SERIALIZER.deserialize_json(state)
    finally:
        _restoring.reset(token)


def to_naive_utc(value: Any) -> datetime | None:
    """Projected times are naive UTC; diagram variables hold ISO strings or datetimes."""
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class Assigner(Protocol):
    """The application's rule for a new reviewer task: `previous` is who last held a task of the same instance,
    candidate role and scope (None: nobody, or they released it); returns who gets the new task (`previous`,
    if they may still handle it) or None to leave it in the pool. It may also tell the pool (a notice)."""

    def __call__(self, session: Session, task: HumanTask, previous: str | None) -> str | None: ...


class Listener(Protocol):
    def __call__(self, session: Session, instance: Instance, workflow: BpmnWorkflow,
                 events: list[dict[str, Any]], actor: str) -> None: ...


@dataclass
class Outcome:
    instance: Instance
    workflow: BpmnWorkflow
    events: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # what the completed task's form set


def _props(task: Any) -> dict[str, str]:
    return task.task_spec.extensions.get("properties", {}) if hasattr(task.task_spec, "extensions") else {}


class Runtime:
    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None,
                 form_validator: Callable[[str, dict[str, Any], int], dict[str, Any]] | None = None,
                 listeners: Iterable[Listener] = (),
                 shared_roles: Iterable[str] = (),
                 assigner: Assigner | None = None,
                 trail_fields: Iterable[str] = ()):
        clock.install()
        self._projected: WeakKeyDictionary[BpmnWorkflow, tuple[set[str], dict[str, datetime]]] = WeakKeyDictionary()
        self.script_engine = RestrictedScriptEngine(functions)
        self.form_validator = form_validator
        self.listeners = list(listeners)
        # Tasks of these candidate roles belong to a party, not to the one person the diagram assigned (an
        # enterprise's legal person and its 经办人 continue each other's steps): whoever the caller let through
        # completes it, and the claim moves to them. Who may is the caller's ownership check, as for transfer.
        self.shared_roles = frozenset(shared_roles)
        # Sticky claim: a new task of a role and scope someone of the instance last held goes back to them (if the
        # assigner lets it), so 审核 → 签发, or a 补正 and its return, need no second 签收.
        self.assigner = assigner
        # Form values worth keeping in the trail of a completed step (the decision and the opinion typed): the
        # workflow prunes finished loop rounds, so without this an earlier round's opinion is lost to 办理记录.
        self.trail_fields = tuple(trail_fields)
        self.specs = SpecCache()

    # ---------------------------------------------------------------- load and save
    def load(self, session: Session, instance_id: int, skip_locked: bool = False) -> tuple[Instance, BpmnWorkflow]:
        """Load under a row lock (PostgreSQL; SQLite serialises writers) for a load→check→mutate→save."""
        row = self._lock(session, instance_id, skip_locked)
        return row, self._restore(session, row)[0]

    @staticmethod
    def _lock(session: Session, instance_id: int, skip_locked: bool = False) -> Instance:
        row = session.scalar(select(Instance).where(Instance.id == instance_id)
                             .with_for_update(skip_locked=skip_locked))
        if row is None:
            raise NotFound("流程实例不存在或正由他人处理")
        return row

    def _restore(self, session: Session, row: Instance) -> tuple[BpmnWorkflow, tuple[dict[str, Any], dict[str, Any]]]:
        """The workflow of a locked row, and its READY tasks and waiting timers (see _scan)."""
        return self._restore_onto(row, self.specs.get_by_id(session, row.process_version_id))

    def _restore_onto(self, row: Instance, specs: tuple[Any, dict[str, Any]]
                      ) -> tuple[BpmnWorkflow, tuple[dict[str, Any], dict[str, Any]]]:
        """The workflow of a locked row restored onto `specs` (its own version's, or a migration target's)."""
        workflow = load_state(row.state, specs)
        workflow.script_engine = self.script_engine
        scanned = self._scan(workflow)
        self._projected[workflow] = self._summary(*scanned)
        return workflow, scanned

    @staticmethod
    def _scan(workflow: BpmnWorkflow) -> tuple[dict[str, Any], dict[str, tuple[Any, datetime]]]:
        """READY manual tasks and waiting timers, in one walk of the task tree."""
        ready, timers = {}, {}
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            if task.state == TaskState.READY:
                if task.task_spec.manual:
                    ready[str(task.id)] = task
                continue
            definition = getattr(task.task_spec, "event_definition", None)
            if isinstance(definition, TimerEventDefinition):
                value = definition.details(task).value
                if isinstance(value, dict):  # cycles keep {"next": iso, ...}
                    value = value.get("next")
                if value:
                    timers[str(task.id)] = (task, to_naive_utc(value))
        return ready, timers

    @staticmethod
    def _summary(ready: dict[str, Any], timers: dict[str, tuple[Any, datetime]]) -> tuple[set[str], dict[str, datetime]]:
        """What the projection tables hold for a state: READY manual task ids and timer due times.
        Diffing it in memory before and after a step saves a SELECT of each table on every save."""
        return set(ready), {task_id: due for task_id, (_, due) in timers.items()}

    @staticmethod
    def prune(workflow: BpmnWorkflow) -> None:
        """Drop finished iterations of standard loops: their data is already merged into the loop
        task, and SpiffWorkflow never prunes, so a 补正 loop would otherwise grow the state by
        every sub-process and task-data copy of every pass."""
        for loop in workflow.get_tasks(spec_class=StandardLoopTask):
            merged = set(loop.internal_data.get("merged", []))
            for child in list(loop.children):
                if str(child.id) in merged and child.state == TaskState.COMPLETED and not child.children:
                    if child.id in workflow.subprocesses:
                        workflow.delete_subprocess(child)
                    # The loop counts finished iterations from internal_data["merged"], not from its
                    # children, so the finished iteration's task itself can go too.
                    loop._children.remove(child.id)
                    del loop.workflow.tasks[child.id]

    def _save(self, session: Session, row: Instance, workflow: BpmnWorkflow, actor: str,
              events: list[dict[str, Any]],
              scanned: tuple[dict[str, Any], dict[str, tuple[Any, datetime]]] | None = None) -> None:
        """`scanned`: the caller's _scan of the workflow as it is now, if it made one (saves a walk of the
        task tree; pruning removes only finished iterations, never READY or WAITING tasks)."""
        self.prune(workflow)
        row.state = dump_state(workflow)
        row.updated_at = clock.utcnow_naive()
        if workflow.is_completed():
            row.status, row.completed_at = "completed", row.updated_at
        try:
            session.flush()  # the version counter makes this UPDATE a compare-and-set
        except StaleDataError:
            raise ConflictError("该办件刚刚被他人处理，请刷新后重试") from None
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise ConflictError("该办件正被他人处理，请稍后重试") from None
            raise
        ready_before, timers_before = self._projected.get(workflow, (set(), {}))
        ready, timers = scanned or self._scan(workflow)
        self._project_tasks(session, row, ready, ready_before)
        self._project_timers(session, row, timers, timers_before)
        self._projected[workflow] = self._summary(ready, timers)
        for listener in self.listeners:
            listener(session, row, workflow, events, actor)

    def trail(self, session: Session, actor: str, action: str, instance_id: int | None = None,
              task: Any = None, before: str | None = None, after: str | None = None,
              detail: dict[str, Any] | None = None) -> None:
        session.add(TrailEntry(
            actor=actor, action=action, instance_id=instance_id,
            task_id=str(task.id) if task is not None else None,
            bpmn_id=task.task_spec.bpmn_id if task is not None else None,
            task_name=(task.task_spec.bpmn_name or task.task_spec.bpmn_id) if task is not None else None,
            status_before=before, status_after=after, detail=detail))

    # ---------------------------------------------------------------- projections
    def _project_tasks(self, session: Session, row: Instance, ready: dict[str, Any], before: set[str]) -> None:
        gone = before - ready.keys()
        if gone:
            # "evaluate" drops matching rows from the identity map in Python, without a SELECT.
            session.execute(delete(HumanTask).where(HumanTask.instance_id == row.id, HumanTask.task_id.in_(gone))
                            .execution_options(synchronize_session="evaluate"))
        holders: dict[tuple[str, str | None], str | None] | None = None
        for task_id, task in ready.items():
            if task_id in before:
                continue
            props, data = _props(task), task.data
            assignee = data.get(props["assigneeVar"]) if props.get("assigneeVar") else None
            human = HumanTask(
                instance_id=row.id, task_id=task_id, bpmn_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, form_key=props["formKey"],
                candidate_role=candidate_role(task.task_spec),
                department_id=data.get(props.get("departmentVar", "department_id")),
                region_code=data.get(props.get("regionVar", "region_code")),
                assignee=str(assignee) if assignee is not None else None,
                business_key=row.business_key, title=data.get(props.get("titleVar", "title")),
                scope=data.get(props["scopeVar"]) if props.get("scopeVar") else None,
                due_at=to_naive_utc(data.get(props["dueVar"])) if props.get("dueVar") else None,
                remind_at=to_naive_utc(data.get(props["remindVar"])) if props.get("remindVar") else None,
            )
            if self.assigner is not None and human.assignee is None and human.candidate_role not in self.shared_roles:
                if holders is None:
                    holders = self.holders(session, row.id)
                keeper = self.assigner(session, human, holders.get((human.candidate_role, human.scope)))
                if keeper is not None:
                    human.assignee = keeper
                    self.trail(session, keeper, "claim", row.id, task, before="unclaimed", after="claimed",
                               detail={"task_id": task_id, "bpmn_id": human.bpmn_id, "role": human.candidate_role,
                                       "scope": human.scope, "auto": True})
            session.add(human)

    @staticmethod
    def holders(session: Session, instance_id: int) -> dict[tuple[str, str | None], str | None]:
        """Per (candidate role, scope): who last held a task of the instance, from the trail (claims, completions,
        转办 name the role since sticky claims began); None where the last act was handing it back (退回待签收)."""
        held: dict[tuple[str, str | None], str | None] = {}
        for entry in session.scalars(select(TrailEntry).where(TrailEntry.instance_id == instance_id)
                                     .order_by(TrailEntry.id)):
            detail = entry.detail if isinstance(entry.detail, dict) else {}
            if not detail.get("role"):
                continue
            key = (detail["role"], detail.get("scope"))
            if entry.action == "unclaim":
                held[key] = None
            elif entry.action == "transfer":
                held[key] = detail.get("to")
            else:
                held[key] = entry.actor
        return held

    def waiting_timers(self, workflow: BpmnWorkflow) -> dict[str, tuple[Any, datetime]]:
        return self._scan(workflow)[1]

    def _project_timers(self, session: Session, row: Instance, waiting: dict[str, tuple[Any, datetime]],
                        before: dict[str, datetime]) -> None:
        stale = {task_id for task_id, due in before.items() if waiting.get(task_id, (None, None))[1] != due}
        if stale:
            session.execute(delete(PendingTimer).where(PendingTimer.instance_id == row.id,
                                                       PendingTimer.task_id.in_(stale))
                            .execution_options(synchronize_session="evaluate"))
        for task_id, (task, due) in waiting.items():
            if task_id not in before or task_id in stale:
                session.add(PendingTimer(instance_id=row.id, task_id=task_id, bpmn_id=task.task_spec.bpmn_id, due_at=due))

    # ---------------------------------------------------------------- use cases
    def start(self, session: Session, process_key: str, data: Mapping[str, Any], actor: str,
              business_key: str | None = None, step: str | None = None) -> Outcome:
        """`step`: the starter's own act, named (e.g. 提交变更申请), trailed as a 'submit' so it counts among
        what the person did; None for instances the platform starts on its own."""
        version = current_version(session, process_key)
        if version is None:
            raise NotFound(f"流程 {process_key} 尚未部署")
        return self.start_version(session, version, data, actor, business_key, step)

    def start_version(self, session: Session, version: ProcessVersion, data: Mapping[str, Any], actor: str,
                      business_key: str | None = None, step: str | None = None) -> Outcome:
        spec, subprocess_specs = self.specs.get(version)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(data)
        with _running() as events:
            workflow.do_engine_steps()
        row = Instance(process_version_id=version.id, process_key=version.process_key, business_key=business_key,
                       state="{}", status="running")
        session.add(row)
        session.flush()
        self.trail(session, actor, "start", row.id, after="running",
                   detail={"process_key": version.process_key, "version": version.version})
        if step:
            session.add(TrailEntry(actor=actor, action="submit", instance_id=row.id, task_name=step))
        self._save(session, row, workflow, actor, events)
        return Outcome(row, workflow, events)

    def human_task(self, session: Session, human_task_id: int) -> HumanTask:
        human = session.get(HumanTask, human_task_id)
        if human is None:
            raise NotFound("待办任务不存在或已被处理")
        return human

    def _move_claim(self, session: Session, human_task_id: int, holder: str | None,
                    to: str | None) -> tuple[HumanTask, bool]:
        """The claim moves from `holder` (None: unclaimed) to `to` in one conditional UPDATE, so of concurrent
        claimers, or a holder racing their own completion, exactly one wins; whether this one did."""
        held = HumanTask.assignee.is_(None) if holder is None else HumanTask.assignee == holder
        result = session.execute(update(HumanTask).where(HumanTask.id == human_task_id, held)
                                 .values(assignee=to).execution_options(synchronize_session=False))
        human = self.human_task(session, human_task_id)
        session.refresh(human)
        return human, result.rowcount == 1

    def claim(self, session: Session, human_task_id: int, actor: str) -> HumanTask:
        """Atomic: a conditional UPDATE, so of N concurrent claimers exactly one wins."""
        human, moved = self._move_claim(session, human_task_id, None, actor)
        if not moved:
            raise ConflictError("该任务已被他人签收")
        self.trail(session, actor, "claim", human.instance_id, before="unclaimed", after="claimed",
                   detail={"task_id": human.task_id, "bpmn_id": human.bpmn_id, "role": human.candidate_role,
                           "scope": human.scope})
        return human

    def unclaim(self, session: Session, human_task_id: int, actor: str) -> HumanTask:
        human, moved = self._move_claim(session, human_task_id, actor, None)
        if not moved:
            raise Forbidden("只有签收人可以退回该任务")
        self.trail(session, actor, "unclaim", human.instance_id, before="claimed", after="unclaimed",
                   detail={"task_id": human.task_id, "bpmn_id": human.bpmn_id, "role": human.candidate_role,
                           "scope": human.scope})
        return human

    def transfer(self, session: Session, human_task_id: int, actor: str, to_actor: str,
                 detail: Mapping[str, Any] | None = None, by: str | None = None) -> HumanTask:
        """转办: the claim moves from `actor` to `to_actor` (see _move_claim). Who may receive it is the caller's
        rule. `by`: who did it when not the holder (a department head); the trail names them."""
        human, moved = self._move_claim(session, human_task_id, actor, to_actor)
        if not moved:  # completed, handed back or transferred meanwhile: a race, not a permission
            raise ConflictError("该任务已不在您的签收中（可能已办理、退回或转办），请刷新待办列表")
        # named by the projection (no workflow is loaded), so 已办 and the timeline show the step
        session.add(TrailEntry(actor=by or actor, action="transfer", instance_id=human.instance_id, task_id=human.task_id,
                               bpmn_id=human.bpmn_id, task_name=human.name, status_before="claimed",
                               status_after="claimed", detail={"from": actor, "to": to_actor, "scope": human.scope,
                                                               "role": human.candidate_role,
                                                               **(detail or {})}))
        return human

    def cancel(self, session: Session, instance_id: int, actor: str, reason: str) -> bool:
        """Stop a running instance for good (a draft its owner deletes): under its row lock its open tasks and
        timers go and it is marked cancelled; the trail keeps the act and the reason. False when it was not
        running (already completed or cancelled: nothing to do)."""
        row = session.scalar(select(Instance).where(Instance.id == instance_id).with_for_update())
        if row is None or row.status != "running":
            return False
        session.execute(delete(HumanTask).where(HumanTask.instance_id == row.id)
                        .execution_options(synchronize_session="fetch"))
        session.execute(delete(PendingTimer).where(PendingTimer.instance_id == row.id)
                        .execution_options(synchronize_session="fetch"))
        row.status = "cancelled"
        row.completed_at = row.updated_at = clock.utcnow_naive()
        self.trail(session, actor, "cancel", row.id, before="running", after="cancelled", detail={"reason": reason})
        return True

    def complete(self, session: Session, instance_id: int, task_id: str, actor: str, data: Mapping[str, Any],
                 action: str = "complete", human: HumanTask | None = None,
                 extra: Mapping[str, Any] | None = None) -> Outcome:
        """`human`: the projection row if the caller already holds it (saves a SELECT).
        `extra`: data the application computed itself (not typed by the user), set after validation."""
        row, workflow = self.load(session, instance_id)
        try:
            task = workflow.get_task_from_id(uuid.UUID(task_id))
        except Exception:
            raise NotFound("任务不存在") from None
        if human is None or human.instance_id != instance_id or human.task_id != task_id:
            human = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.task_id == task_id))
        # task.run() has no state guard: check READY, manual and the claim here, under the lock.
        if human is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ConflictError("该任务已办理或已不在当前环节，请刷新待办列表")
        if human.assignee != actor:
            if human.candidate_role not in self.shared_roles:
                raise Forbidden("请先签收该任务，只有签收人可以办理")
            human.assignee = actor
        values = dict(data)
        if self.form_validator is not None:
            values = self.form_validator(human.form_key, values, row.process_version_id)
        task.set_data(**values, **(extra or {}))
        with _running() as events:
            task.run()
            workflow.do_engine_steps()
        typed = values.get(human.form_key)  # a validator may nest the form's values under its key
        typed = typed if isinstance(typed, Mapping) else values
        kept = {k: typed[k] for k in self.trail_fields if typed.get(k) not in (None, "", [])}
        self.trail(session, actor, action, instance_id, task, before="READY", after="COMPLETED",
                   detail={"form_key": human.form_key, "scope": human.scope, "role": human.candidate_role, **kept})
        self._save(session, row, workflow, actor, events)
        return Outcome(row, workflow, events, values)

    def send_message(self, session: Session, instance_id: int, message: str, payload: Mapping[str, Any],
                     actor: str, action: str) -> Outcome:
        """Deliver a message to a waiting catch event (e.g. the withdraw boundary on 受理)."""
        outcome = self.deliver(session, instance_id, message, payload, actor, action)
        if outcome is None:
            raise ConflictError("当前环节不能进行该操作")
        return outcome

    def deliver(self, session: Session, instance_id: int, message: str, payload: Mapping[str, Any],
                actor: str, action: str) -> Outcome | None:
        """Like send_message, but None (nothing changed) when no catch event waits for the message:
        for notices one instance sends another that may already have moved on."""
        row = session.get(Instance, instance_id)
        if row is None or row.status != "running":
            return None
        row, workflow = self.load(session, instance_id)
        waiting = [t for t in workflow.get_tasks(state=TaskState.WAITING)
                   if isinstance(getattr(t.task_spec, "event_definition", None), MessageEventDefinition)
                   and t.task_spec.event_definition.name == message]
        if not waiting:
            return None
        with _running() as events:
            try:
                workflow.send_event(BpmnEvent(waiting[0].task_spec.event_definition, dict(payload)))
            except WorkflowException:
                raise ConflictError("当前环节不能进行该操作") from None
            workflow.do_engine_steps()
        self.trail(session, actor, action, instance_id, waiting[0], before="WAITING", after="COMPLETED",
                   detail={"message": message})
        self._save(session, row, workflow, actor, events)
        return Outcome(row, workflow, events)

    @staticmethod
    def claim_due(session: Session, skip: Collection[int] = ()) -> Instance | None:
        """Lock and return the instance whose timer has been due longest, or None when nothing is due.

        On PostgreSQL the row lock is taken with FOR UPDATE OF wf_instance SKIP LOCKED, so an instance
        another worker is firing (or a user is completing) is passed over, not waited for: concurrent
        workers each take a different instance, oldest due first, and the claim lasts until the caller's
        transaction ends, which is the one that fires it. Every writer of wf_timer holds the instance
        lock, so the instance lock alone guards its timers. SQLite has no row locks (it serialises
        writers): two workers may claim the same instance there, and the DELETE in fire_claimed lets
        only one of them fire it. `skip`: instance ids not to claim (e.g. those that failed this tick).
        """
        now = clock.utcnow_naive()
        query = (select(Instance).join(PendingTimer, PendingTimer.instance_id == Instance.id)
                 .where(PendingTimer.due_at <= now, PendingTimer.attempts < TIMER_MAX_ATTEMPTS,
                        or_(PendingTimer.retry_at.is_(None), PendingTimer.retry_at <= now))
                 .order_by(PendingTimer.due_at).limit(1)
                 .with_for_update(of=Instance, skip_locked=True))
        if skip:
            query = query.where(PendingTimer.instance_id.not_in(skip))
        return session.scalar(query)

    def fire_due_timers(self, session: Session, instance_id: int, actor: str = "timer") -> int:
        """Fire every due timer of one instance; 0 if another process holds it or got there first."""
        try:
            row = self._lock(session, instance_id, skip_locked=True)
        except NotFound:
            return 0
        return self.fire_claimed(session, row, actor)

    def fire_claimed(self, session: Session, row: Instance, actor: str = "timer") -> int:
        """Fire every due timer of an instance this transaction has locked (claim_due, or _lock).

        The due timer rows are deleted first: the DELETE finding nothing means someone else fired them
        (or nothing is due), so each timer fires once, and the state is not even deserialized then.
        """
        gone = set(session.scalars(delete(PendingTimer).where(PendingTimer.instance_id == row.id,
                                                              PendingTimer.due_at <= clock.utcnow_naive())
                                   .returning(PendingTimer.task_id).execution_options(synchronize_session=False)))
        if not gone:
            return 0
        workflow, (_, before) = self._restore(session, row)
        # Those rows are gone already: _save must not delete them again, and re-adds any timer that is
        # still waiting after the refresh (a cycle's next occurrence, or one the engine did not find due).
        ready_projected, timers_projected = self._projected[workflow]
        self._projected[workflow] = (ready_projected,
                                     {task_id: due for task_id, due in timers_projected.items() if task_id not in gone})
        with _running() as events:
            workflow.refresh_timers()
            workflow.do_engine_steps()
        scanned = self._scan(workflow)
        fired = [task for task_id, (task, _) in before.items() if task_id not in scanned[1]]
        for task in fired:
            self.trail(session, actor, "timer", row.id, task, before="WAITING", after="FIRED",
                       detail={"due_at": before[str(task.id)][1].isoformat()})
        self._save(session, row, workflow, actor, events, scanned)
        return len(fired)

    # ---------------------------------------------------------------- timer failures
    @staticmethod
    def record_timer_failure(session: Session, instance_id: int, error: str) -> int:
        """Count a failed firing on the instance's due timers (in a transaction of its own: the failed one
        rolled back): the next try waits 1, 2, 4 … minutes, and after TIMER_MAX_ATTEMPTS the timers stop
        until an operator retries them. Returns the attempts now counted."""
        now = clock.utcnow_naive()
        rows = list(session.scalars(select(PendingTimer).where(PendingTimer.instance_id == instance_id,
                                                               PendingTimer.due_at <= now)))
        attempts = 0
        for row in rows:
            row.attempts = attempts = (row.attempts or 0) + 1
            row.last_error, row.failed_at = error[:1000], now
            row.retry_at = (now + timer_backoff(attempts)) if attempts < TIMER_MAX_ATTEMPTS else None
        return attempts

    @staticmethod
    def failed_timers(session: Session, limit: int = 200) -> list[Any]:
        """Timers whose firing failed at least once, the latest failure first: for the operator's page."""
        return list(session.execute(select(PendingTimer, Instance).join(Instance, Instance.id == PendingTimer.instance_id)
                                    .where(PendingTimer.attempts > 0)
                                    .order_by(PendingTimer.failed_at.desc(), PendingTimer.id.desc()).limit(limit)))

    @staticmethod
    def retry_timers(session: Session, instance_id: int, actor: str) -> int:
        """An operator's 重新尝试: the instance's failed timers are claimable again at the next tick."""
        result = session.execute(update(PendingTimer).where(PendingTimer.instance_id == instance_id,
                                                            PendingTimer.attempts > 0)
                                 .values(attempts=0, retry_at=None).execution_options(synchronize_session=False))
        if result.rowcount:
            session.add(TrailEntry(actor=actor, action="timer_retry", instance_id=instance_id,
                                   detail={"timers": result.rowcount}))
        return result.rowcount

    @staticmethod
    def due_instances(session: Session, limit: int = 100) -> list[int]:
        """Instances with a due timer, the longest due first: a read-only listing (nothing is locked, so
        concurrent callers get the same list). Workers take their work with claim_due instead."""
        now = clock.utcnow_naive()
        return list(session.scalars(select(PendingTimer.instance_id).where(PendingTimer.due_at <= now)
                                    .group_by(PendingTimer.instance_id)
                                    .order_by(func.min(PendingTimer.due_at), PendingTimer.instance_id).limit(limit)))

    @staticmethod
    def next_due(session: Session) -> datetime | None:
        return session.scalar(select(PendingTimer.due_at).order_by(PendingTimer.due_at).limit(1))
