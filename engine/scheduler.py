"""The timer loop: one short APScheduler interval job per process claims due timers.

APScheduler's own job stores must not be shared by several processes, so due times live in our
wf_timer table; the engine's claim_due() gives concurrent workers different instances and
fire_claimed() makes each timer fire exactly once.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session

from .runtime import TIMER_MAX_ATTEMPTS, ConflictError, Runtime

log = logging.getLogger(__name__)

# A tick that is still draining a backlog when the next interval comes makes APScheduler skip that run
# (max_instances=1) and warn about it every interval: expected then, so only that message is dropped.
_OVERRUN = "maximum number of running instances reached"


class _DropOverrunWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _OVERRUN not in record.getMessage()


_scheduler_log = logging.getLogger("apscheduler.scheduler.engine-timers")
_scheduler_log.addFilter(_DropOverrunWarnings())


def run_due_timers(runtime: Runtime, session_scope: Callable[[], AbstractContextManager[Session]],
                   budget: float = 5.0) -> int:
    """Fire what is due now, the longest due first, until nothing due is left or `budget` seconds are
    spent (the next tick goes on): a morning burst drains at full speed instead of one batch per tick.

    Each instance is claimed and fired in its own transaction (runtime.claim_due, then fire_claimed), so
    several workers share the backlog without taking the same instance. An instance that fails or fires
    nothing is not claimed again within this call; a failure is retried after a back-off. At least one instance
    is tried per call, whatever the budget. A failure is logged and counted (see _record_failure).
    Returns timers fired.
    """
    deadline = time.monotonic() + budget
    skip: set[int] = set()
    fired = 0
    while True:
        claimed: int | None = None
        try:
            with session_scope() as session:
                row = runtime.claim_due(session, skip)
                if row is None:
                    return fired
                claimed = row.id
                count = runtime.fire_claimed(session, row)
            fired += count
            if not count:
                skip.add(claimed)  # someone else fired it (SQLite), or the engine found nothing due
        except ConflictError:
            if claimed is not None:
                skip.add(claimed)  # a user moved the instance meanwhile: retried next tick
        except Exception as exc:
            if claimed is None:  # the claim itself failed (database gone?): try again next tick
                log.exception("claiming due timers failed")
                return fired
            skip.add(claimed)
            _record_failure(runtime, session_scope, claimed, exc)
        if time.monotonic() >= deadline:
            return fired


def _record_failure(runtime: Runtime, session_scope: Callable[[], AbstractContextManager[Session]],
                    instance_id: int, exc: Exception) -> None:
    """Log the failure with its instance and error, and count it on the timer rows (their own transaction:
    the firing one rolled back), so the timer backs off, stops after TIMER_MAX_ATTEMPTS, and shows on the
    operator's page instead of failing silently on every tick."""
    error = f"{type(exc).__name__}: {exc}"
    try:
        with session_scope() as session:
            attempts = runtime.record_timer_failure(session, instance_id, error)
    except Exception:
        log.exception("timer of instance %s failed (%s); recording the failure failed too", instance_id, error)
        return
    stopped = "stopped until an operator retries it" if attempts >= TIMER_MAX_ATTEMPTS else "retried later"
    log.error("timer of instance %s failed (attempt %s of %s, %s): %s", instance_id, attempts, TIMER_MAX_ATTEMPTS,
              stopped, error, exc_info=exc)


def start_scheduler(job: Callable[[], object], interval_seconds: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(daemon=True, logger=_scheduler_log)
    scheduler.add_job(job, "interval", seconds=interval_seconds, max_instances=1, coalesce=True,
                      id="engine-timers")
    scheduler.start()
    return scheduler
