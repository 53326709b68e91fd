"""10,000 due reminder timers on PostgreSQL: time to drain and lateness p95.

`python -m bench.timers [--count 10000] [--batch 100] [--threads 2]`

(h) `count` 项目进展 instances (processes/progress.bpmn) are started through `runtime().start("progress", …)`,
    each under its own Project and Permit row (business key `permit:<id>`), so that firing a reminder takes
    the application's real path: the listener `on_permit_saved` finds the permit and writes the SMS into
    sms_outbox. Their first timer `first_reminder` fires at `reminder_at(planned_end, 2)`, 09:00 Beijing two
    months before the planned completion: all instances of a cohort share one planned_end, so all their
    reminders fall due at the same instant, as they would on that morning (a burst, the worst case).
    The movable clock is then set 1 s past that instant and `engine.scheduler.run_due_timers` is called in a
    loop until no timer is due: first on one thread (cohort 1), then on `threads` threads at once (cohort 2,
    a day later; SKIP LOCKED lets the workers share the table).

Lateness of a timer = wall time when its instance's transaction committed − (wall time when the drain
started + the timer's due offset within the cohort, i.e. its due_at − the cohort's first due_at). The
clock jumps to the due instant at the start of the drain, so that start is when the timers "became due";
with one planned_end per cohort every offset is 0 and lateness = commit time − drain start.

PostgreSQL only: database `bench_timers` on the server of BENCH_PG_URL (created if missing, its `public`
schema dropped and recreated at every run; the test suite's `test` is never touched). If PostgreSQL is
unreachable the bench says so and exits 0 (1 when CI=true).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.engine import make_url

from .common import (
    JIANGHAI_REGION,
    PG_URL,
    Database,
    Table,
    _short,
    department_id,
    load,
    machine_info,
    make_app,
    median,
    p95,
    postgres_database,
    postgres_reachable,
    user,
)
from .run_all import log, quiet_migrations

TIMERS_PG_URL = os.environ.get("BENCH_TIMERS_PG_URL",
                               make_url(PG_URL).set(database="bench_timers").render_as_string(hide_password=False))
APPLICANT = "qiye"
PHONE = "13800138000"  # the demo applicant has none, and notify.sms skips users without a phone


# ---------------------------------------------------------------- setup
def _base_day() -> date:
    """10 January of next year: far from the December reminders (1 December), before any planned_end."""
    return date(datetime.now(UTC).year + 1, 1, 10)


def _create_permits(count: int, cohort: int, planned_end: date) -> list[tuple[int, int, str]]:
    """`count` minimal Project + Permit rows of the demo applicant's enterprise: [(permit_id, project_id, name)]."""
    from app.extensions import db
    from app.models import Permit, Project

    applicant = user(APPLICANT)
    department = department_id()
    issued = _base_day()
    projects = [{"code": f"BENCH{cohort}{n:07d}", "enterprise_id": applicant.enterprise_id, "kind": "filing",
                 "type_code": "02", "name": f"压测项目{cohort}-{n:05d}", "industry_code": "C3484",
                 "catalogue_code": None, "region_code": JIANGHAI_REGION, "address": "明辉路35号",
                 "nature": "技术改造", "scale_content": "购置数控加工中心20台", "planned_start": issued,
                 "planned_end": planned_end, "total_investment": Decimal("1000"), "status": "filed",
                 "created_by": applicant.id} for n in range(count)]
    project_ids = list(db.session.scalars(insert(Project).returning(Project.id, sort_by_parameter_order=True),
                                          projects))
    permits = [{"kind": "filing", "number": f"BENCH-{cohort}-{n:07d}", "project_id": project_id,
                "enterprise_id": applicant.enterprise_id, "department_id": department, "issued_on": issued,
                "valid_until": issued + timedelta(days=730), "status": "valid",
                "current": {"planned_end": planned_end.isoformat()}} for n, project_id in enumerate(project_ids)]
    permit_ids = list(db.session.scalars(insert(Permit).returning(Permit.id, sort_by_parameter_order=True),
                                         permits))
    db.session.commit()
    return [(permit_id, project_id, project["name"])
            for permit_id, project_id, project in zip(permit_ids, project_ids, projects, strict=True)]


