"""10,000 due reminder timers on PostgreSQL: time to drain and lateness p95.

`python -m bench.timers [--count 10000] [--budget 5] [--modes thread:1,thread:2[,process:2][,scheduler:1]]`

(h) For each drain mode a cohort of `count` 项目进展 instances (processes/progress.bpmn) is started through
    `runtime().start(session, "progress", …)` with the data `permits._start_progress` gives, each under its
    own Project and Permit row (business key `permit:<id>`, demo applicant `qiye` given a phone number),
    so that firing a reminder takes the application's real path: the listener `on_permit_saved` finds the
    permit and writes the SMS into sms_outbox. Their first timer `first_reminder` is due at
    `reminder_at(planned_end, 2)`, 09:00 Beijing two months before the planned completion. A cohort shares
    one planned_end, so all its reminders fall due at the same instant, as on that morning in production
    (a burst: the worst case). Cohort k's planned_end is one day after cohort k-1's, so draining one cohort
    never fires another's timers (the second reminders are a month later, the December ones in December).
    The setup runs on `--setup-processes` forked processes (it is CPU-bound Python).

    The drain: the movable clock (engine.clock) jumps 1 s past the cohort's due instant, then
    `engine.scheduler.run_due_timers(runtime, scope, budget)` (which claims and fires one instance per
    transaction, oldest due first, until nothing is due or `budget` seconds are spent) is called in a loop
    until no wf_timer row is due, by 1 thread, then by 2 threads of this process (Runtime.claim_due's
    FOR UPDATE OF wf_instance SKIP LOCKED gives them different instances), and, with
    `--modes …,process:2`, by 2 forked processes (as 2 app processes, each with its own timer loop, would),
    or with `scheduler:1` by the production loop itself (engine.scheduler.start_scheduler: one
    run_due_timers call per SCHEDULER_INTERVAL tick, polled every 0.25 s until nothing is due).
    `scope` is the production loop's session scope (app._scope) plus a stamp of the commit time; the
    runtime is wrapped only to note which instance a transaction fired.

Lateness of a timer = wall time when its instance's transaction committed − (wall time when the drain
started + the timer's due offset, i.e. its due_at − the cohort's first due_at). The clock jumps to the due
instant when the drain starts, so that is when the timers "became due"; as every timer of a cohort is due
at the same instant, all offsets are 0 and lateness = commit time − drain start.

Checked from the database after each drain (the exit code is 1 if any is wrong): one `fill_dates`
HumanTask and one `timer` trail row per instance, no wf_timer row due, one SMS per instance.

PostgreSQL only: database `bench_timers` on the server of BENCH_PG_URL (or BENCH_TIMERS_PG_URL), created
if missing, its `public` schema dropped and recreated at every run; the test suite's `test` is never
touched. If PostgreSQL is unreachable the bench says so and exits 0 (1 when CI=true).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import sys
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url

from .common import (
    JIANGHAI_REGION,
    PG_URL,
    Database,
    Table,
    _short,
    count_sql,
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
_APP = None  # the app forked processes inherit


# ---------------------------------------------------------------- forked processes
def _fork_pool(processes: int):
    """A pool of forked processes sharing the parent's app, clock offset and parsed specs; each drops the
    inherited connections (close=False: the parent still owns those sockets) and opens its own."""
    return multiprocessing.get_context("fork").Pool(processes, initializer=_forked)


def _forked() -> None:
    from app.extensions import db

    with _APP.app_context():
        db.engine.dispose(close=False)


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


def _start_chunk(job: tuple[str, str, list[tuple[int, int, str]]]) -> list[int]:
    """One transaction: a progress instance per permit, as permits._start_progress starts it."""
    from app.extensions import db
    from app.services.platform import runtime

    applicant, planned_end, permits = job
    with _APP.app_context():
        ids = [runtime().start(db.session, "progress", {
            "permit_id": permit_id, "project_id": project_id, "applicant": applicant, "title": name,
            "planned_end": planned_end, "last_reported_year": None},
            "bench", business_key=f"permit:{permit_id}").instance.id for permit_id, project_id, name in permits]
        db.session.commit()
        db.session.remove()
    return ids


def _start_cohort(count: int, cohort: int, planned_end: date, args: argparse.Namespace) -> dict[str, Any]:
    from app.extensions import db
    from app.models import Permit
    from engine.tables import PendingTimer

    started = time.perf_counter()
    permits = _create_permits(count, cohort, planned_end)
    rows_s = time.perf_counter() - started
    applicant = str(user(APPLICANT).id)
    db.session.remove()
    jobs = [(applicant, planned_end.isoformat(), permits[i:i + args.start_batch])
            for i in range(0, count, args.start_batch)]
    instance_ids: list[int] = []
    started = time.perf_counter()
    with _fork_pool(args.setup_processes) as pool:
        for ids in pool.imap(_start_chunk, jobs):
            instance_ids.extend(ids)
            if len(instance_ids) % (args.start_batch * 10) == 0 or len(instance_ids) == count:
                log(f"cohort {cohort}: {len(instance_ids)}/{count} instances started")
    start_s = time.perf_counter() - started
    links = [{"id": permit_id, "progress_instance_id": instance_id}
             for (permit_id, _, _), instance_id in zip(permits, instance_ids, strict=True)]
    db.session.execute(update(Permit), links)  # ORM bulk UPDATE by primary key
    db.session.commit()
    due = db.session.execute(select(func.min(PendingTimer.due_at), func.max(PendingTimer.due_at), func.count())
                             .where(PendingTimer.bpmn_id == "first_reminder",
                                    PendingTimer.instance_id.in_(instance_ids))).one()
    assert due[2] == count, f"{due[2]} first reminders for {count} instances"
    return {"ids": instance_ids, "rows_s": rows_s, "start_s": start_s, "processes": args.setup_processes,
            "first_due": due[0], "last_due": due[1], "state_bytes": _state_bytes(instance_ids)}


def _state_bytes(instance_ids: list[int]) -> float:
    from app.extensions import db
    from engine.tables import Instance

    return float(db.session.scalar(select(func.avg(func.octet_length(Instance.state)))
                                   .where(Instance.id.in_(instance_ids))))


# ---------------------------------------------------------------- drain
class Recorder:
    """Stands in for the Runtime in run_due_timers: passes the calls through and notes, in the session,
    which instance the transaction fired, so the session scope can stamp its commit."""

    def __init__(self, runtime) -> None:  # noqa: ANN001
        self.runtime = runtime
        self.attempts = 0
        self.empty = 0  # fire_claimed calls that fired nothing: the timer already fired by another worker
        self.empty_s = 0.0  # the time those took
        self.claims = 0  # claim_due queries (one per instance, and one finding nothing at the end of a call)

    def claim_due(self, session, skip: Collection[int] = ()):  # noqa: ANN001, ANN201
        self.claims += 1
        return self.runtime.claim_due(session, skip)

    def fire_claimed(self, session, row, actor: str = "timer") -> int:  # noqa: ANN001
        started = time.perf_counter()
        fired = self.runtime.fire_claimed(session, row, actor)
        session.info["bench_fired"] = (row.id, fired)
        self.attempts += 1
        if not fired:
            self.empty += 1
            self.empty_s += time.perf_counter() - started
        return fired


class Worker:
    """One drain worker's session scope (app._scope, the production timer loop's, plus a stamp of each
    commit that fired a timer: perf_counter, CLOCK_MONOTONIC on Linux, comparable across processes)."""

    def __init__(self, budget: float) -> None:
        from app.services.platform import runtime

        self.budget = budget
        self.recorder = Recorder(runtime())
        self.commits: list[tuple[float, int, int]] = []  # (perf_counter at commit, instance id, timers fired)
        self.idle = 0
        self.ticks = 0  # run_due_timers calls

    @contextmanager
    def scope(self) -> Iterator[Any]:
        from app.extensions import db

        with _APP.app_context():
            try:
                yield db.session
                db.session.commit()
                fired = db.session.info.pop("bench_fired", None)
                if fired is not None and fired[1]:
                    self.commits.append((time.perf_counter(), fired[0], fired[1]))
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.info.pop("bench_fired", None)
                db.session.remove()

    def tick(self) -> int:
        from engine.scheduler import run_due_timers

        self.ticks += 1
        return run_due_timers(self.recorder, self.scope, budget=self.budget)

    def still_due(self) -> int:
        from engine import clock
        from engine.tables import PendingTimer

        with self.scope() as session:
            return session.scalar(select(func.count()).select_from(PendingTimer)
                                  .where(PendingTimer.due_at <= clock.utcnow_naive()))

    def loop(self) -> None:
        """run_due_timers back to back until no timer is due."""
        while True:
            if self.tick() == 0:
                if self.still_due() == 0:
                    return
                self.idle += 1
                time.sleep(0.005)  # what is left is locked by the other worker(s)

    def result(self) -> dict[str, Any]:
        r = self.recorder
        return {"commits": self.commits, "attempts": r.attempts, "empty": r.empty, "empty_s": r.empty_s,
                "claims": r.claims, "ticks": self.ticks, "idle": self.idle}


def _drain_loop(budget: float, profile: bool = False) -> dict[str, Any]:
    worker = Worker(budget)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    worker.loop()
    if profiler:
        profiler.disable()
    result = worker.result()
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        result["profile"] = out.getvalue()
    return result


def _drain_scheduler(workers: int, budget: float) -> list[dict[str, Any]]:
    """The production loop: engine.scheduler.start_scheduler (APScheduler, max_instances=1, coalesce) calls
    one run_due_timers — until nothing is due or `budget` s are spent — every SCHEDULER_INTERVAL s (a tick
    still running at the next interval makes APScheduler skip that one); polled until nothing is due."""
    from engine.scheduler import start_scheduler

    pool = [Worker(budget) for _ in range(workers)]
    schedulers = [start_scheduler(w.tick, _APP.config["SCHEDULER_INTERVAL"]) for w in pool]
    try:
        while pool[0].still_due():
            time.sleep(0.25)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    return [w.result() for w in pool]


def _drain_process(budget: float) -> dict[str, Any]:
    from app.extensions import db

    with _APP.app_context():
        engine = db.engine
    with count_sql(engine, keep=False) as sql:
        result = _drain_loop(budget)
    return {**result, "sql": sql.totals()}


def drain(kind: str, workers: int, budget: float, cohort: dict[str, Any], profile: bool = False) -> dict[str, Any]:
    """Jump the clock 1 s past the cohort's due instant; `workers` threads or forked processes each loop
    over run_due_timers until nothing is due, or `workers` production scheduler loops run until then."""
    from app.extensions import db
    from engine import clock

    with _APP.app_context():
        engine = db.engine
    clock.travel_to(cohort["last_due"].replace(tzinfo=UTC) + timedelta(seconds=1))
    parts: list[dict[str, Any]] = []
    if kind == "process":
        started = time.perf_counter()  # includes forking the workers (tens of ms)
        with _fork_pool(workers) as pool:
            parts = pool.map(_drain_process, [budget] * workers)
        seconds = time.perf_counter() - started
        sql = [p["sql"] for p in parts]
    else:
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                parts.append(_drain_loop(budget, profile=profile and workers == 1))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        with count_sql(engine, keep=False) as counted:
            started = time.perf_counter()
            if kind == "scheduler":
                parts = _drain_scheduler(workers, budget)
            elif workers == 1:
                worker()
            else:
                pool = [threading.Thread(target=worker, name=f"timers-{i}") for i in range(workers)]
                for thread in pool:
                    thread.start()
                for thread in pool:
                    thread.join()
            seconds = time.perf_counter() - started
        if errors:
            raise errors[0]
        sql = [counted.totals()]

    ids = set(cohort["ids"])
    commits = [c for p in parts for c in p["commits"] if c[1] in ids]
    offsets = _due_offsets(cohort["ids"], cohort["first_due"])
    lateness = [(at - started - offsets.get(instance_id, 0.0)) * 1000.0 for at, instance_id, _ in commits]
    by_text: Counter[str] = Counter()
    for s in sql:
        by_text.update(s["by_text"])
    fired = sum(n for _, _, n in commits)
    result = {"mode": f"{workers} {kind}{'es' if kind == 'process' and workers > 1 else ''}"
              f"{'s' if kind != 'process' and workers > 1 else ''}",
              "seconds": seconds, "last_commit": max((c[0] for c in commits), default=started) - started,
              "fired": fired, "lateness": lateness,
              "per_worker": [sum(1 for c in p["commits"] if c[1] in ids) for p in parts],
              "attempts": sum(p["attempts"] for p in parts), "empty": sum(p["empty"] for p in parts),
              "empty_s": sum(p["empty_s"] for p in parts), "claims": sum(p["claims"] for p in parts),
              "ticks": sum(p["ticks"] for p in parts), "idle": sum(p["idle"] for p in parts),
              "statements": sum(by_text.values()), "execute_s": sum(s["execute_ms"] for s in sql) / 1000.0,
              "commits": sum(s["commits"] for s in sql),
              "mix": _mix(by_text, max(fired, 1)), **_check(cohort["ids"])}
    if parts and "profile" in parts[0]:
        result["profile"] = parts[0]["profile"]
    return result


def _mix(by_text: Counter[str], per: int) -> str:
    """Statements per timer by verb and table, e.g. 'SELECT wf_instance 1.00'."""
    grouped: Counter[str] = Counter()
    for text, n in by_text.items():
        grouped[_short(text)] += n
    return ", ".join(f"{name} {n / per:.2f}" for name, n in grouped.most_common())


def _due_offsets(instance_ids: list[int], first: datetime) -> dict[int, float]:
    """Seconds from the cohort's first due instant to each instance's first_reminder (from wf_trail:
    the fired timer's wf_timer row is gone)."""
    from app.extensions import db
    from engine.tables import TrailEntry

    with _APP.app_context():
        rows = db.session.execute(select(TrailEntry.instance_id, TrailEntry.detail).where(
            TrailEntry.action == "timer", TrailEntry.bpmn_id == "first_reminder",
            TrailEntry.instance_id.in_(instance_ids))).all()
        db.session.remove()
    return {instance_id: (datetime.fromisoformat(detail["due_at"]) - first).total_seconds()
            for instance_id, detail in rows}


def _check(instance_ids: list[int]) -> dict[str, Any]:
    """From the database: one fill_dates task, one timer trail row, one SMS per instance; nothing due."""
    from app.extensions import db
    from app.models import SmsMessage
    from engine import clock
    from engine.tables import HumanTask, PendingTimer, TrailEntry

    with _APP.app_context():
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
def _modes(text: str) -> list[tuple[str, int]]:
    modes = []
    for part in text.split(","):
        kind, _, workers = part.strip().partition(":")
        if kind not in ("thread", "process", "scheduler") or not workers.isdigit() or int(workers) < 1:
            raise argparse.ArgumentTypeError(f"mode {part!r}: thread:N, process:N or scheduler:N")
        modes.append((kind, int(workers)))
    return modes


def run(database: Database, args: argparse.Namespace) -> dict[str, Any]:
    global _APP
    from app.extensions import db
    from engine import clock

    started = time.perf_counter()
    log("postgres: migrate, seed, deploy")
    threads = max([w for k, w in args.modes if k != "process"], default=1)
    with quiet_migrations():
        _APP = app = make_app(database, config={"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": threads + 3}})
    result: dict[str, Any] = {"version": database.version, "count": args.count, "budget": args.budget, "drains": []}
    base = _base_day()
    try:
        clock.travel_to(datetime.combine(base, datetime.min.time(), tzinfo=UTC))
        with app.app_context():
            user(APPLICANT).phone = PHONE
            db.session.commit()
            cohorts = []
            for index, _ in enumerate(args.modes, 1):
                planned_end = base.replace(month=5) + timedelta(days=index)  # 1st reminders 11, 12, … March
                log(f"cohort {index}: {args.count} permits and progress instances (planned_end {planned_end}) "
                    f"on {args.setup_processes} processes")
                cohorts.append(_start_cohort(args.count, index, planned_end, args))
            db.session.remove()
        sms_before = 0
        for (kind, workers), cohort in zip(args.modes, cohorts, strict=True):
            log(f"drain {cohort['first_due']:%Y-%m-%d %H:%M} UTC: {args.count} timers, {workers} {kind}(s)")
            outcome = drain(kind, workers, args.budget, cohort, profile=args.profile)
            outcome["sms"] = outcome["sms_total"] - sms_before
            sms_before = outcome["sms_total"]
            outcome["setup"] = cohort
            result["drains"].append(outcome)
            log(f"  {outcome['seconds']:.1f} s, lost {outcome['lost']}")
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
    n = result["count"]
    columns = {d["mode"]: {**d, "version": result["version"]} for d in result["drains"]}
    table = Table(columns, width=26)
    row = table.row
    row("(h) setup: project+permit rows s", lambda r: f"{r['setup']['rows_s']:.1f}")
    row("    runtime.start ×N s", lambda r: f"{r['setup']['start_s']:.1f} ({r['setup']['processes']} proc)")
    row("    ms per start (× processes)", lambda r: f"{r['setup']['start_s'] * 1000 * r['setup']['processes'] / n:.2f}")
    row("    due instant, UTC (all)", lambda r: f"{r['setup']['first_due']:%m-%d %H:%M:%S}"
        + ("" if r["setup"]["first_due"] == r["setup"]["last_due"] else f"..{r['setup']['last_due']:%H:%M:%S}"))
    row(f"(h) drain {n} due timers s", lambda r: f"{r['seconds']:.1f}")
    row("    last commit after s", lambda r: f"{r['last_commit']:.1f}")
    row("    timers fired / s", lambda r: f"{r['fired'] / r['seconds']:.0f}")
    row("    lateness ms p50/p95/max", lambda r: _ms(r["lateness"]))
    row("    fired (sum over run_due_timers)", lambda r: f"{r['fired']}")
    row("    fired per worker", lambda r: "/".join(str(w) for w in r["per_worker"]))
    row("    fill_dates tasks / lost", lambda r: f"{r['tasks']} / lost: {r['lost']}")
    row("    duplicate fill_dates tasks", lambda r: f"{r['task_rows'] - r['tasks']}")
    row("    timer trail rows / SMS", lambda r: f"{r['trail']} / {r['sms']}")
    row("    wf_timer rows still due", lambda r: f"{r['still_due']}")
    row("    second reminders armed", lambda r: f"{r['second']}")
    row("    fire calls / fired nothing", lambda r: f"{r['attempts']} / {r['empty']}")
    row("    time in calls firing nothing s", lambda r: f"{r['empty_s']:.1f}")
    row("    claim queries / calls / idle", lambda r: f"{r['claims']} / {r['ticks']} / {r['idle']}")
    row("    SQL statements per timer", lambda r: f"{r['statements'] / max(r['fired'], 1):.2f}")
    row("    commits per timer", lambda r: f"{r['commits'] / max(r['fired'], 1):.2f}")
    row("    in cursor.execute ms/timer", lambda r: f"{r['execute_s'] * 1000 / max(r['fired'], 1):.2f}")
    row("    state bytes before/after", lambda r: f"{r['setup']['state_bytes']:.0f} / {r['state_after']:.0f}")
    table.print()
    print("\nlateness = wall time when the timer's transaction committed − (wall time when the drain started "
          "+ the timer's due_at − the cohort's first due_at). The clock jumps to 1 s past the due instant when "
          "the drain starts, and all timers of a cohort are due at that one instant (09:00 Beijing, 2 months "
          "before a shared planned_end), so here lateness = commit − drain start.")
    print(f"run_due_timers budget {result['budget']:g} s per call; one claim_due query per instance (FOR UPDATE "
          "OF wf_instance SKIP LOCKED: workers pass over instances another one holds). 'fired nothing': "
          "fire_claimed found the timer already fired by another worker (a claim racing a commit). "
          "cursor.execute time is summed over workers (with threads it includes waiting for the GIL). "
          f"Total wall time {result['seconds']:.0f} s.")
    for d in result["drains"]:
        print(f"[{d['mode']}] statements per timer: {d['mix']}")
    for d in result["drains"]:
        if "profile" in d:
            print(f"[{d['mode']}] cProfile of the drain (inflates its time):")
            print(d["profile"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="due timers (instances) per drain")
    parser.add_argument("--budget", type=float, default=5.0,
                        help="seconds one run_due_timers call may drain (the production default)")
    parser.add_argument("--modes", type=_modes, default=_modes("thread:1,thread:2"),
                        help="drains, one cohort each: thread:N (N threads of this process looping over "
                             "run_due_timers), process:N (N forked processes doing so) or scheduler:N (the "
                             "production APScheduler loop: one run_due_timers call per SCHEDULER_INTERVAL "
                             "tick); "
                             "default thread:1,thread:2")
    parser.add_argument("--setup-processes", type=int, default=2, help="forked processes starting the instances")
    parser.add_argument("--start-batch", type=int, default=200, help="instances started per transaction")
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
    wrong = [d for d in result["drains"] if d["lost"] or d["still_due"] or d["task_rows"] != d["tasks"]
             or d["trail"] != args.count or d["sms"] != args.count]
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
