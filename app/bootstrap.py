"""The composition root: builds the workflow runtime, connects the diagrams' events to their handlers through
the case-kind registry, and deploys processes/ under that contract.

The one module that knows both the engine and every use case; nothing below it imports it (import-linter
keeps it so), which is what lets the use-case modules stay free of each other.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.contract import BundleFacts, Problem
from engine.deploy import TaskRules, bundles_from_files, deploy_bundle
from engine.runtime import Runtime
from engine.tables import Instance

from . import case_kinds
from .extensions import db
from .formkit import form_problems
from .models import Role
from .services import calendar, platform, sticky, trail_view
from .services.events import Event, EventContext

log = logging.getLogger(__name__)


def dispatch(session: Session, instance: Instance, workflow: Any, events: list[Event], actor: str) -> None:
    """The runtime's one listener: every save's events go to the handlers its case kind declares, then the
    kind's after-hook (statuses that follow the waiting step) runs."""
    kind = case_kinds.BY_PROCESS.get(instance.process_key)
    if kind is None:
        if events:
            log.warning("events %s of process %s belong to no case kind", [e["kind"] for e in events],
                        instance.process_key)
        return
    subject = kind.subject(session, instance)
    if subject is None:
        return
    ctx = EventContext(session, instance, workflow, actor, clock.utcnow_naive())
    for event in events:
        declared = kind.events.get(event["kind"])
        if declared is None:  # deploy refuses such a diagram; an older version must not slip past silently
            raise case_kinds.EventContractError(f"流程 {instance.process_key} 发出了未声明的事件 {event['kind']}")
        declared.check(event)
        declared.handler(ctx, subject, event)
    if kind.after is not None:
        kind.after(ctx, subject, events)


def check_contract(facts: BundleFacts) -> list[Problem]:
    """A process may emit only its kind's declared events, with their fields, and its user tasks may use
    only its kind's forms and roles. A called process answers to every kind that calls it."""
    kinds = case_kinds.kinds_for_process(facts.process_id)
    if not kinds:
        return [Problem(facts.process_id, f"流程 {facts.process_id} 不属于任何业务类型，平台不知道由谁处理其事件和任务"
                                          "（请先在业务类型登记中登记）")]
    problems: list[Problem] = []
    for kind in kinds:
        for emit in facts.emits:
            declared = kind.events.get(emit.event or "")
            if emit.event is None:
                problems.append(Problem(emit.element, "emit() 的第一个参数须为写明的事件名（字符串）"))
            elif declared is None:
                problems.append(Problem(emit.element, f"事件 {emit.event} 未在「{kind.label}」中声明"
                                                      f"（可用的事件：{'、'.join(kind.events)}）"))
            else:
                unknown = sorted(emit.fields - set(declared.payload))
                missing = sorted(n for n, f in declared.payload.items() if not f.optional and n not in emit.fields)
                if unknown:
                    problems.append(Problem(emit.element, f"事件 {emit.event} 没有字段 {'、'.join(unknown)}"))
                if missing and not emit.dynamic_fields:
                    problems.append(Problem(emit.element, f"事件 {emit.event} 缺少字段 {'、'.join(missing)}"))
        for task in facts.user_tasks:
            if task.form_key not in kind.forms:
                problems.append(Problem(task.element, f"表单 {task.form_key} 不是「{kind.label}」可用的表单"))
            if task.role not in kind.roles:
                problems.append(Problem(task.element, f"候选角色 {task.role} 不是「{kind.label}」可用的角色"))
        problems.extend(Problem(facts.process_id, f"事件 {name} 没有处理程序")
                        for name, declared in kind.events.items() if not callable(declared.handler))
    return list(dict.fromkeys(problems))  # a called process checked for several kinds repeats itself


def check_form_file(name: str, content: bytes) -> list[Problem]:
    """A form carried by a bundle must load and name only choice sources and rules that exist."""
    problems = form_problems(name, content.decode(errors="replace"), set(platform.CHOICE_SOURCES), set(platform.RULES))
    return [Problem(field, message) for field, message in problems]


def task_rules() -> TaskRules:
    registry = platform.forms()
    roles = set(db.session.scalars(select(Role.code)))
    return TaskRules(form_exists=registry.exists, role_exists=lambda r: r in roles, contract=check_contract,
                     form_file=platform.form_file, check_file=check_form_file)


def deploy_processes(actor: str = "system") -> list[str]:
    """processes/ with the forms their user tasks use (forms/), one bundle per BPMN file."""
    rules = task_rules()
    directory = Path(current_app.config["PROCESSES_DIR"])
    files = {p.name: p.read_bytes() for p in [*directory.glob("*.dmn"), *directory.glob("*.bpmn")]}
    done = []
    for bundle in bundles_from_files({**files, **platform.form_files()}, platform.form_references):
        for version in deploy_bundle(db.session, bundle, rules, actor):
            done.append(f"{version.process_key} v{version.version}")
    return done


_runtime: Runtime | None = None


def wire(app: Flask) -> Runtime:
    """Build the runtime once per process (its spec cache is shared by every app of the process) and hand it
    to the use cases."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(functions=calendar.expression_functions(), form_validator=platform.task_form_data,
                           listeners=[dispatch], shared_roles=["applicant"],
                           assigner=sticky.assign, trail_fields=sorted(trail_view.RECORDED))
    platform.install(_runtime, task_rules)
    app.extensions["workflow_runtime"] = _runtime
    return _runtime