def _start_cohort(count: int, cohort: int, planned_end: date, start_batch: int) -> dict[str, Any]:
    """Permits, then one progress instance each (the data `permits._start_progress` gives), committed
    every `start_batch` instances."""
    from app.extensions import db
    from app.models import Permit
    from app.services.platform import runtime
    from engine.tables import PendingTimer

    started = time.perf_counter()
    permits = _create_permits(count, cohort, planned_end)
    rows_s = time.perf_counter() - started
    applicant = str(user(APPLICANT).id)
    instance_ids: list[int] = []
    links: list[dict[str, int]] = []
    started = time.perf_counter()
    for n, (permit_id, project_id, name) in enumerate(permits, 1):
        outcome = runtime().start(db.session, "progress", {
            "permit_id": permit_id, "project_id": project_id, "applicant": applicant, "title": name,
            "planned_end": planned_end.isoformat(), "last_reported_year": None},
            "bench", business_key=f"permit:{permit_id}")
        instance_ids.append(outcome.instance.id)
        links.append({"id": permit_id, "progress_instance_id": outcome.instance.id})
        if n % start_batch == 0 or n == count:
            db.session.commit()
            db.session.expunge_all()
            if n % (start_batch * 4) == 0 or n == count:
                log(f"cohort {cohort}: {n}/{count} instances started")
    start_s = time.perf_counter() - started
    db.session.execute(update(Permit), links)  # ORM bulk UPDATE by primary key
    db.session.commit()
    due = db.session.execute(select(func.min(PendingTimer.due_at), func.max(PendingTimer.due_at), func.count())
                             .where(PendingTimer.bpmn_id == "first_reminder",
                                    PendingTimer.instance_id.in_(instance_ids))).one()
    assert due[2] == count, f"{due[2]} first reminders for {count} instances"
    return {"ids": instance_ids, "rows_s": rows_s, "start_s": start_s, "first_due": due[0], "last_due": due[1],
            "state_bytes": _state_bytes(instance_ids)}


def _state_bytes(instance_ids: list[int]) -> float:
    from app.extensions import db
    from engine.tables import Instance

    return float(db.session.scalar(select(func.avg(func.octet_length(Instance.state)))
                                   .where(Instance.id.in_(instance_ids))))


# ---------------------------------------------------------------- drain
class Recorder:
    """Stands in for the Runtime in run_due_timers: passes both calls through and notes, in the session,
    which instance the transaction fired, so the session scope can stamp its commit."""

    def __init__(self, runtime) -> None:  # noqa: ANN001
        self.runtime = runtime
        self.lock = threading.Lock()
        self.attempts = 0
        self.empty = 0  # fire_due_timers calls that fired nothing: row locked or already fired by another worker
        self.due_queries = 0

    def due_instances(self, session, limit: int = 100) -> list[int]:  # noqa: ANN001
        with self.lock:
            self.due_queries += 1
        return self.runtime.due_instances(session, limit)

    def fire_due_timers(self, session, instance_id: int, actor: str = "timer") -> int:  # noqa: ANN001
        fired = self.runtime.fire_due_timers(session, instance_id, actor)
        session.info["bench_fired"] = (instance_id, fired)
        with self.lock:
            self.attempts += 1
            self.empty += fired == 0
        return fired


