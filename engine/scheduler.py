"""The timer loop: one short APScheduler interval job per process claims due timers.

APScheduler's own job stores must not be shared by several processes, so due times live in our
wf_timer table; the engine's fire_due_timers() makes each timer fire exactly once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session

from .runtime import ConflictError, Runtime

log = logging.getLogger(__name__)


def run_due_timers(runtime: Runtime, session_scope: Callable[[], AbstractContextManager[Session]],
                   batch: int = 100) -> int:
    """Fire what is due now; each instance in its own transaction. Returns timers fired."""
    with session_scope() as session:
        due = runtime.due_instances(session, batch)
    fired = 0
    for instance_id in due:
        try:
            with session_scope() as session:
                fired += runtime.fire_due_timers(session, instance_id)
        except ConflictError:
            continue  # another process or user moved the instance; the timer is retried next tick
        except Exception:
            log.exception("timer of instance %s failed", instance_id)
    return fired


def start_scheduler(job: Callable[[], object], interval_seconds: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(job, "interval", seconds=interval_seconds, max_instances=1, coalesce=True,
                      id="engine-timers")
    scheduler.start()
    return scheduler
