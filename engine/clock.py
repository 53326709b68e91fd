"""One movable clock for the engine and the application.

Tests and the development admin page move it forward so no test sleeps waiting for a timer.
SpiffWorkflow's timer module reads `datetime.now(timezone.utc)` from its own module global,
so `install()` swaps that name for a subclass whose `now()` reads this clock.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_offset = timedelta(0)


def now() -> datetime:
    """Aware UTC now, shifted by the current offset."""
    return datetime.now(UTC) + _offset


def utcnow_naive() -> datetime:
    """The same instant as naive UTC, the form every table stores."""
    return now().replace(tzinfo=None)


def offset() -> timedelta:
    return _offset


def set_offset(delta: timedelta) -> None:
    global _offset
    with _lock:
        _offset = delta


def advance(delta: timedelta) -> datetime:
    global _offset
    with _lock:
        _offset = _offset + delta
    return now()


def travel_to(moment: datetime) -> None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    set_offset(moment - datetime.now(UTC))


def reset() -> None:
    set_offset(timedelta(0))


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers read this clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