class SqlTally:
    """Statements (by text) and time inside cursor.execute, from every thread; cheap enough to leave on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_text: Counter[str] = Counter()
        self.execute_s = 0.0
        self.commits = 0

    @contextmanager
    def listening(self, engine) -> Iterator[SqlTally]:  # noqa: ANN001
        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
            conn.info["bench_t"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
            elapsed = time.perf_counter() - conn.info.pop("bench_t", time.perf_counter())
            with self.lock:
                self.by_text[statement] += 1
                self.execute_s += elapsed

        def on_commit(conn):  # noqa: ANN001, ARG001
            with self.lock:
                self.commits += 1

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        event.listen(engine, "commit", on_commit)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
            event.remove(engine, "commit", on_commit)

    @property
    def statements(self) -> int:
        return sum(self.by_text.values())

    def mix(self, per: int) -> str:
        """Statements per timer by verb and table, e.g. 'SELECT wf_instance 1.00'."""
        grouped: Counter[str] = Counter()
        for text, n in self.by_text.items():
            grouped[_short(text)] += n
        return ", ".join(f"{name} {n / per:.2f}" for name, n in grouped.most_common())


def drain(app, threads: int, batch: int, cohort: dict[str, Any], profile: bool = False) -> dict[str, Any]:
    """Jump the clock 1 s past the cohort's due instant, run run_due_timers on `threads` threads until
    nothing is due; per fired instance the wall time of its commit."""
    from app.extensions import db
    from app.services.platform import runtime
    from engine import clock
    from engine.scheduler import run_due_timers
    from engine.tables import PendingTimer

    recorder = Recorder(runtime())
    commits: list[tuple[float, int, int]] = []  # (perf_counter at commit, instance id, timers fired)

    @contextmanager
    def scope():
        """app._scope (the production timer loop's), plus the commit stamp."""
        with app.app_context():
            try:
                yield db.session
                db.session.commit()
                fired = db.session.info.pop("bench_fired", None)
                if fired is not None and fired[1]:
                    commits.append((time.perf_counter(), fired[0], fired[1]))
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.info.pop("bench_fired", None)
                db.session.remove()

    def still_due() -> int:
        with scope() as session:
            return session.scalar(select(func.count()).select_from(PendingTimer)
                                  .where(PendingTimer.due_at <= clock.utcnow_naive()))

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                if run_due_timers(recorder, scope, batch=batch) == 0:
                    if still_due() == 0:
                        return
                    time.sleep(0.005)  # the rest is locked by the other worker(s)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with app.app_context():
        engine = db.engine
    tally = SqlTally()
    profiler = cProfile.Profile() if profile else None
    clock.travel_to(cohort["last_due"].replace(tzinfo=UTC) + timedelta(seconds=1))
    with tally.listening(engine):
        started = time.perf_counter()
        if threads == 1:
            if profiler:
                profiler.enable()
            worker()
            if profiler:
                profiler.disable()
        else:
            pool = [threading.Thread(target=worker, name=f"timers-{i}") for i in range(threads)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
        seconds = time.perf_counter() - started
    if errors:
        raise errors[0]

    ids = set(cohort["ids"])
    first = cohort["first_due"]
    due_offset = _due_offsets(app, cohort["ids"], first)
    lateness = [(at - started - due_offset.get(instance_id, 0.0)) * 1000.0
                for at, instance_id, _ in commits if instance_id in ids]
    fired = sum(n for _, instance_id, n in commits if instance_id in ids)
    result = {"threads": threads, "seconds": seconds, "fired": fired, "lateness": lateness,
              "attempts": recorder.attempts, "empty": recorder.empty, "due_queries": recorder.due_queries,
              "statements": tally.statements, "execute_s": tally.execute_s, "commits": tally.commits,
              "mix": tally.mix(max(fired, 1)), **_check(app, cohort["ids"])}
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        result["profile"] = out.getvalue()
    return result


def _due_offsets(app, instance_ids: list[int], first: datetime) -> dict[int, float]:  # noqa: ANN001
    """Seconds from the cohort's first due instant to each instance's first_reminder (from wf_trail,
    since the fired timer's wf_timer row is gone)."""
    from app.extensions import db
    from engine.tables import TrailEntry

    with app.app_context():
        rows = db.session.execute(select(TrailEntry.instance_id, TrailEntry.detail).where(
            TrailEntry.action == "timer", TrailEntry.bpmn_id == "first_reminder",
            TrailEntry.instance_id.in_(instance_ids))).all()
        db.session.remove()
    return {instance_id: (datetime.fromisoformat(detail["due_at"]) - first).total_seconds()
            for instance_id, detail in rows}


def _check(app, instance_ids: list[int]) -> dict[str, Any]:  # noqa: ANN001
    """From the database: one fill_dates task, one timer trail row, one SMS per instance; nothing due."""
    from app.extensions import db
    from app.models import SmsMessage
    from engine import clock
    from engine.tables import HumanTask, PendingTimer, TrailEntry

    with app.app_context():
        s = db.session
        tasks = s.scalar(select(func.count(func.distinct(HumanTask.instance_id))).where(
            HumanTask.bpmn_id == "fill_dates", HumanTask.instance_id.in_(instance_ids)))
        task_rows = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.bpmn_id == "fill_dates", HumanTask.instance_id.in_(instance_ids)))
        trail = s.scalar(select(func.count()).select_from(TrailEntry).where(
            TrailEntry.action == "timer", TrailEntry.bpmn_id == "first_reminder",
            TrailEntry.instance_id.in_(instance_ids)))
        due = s.scalar(select(func.count()).select_from(PendingTimer).where(PendingTimer.due_at <= clock.utcnow_naive()))
        second = s.scalar(select(func.count()).select_from(PendingTimer).where(
            PendingTimer.bpmn_id == "second_reminder", PendingTimer.instance_id.in_(instance_ids)))
        sms = s.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.phone == PHONE))
        state = _state_bytes(instance_ids)
        s.remove()
    return {"tasks": tasks, "task_rows": task_rows, "trail": trail, "still_due": due, "second": second,
            "sms_total": sms, "lost": len(instance_ids) - tasks, "state_after": state}


