"""What an event handler receives: the save that produced the events, and the event itself.

The diagrams report what happened through `emit("name", field=value)`; app/case_kinds.py declares, per case
kind, each event's payload and its one handler, and app/bootstrap.py dispatches the events of every save to
them. Handlers live beside the use cases of their kind (filing, approval, permits, post_requests) and change
the application's rows in the same transaction as the instance save.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.tables import Instance

Event = dict[str, Any]  # {"kind": name, **payload}, checked against its declaration before a handler sees it


@dataclass
class EventContext:
    session: Session
    instance: Instance
    workflow: Any  # the SpiffWorkflow BpmnWorkflow just saved
    actor: str
    now: datetime
    memo: dict[Any, Any] = field(default_factory=dict)  # rows looked up once per save (e.g. item cases)
