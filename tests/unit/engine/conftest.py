"""Engine-only fixtures: an in-memory database and a runtime with plain calendar-free functions."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.domain import item_clock
from app.domain.workdays import WorkCalendar
from engine import clock
from engine.deploy import TaskRules, bundles_from_dir, deploy_bundle
from engine.runtime import Runtime
from engine.tables import Base

PROCESSES = Path(__file__).resolve().parents[3] / "processes"


def _calendar_free() -> dict:
    def deadline(start: str, days: int) -> str:
        return (datetime.fromisoformat(start) + timedelta(days=days)).isoformat()

    def reminder(start: str, days: int, left: int = 1) -> str:
        return (datetime.fromisoformat(start) + timedelta(days=days - left)).isoformat()

    # The item clock on a plain Monday–Friday calendar (no holiday table in engine tests).
    cal = WorkCalendar({}, [])

    def iso(moment) -> str | None:
        return moment.isoformat() if moment else None

    return {"now_iso": lambda: clock.now().isoformat(), "workday_deadline": deadline, "workday_reminder": reminder,
            "clock_start": lambda limit, unit, cap=0: item_clock.start(int(limit), unit, clock.now(), int(cap)),
            "clock_pause": lambda state, reason: item_clock.pause(state, clock.now(), reason),
            "clock_resume": lambda state: item_clock.resume(state, clock.now()),
            "clock_extend": lambda state, days, reason: item_clock.extend(state, int(days), reason),
            "clock_due": lambda state: iso(item_clock.due(state, cal)),
            "clock_warn": lambda state: iso(item_clock.warn_at(state, cal))}


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    clock.reset()


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(functions=_calendar_free())


@pytest.fixture
def deployed(session, runtime):
    for bundle in bundles_from_dir(PROCESSES):
        deploy_bundle(session, bundle, TaskRules(form_exists=lambda key: True))
    session.commit()
    return runtime