# ---------------------------------------------------------------- driver
def run(database: Database, args: argparse.Namespace) -> dict[str, Any]:
    from app.extensions import db
    from engine import clock

    started = time.perf_counter()
    log("postgres: migrate, seed, deploy")
    with quiet_migrations():
        app = make_app(database, config={"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.threads + 3}})
    result: dict[str, Any] = {"version": database.version, "count": args.count, "batch": args.batch}
    base = _base_day()
    cohorts = []
    try:
        clock.travel_to(datetime.combine(base, datetime.min.time(), tzinfo=UTC))
        with app.app_context():
            user(APPLICANT).phone = PHONE
            db.session.commit()
            for cohort, threads in ((1, 1), (2, args.threads)):
                planned_end = date(base.year, 5, 9 + cohort)  # first reminders on 10 and 11 March, 09:00 Beijing
                log(f"cohort {cohort}: {args.count} permits and progress instances (planned_end {planned_end})")
                cohorts.append((_start_cohort(args.count, cohort, planned_end, args.start_batch), threads))
            db.session.remove()
        result["setup"] = [c for c, _ in cohorts]
        sms_before = 0
        result["drains"] = []
        for cohort, threads in cohorts:
            log(f"drain {cohort['first_due']:%Y-%m-%d %H:%M} UTC: {args.count} timers on {threads} thread(s)")
            outcome = drain(app, threads, args.batch, cohort, profile=args.profile and threads == 1)
            outcome["sms"] = outcome["sms_total"] - sms_before
            sms_before = outcome["sms_total"]
            result["drains"].append(outcome)
    finally:
        clock.reset()
        with app.app_context():
            db.engine.dispose()
    result["seconds"] = time.perf_counter() - started
    return result


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    return f"{median(values):.0f} / {p95(values):.0f} / {max(values):.0f}"


def report(result: dict[str, Any]) -> None:
    drains = result["drains"]
    setup = result["setup"]
    n = result["count"]
    columns = {f"{d['threads']} thread{'s' if d['threads'] > 1 else ''}": {**d, "version": result["version"],
                                                                         "setup": s}
               for d, s in zip(drains, setup, strict=True)}
    table = Table(columns, width=26)
    row = table.row
    row("(h) setup: permit+project rows s", lambda r: f"{r['setup']['rows_s']:.1f}")
    row("    runtime.start ×N s (per ms)", lambda r: f"{r['setup']['start_s']:.1f} "
        f"({r['setup']['start_s'] * 1000 / n:.2f})")
    row("    due instant (UTC, all)", lambda r: f"{r['setup']['first_due']:%m-%d %H:%M:%S}"
        + ("" if r["setup"]["first_due"] == r["setup"]["last_due"] else f"..{r['setup']['last_due']:%H:%M:%S}"))
    row(f"(h) drain {n} timers s", lambda r: f"{r['seconds']:.1f}")
    row("    timers fired / s", lambda r: f"{r['fired'] / r['seconds']:.0f}")
    row("    ms per timer (wall/threads)", lambda r: f"{r['seconds'] * 1000 / max(r['fired'], 1):.2f}")
    row("    lateness ms p50/p95/max", lambda r: _ms(r["lateness"]))
    row("    fired (run_due_timers sum)", lambda r: f"{r['fired']}")
    row("    fill_dates tasks / lost", lambda r: f"{r['tasks']} / lost: {r['lost']}")
    row("    duplicate tasks", lambda r: f"{r['task_rows'] - r['tasks']}")
    row("    timer trail rows / SMS", lambda r: f"{r['trail']} / {r['sms']}")
    row("    wf_timer rows still due", lambda r: f"{r['still_due']}")
    row("    second reminders armed", lambda r: f"{r['second']}")
    row("    fire attempts / fired nothing", lambda r: f"{r['attempts']} / {r['empty']}")
    row("    due_instances queries", lambda r: f"{r['due_queries']}")
    row("    SQL statements per timer", lambda r: f"{r['statements'] / max(r['fired'], 1):.2f}")
    row("    commits per timer", lambda r: f"{r['commits'] / max(r['fired'], 1):.2f}")
    row("    in cursor.execute ms/timer", lambda r: f"{r['execute_s'] * 1000 / max(r['fired'], 1):.2f}")
    row("    state bytes before/after", lambda r: f"{r['setup']['state_bytes']:.0f} / {r['state_after']:.0f}")
    table.print()
    print("\nlateness = commit wall time of the timer's transaction − (wall time when the drain started "
          "+ the timer's due_at − the cohort's first due_at); the clock jumps to 1 s past the due instant "
          "at the start of the drain, and every timer of a cohort is due at that same instant "
          "(09:00 Beijing, 2 months before one shared planned_end), so lateness = commit − drain start.")
    print(f"batch {result['batch']} per due_instances query; cursor.execute time summed over threads; "
          f"total wall time {result['seconds']:.0f} s")
    for d in drains:
        print(f"[{d['threads']} thread(s)] statements per timer: {d['mix']}")
        if "profile" in d:
            print(f"[{d['threads']} thread(s)] cProfile of the drain (inflates its time):")
            print(d["profile"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="due timers (instances) per drain")
    parser.add_argument("--batch", type=int, default=100, help="run_due_timers batch (the production default)")
    parser.add_argument("--threads", type=int, default=2, help="workers of the second drain")
    parser.add_argument("--start-batch", type=int, default=500, help="instances started per commit in the setup")
    parser.add_argument("--profile", action="store_true", help="cProfile the single-thread drain")
    args = parser.parse_args(argv)

    reason = postgres_reachable(TIMERS_PG_URL)
    if reason:
        print(f"PostgreSQL unreachable, timer bench skipped: {reason}")
        return 1 if os.environ.get("CI") == "true" else 0
    header = machine_info()
    database = postgres_database(TIMERS_PG_URL)
    result = run(database, args)
    report(result)
    print(f"machine: {header} (at start), {load()} (at end); {database.version}")
    return 1 if any(d["lost"] or d["still_due"] for d in result["drains"]) else 0


if __name__ == "__main__":
    sys.exit(main())
