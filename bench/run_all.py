"""All benchmarks, per database: `python -m bench.run_all [--db sqlite|postgres|both]`.

(a) in-memory engine cost of one task completion, and one bare commit
(b) service-layer filing.complete_step for 受理, SQL statements and commits per completion
(c) the same completion over HTTP (Flask test client), with the target check against (a)
(d) the 待办 list with 10,000 open tasks: inbox.todo() and GET /reviewer/
(e) timer lateness, due → fired, with the real scheduler loop

(e) runs first on each fresh database so that no other instance's timer is due when the clock moves.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from .common import (
    JIANGHAI_REGION,
    PASSWORD,
    Database,
    Table,
    count_sql,
    department_id,
    each_database,
    make_app,
    median,
    p95,
    submitted_filings,
    timed,
    user,
)

ACCEPT = {"decision": "accept"}
TARGET_TODO_MS = 20.0
TARGET_LATENESS_S = 1.5


def log(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


@contextmanager
def quiet_migrations():
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


# ---------------------------------------------------------------- (a) in memory
def _complete_in_memory(state: str, task_uuid: uuid.UUID, data: dict[str, Any], runs: int) -> dict[str, Any]:
    """Deserialize, complete the READY 受理 task, run the engine, prune, serialize: `runs` times."""
    from SpiffWorkflow.util.task import TaskState

    from app.extensions import db
    from app.services.platform import runtime
    from engine.deploy import latest_version
    from engine.runtime import Runtime, dump_state, load_state
    from engine.sandbox import collect_events

    script_engine = runtime().script_engine
    specs = runtime().specs.get(latest_version(db.session, "filing"))  # states are stored without the spec
    phases: dict[str, list[float]] = {"deserialize": [], "run": [], "serialize": [], "total": []}
    out = ""
    for i in range(runs + 5):
        t0 = time.perf_counter()
        workflow = load_state(state, specs)
        workflow.script_engine = script_engine
        t1 = time.perf_counter()
        task = workflow.get_task_from_id(task_uuid)
        assert task.state == TaskState.READY and task.task_spec.manual
        task.set_data(**data)
        with collect_events():
            task.run()
            workflow.do_engine_steps()
        t2 = time.perf_counter()
        Runtime.prune(workflow)
        out = dump_state(workflow)
        t3 = time.perf_counter()
        if i >= 5:  # warm-up
            for name, value in (("deserialize", t1 - t0), ("run", t2 - t1), ("serialize", t3 - t2), ("total", t3 - t0)):
                phases[name].append(value * 1000)
    ready = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    assert ready == ["review"], ready
    return {"phases": phases, "state_before": len(state.encode()), "state_after": len(out.encode())}


def _looped_filing(rounds: int) -> tuple[int, int]:
    """A filing sent back for 补正 `rounds` times and resubmitted: (instance_id, accept human_task_id)."""
    from app.services import filing

    from .common import _forms

    _, filing_form = _forms()
    _application_id, instance_id, human_id = submitted_filings(1)[0]
    applicant = user("qiye")
    authority = str(department_id())
    for _ in range(rounds):
        shouli = user("shouli")
        filing.claim(shouli, human_id)
        filing.complete_step(user("shouli"), human_id, {"decision": "correction", "opinion": "请补充设备清单"})
        application = filing.submit(applicant, filing_form(code_of(_application_id), authority_id=authority),
                                    _application_id)
        assert application.status == "submitted", application.status
        human_id = accept_task(instance_id)
    return instance_id, human_id


def code_of(application_id: int) -> str:
    from app.extensions import db
    from app.models import FilingApplication

    return db.session.get(FilingApplication, application_id).project.code


def accept_task(instance_id: int) -> int:
    from app.extensions import db
    from engine.tables import HumanTask

    return db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.bpmn_id == "accept"))


def bench_engine(app, runs: int, looped_rounds: int) -> dict[str, Any]:
    from app.extensions import db
    from app.services.platform import task_form_data
    from engine.tables import HumanTask, Instance

    with app.app_context():
        _, instance_id, human_id = submitted_filings(1)[0]
        state = db.session.get(Instance, instance_id).state
        task_uuid = uuid.UUID(db.session.get(HumanTask, human_id).task_id)
        data = task_form_data("filing_accept", dict(ACCEPT))  # validated once: (a) is the engine alone
        result = _complete_in_memory(state, task_uuid, data, runs)

        if looped_rounds:
            looped_id, looped_human = _looped_filing(looped_rounds)
            looped_state = db.session.get(Instance, looped_id).state
            looped_uuid = uuid.UUID(db.session.get(HumanTask, looped_human).task_id)
            result["looped"] = _complete_in_memory(looped_state, looped_uuid, data, max(50, runs // 2))
            result["looped"]["rounds"] = looped_rounds

        commits = []
        for i in range(runs + 5):
            def commit_once(moment: datetime = datetime(2026, 1, 1) + timedelta(seconds=i)) -> None:
                db.session.execute(text("UPDATE wf_instance SET updated_at = :t WHERE id = :id"),
                                   {"t": moment, "id": instance_id})
                db.session.commit()

            ms, _ = timed(commit_once)
            if i >= 5:
                commits.append(ms)
        result["commit"] = commits
    return result


# ---------------------------------------------------------------- (b) service layer
def bench_service(app, runs: int) -> dict[str, Any]:
    from app.extensions import db
    from app.services import filing

    with app.app_context():
        created = submitted_filings(runs + 3)
        engine = db.engine
        times, claim_times, statements, commits, claim_statements, sql_ms, commit_ms = [], [], [], [], [], [], []
        sample = ""
        for i, (_application_id, _instance_id, human_id) in enumerate(created):
            db.session.remove()
            shouli = user("shouli")
            with count_sql(engine) as claim_sql:
                ms_claim, _ = timed(lambda h=human_id, u=shouli: filing.claim(u, h))
            db.session.remove()  # a new request: fresh session, user loaded before the use case
            shouli = user("shouli")
            with count_sql(engine) as sql:
                ms, application = timed(lambda h=human_id, u=shouli: filing.complete_step(u, h, dict(ACCEPT)))
            assert application.status == "accepted", application.status
            if i >= 3:  # warm-up
                times.append(ms)
                claim_times.append(ms_claim)
                statements.append(len(sql.statements))
                commits.append(sql.commits)
                claim_statements.append(len(claim_sql.statements))
                sql_ms.append(sql.execute_ms)
                commit_ms.append(sql.commit_ms)
                sample = sql.summary()
        db.session.remove()
    return {"times": times, "statements": statements, "commits": commits, "claim": claim_times,
            "claim_statements": claim_statements, "sample": sample, "sql_ms": sql_ms, "commit_ms": commit_ms}


# ---------------------------------------------------------------- (c) HTTP
def login(client, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code


def bench_http(app, runs: int) -> dict[str, Any]:
    from app.extensions import db

    with app.app_context():
        created = submitted_filings(runs + 3)
        engine = db.engine
    client = app.test_client()  # requests run outside any outer app context: one session per request
    login(client, "shouli")
    times, statements, commits = [], [], []
    sample = ""
    for i, (_application_id, _instance_id, human_id) in enumerate(created):
        assert client.post(f"/reviewer/tasks/{human_id}/claim").status_code == 302
        with count_sql(engine) as sql:
            ms, response = timed(lambda h=human_id: client.post(f"/reviewer/tasks/{h}/complete", data=dict(ACCEPT)))
        assert response.status_code == 302, response.status_code
        with client.session_transaction() as session:  # a browser shows (and so drops) the flash message
            session.pop("_flashes", None)
        if i >= 3:
            times.append(ms)
            statements.append(len(sql.statements))
            commits.append(sql.commits)
            sample = sql.summary()
    return {"times": times, "statements": statements, "commits": commits, "sample": sample}


# ---------------------------------------------------------------- (d) 待办 with 10,000 open tasks
def _seed_open_tasks(count: int) -> None:
    from app.extensions import db
    from engine import clock
    from engine.deploy import latest_version
    from engine.tables import HumanTask, Instance

    version = latest_version(db.session, "filing")
    department = department_id()
    now = clock.utcnow_naive()
    instances = [{"process_version_id": version.id, "process_key": "filing", "business_key": f"bench:{i}",
                  "status": "running", "state": "{}", "revision": 1, "created_at": now, "updated_at": now}
                 for i in range(count)]
    ids = list(db.session.scalars(insert(Instance).returning(Instance.id, sort_by_parameter_order=True),
                                  instances))
    tasks = []
    for i, instance_id in enumerate(ids):
        due = now + timedelta(minutes=(i * 7919) % (10 * 24 * 60) - 2 * 24 * 60)  # spread over -2..+8 days
        tasks.append({"instance_id": instance_id, "task_id": str(uuid.uuid4()), "bpmn_id": "accept", "name": "受理",
                      "form_key": "filing_accept", "candidate_role": "acceptor", "department_id": department,
                      "region_code": JIANGHAI_REGION, "assignee": None, "business_key": f"bench:{i}",
                      "title": f"压测项目{i:05d}", "created_at": now, "due_at": due,
                      "remind_at": due - timedelta(days=1)})
    db.session.execute(insert(HumanTask), tasks)
    db.session.commit()


def _explain(database: Database, statement: str, parameters: Any) -> list[str]:
    from app.extensions import db

    raw = db.session.connection().connection.dbapi_connection
    cursor = raw.cursor()
    if database.kind == "postgres":
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        lines = [row[0] for row in cursor.fetchall()]
    else:
        cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        lines = [f"{row[3]}" for row in cursor.fetchall()]
    cursor.close()
    db.session.rollback()
    return lines


def bench_inbox(app, database: Database, open_tasks: int, runs: int, page_runs: int) -> dict[str, Any]:
    from app.extensions import db
    from app.services import inbox
    from engine.tables import HumanTask

    with app.app_context():
        ms_seed, _ = timed(lambda: _seed_open_tasks(open_tasks))
        total_open = db.session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.assignee.is_(None), HumanTask.candidate_role == "acceptor",
            HumanTask.department_id == department_id()))
        times, rows = [], 0
        statement, parameters = "", None
        for i in range(runs + 3):
            db.session.remove()
            shouli = user("shouli")
            with count_sql(db.engine) as sql:
                ms, tasks = timed(lambda u=shouli: inbox.todo(u))
            # the reviewer's item permissions, then the inbox query itself
            assert len(sql.statements) == 2, sql.statements
            statement, parameters = sql.statements[-1], sql.parameters[-1]
            if i >= 3:
                times.append(ms)
                rows = len(tasks)
        plan = _explain(database, statement, parameters)
        db.session.remove()
        engine = db.engine
    client = app.test_client()
    login(client, "shouli")
    page_times, page_statements, size = [], [], 0
    for i in range(page_runs + 2):
        with count_sql(engine) as sql:
            ms, response = timed(lambda: client.get("/reviewer/"))
        assert response.status_code == 200, response.status_code
        if i >= 2:
            page_times.append(ms)
            page_statements.append(len(sql.statements))
            size = len(response.data)
    return {"seed_ms": ms_seed, "open": total_open, "times": times, "rows": rows, "plan": plan,
            "statement": " ".join(statement.split()), "page": page_times, "page_statements": page_statements,
            "page_bytes": size}


# ---------------------------------------------------------------- (e) timer lateness
def bench_timers(app, count: int, lead_seconds: float = 2.0, timeout: float = 15.0) -> dict[str, Any]:
    from app import start_timer_loop
    from app.extensions import db
    from engine import clock
    from engine.tables import PendingTimer, TrailEntry

    with app.app_context():
        instance_ids = [instance_id for _, instance_id, _ in submitted_filings(count)]
        due = dict(db.session.execute(select(PendingTimer.instance_id, PendingTimer.due_at).where(
            PendingTimer.instance_id.in_(instance_ids), PendingTimer.bpmn_id == "remind")).all())
        assert len(due) == count, due
        first = min(due.values())
        others = db.session.scalar(select(func.count()).select_from(PendingTimer).where(
            PendingTimer.due_at <= first + timedelta(seconds=timeout), PendingTimer.instance_id.notin_(instance_ids)))
        assert others == 0, f"{others} other timers would fire too"
        db.session.remove()
    interval = app.config["SCHEDULER_INTERVAL"]
    clock.travel_to(first - timedelta(seconds=lead_seconds))  # due `lead_seconds` from now, in real time
    scheduler = start_timer_loop(app)
    fired: dict[int, datetime] = {}
    try:
        deadline = time.monotonic() + lead_seconds + timeout
        with app.app_context():
            while time.monotonic() < deadline and len(fired) < count:
                time.sleep(0.05)
                rows = db.session.execute(select(TrailEntry.instance_id, TrailEntry.at).where(
                    TrailEntry.action == "timer", TrailEntry.instance_id.in_(instance_ids))).all()
                db.session.rollback()  # end the read transaction so the next poll sees new commits
                fired = {instance_id: at for instance_id, at in rows}
            db.session.remove()
    finally:
        scheduler.shutdown(wait=True)
        app.extensions.pop("timer_scheduler", None)
        clock.reset()
    lateness = [(fired[i] - due[i]).total_seconds() for i in instance_ids if i in fired]
    return {"count": count, "fired": len(fired), "lateness": lateness, "interval": interval,
            "spread": (max(due.values()) - first).total_seconds()}


# ---------------------------------------------------------------- driver
def run_database(database: Database, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    log(f"{database.kind}: migrate, seed, deploy")
    with quiet_migrations():
        app = make_app(database)
    result: dict[str, Any] = {"version": database.version}
    log(f"{database.kind}: (e) timer lateness, {args.timers} timers")
    result["e"] = bench_timers(app, args.timers)
    log(f"{database.kind}: (a) in-memory engine, {args.engine_runs} runs; instance looped {args.looped_rounds}×")
    result["a"] = bench_engine(app, args.engine_runs, args.looped_rounds)
    log(f"{database.kind}: (b) service complete_step, {args.runs} filings")
    result["b"] = bench_service(app, args.runs)
    log(f"{database.kind}: (c) HTTP complete, {args.runs} filings")
    result["c"] = bench_http(app, args.runs)
    log(f"{database.kind}: (d) 待办 with {args.open_tasks} open tasks")
    result["d"] = bench_inbox(app, database, args.open_tasks, args.todo_runs, args.page_runs)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    result["seconds"] = time.perf_counter() - started
    return result


def _fmt(values: list[float], digits: int = 2) -> str:
    return f"{median(values):.{digits}f} / {p95(values):.{digits}f}"


def report(results: dict[str, dict[str, Any]]) -> None:
    kinds = list(results)
    table = Table(results, width=28)
    row = table.row

    row("(a) engine completion ms med/p95", lambda r: _fmt(r["a"]["phases"]["total"]))
    row("    deserialize ms med", lambda r: f"{median(r['a']['phases']['deserialize']):.2f}")
    row("    run + engine steps ms med", lambda r: f"{median(r['a']['phases']['run']):.2f}")
    row("    prune + serialize ms med", lambda r: f"{median(r['a']['phases']['serialize']):.2f}")
    row("    state bytes before/after", lambda r: f"{r['a']['state_before']} / {r['a']['state_after']}")
    if all("looped" in results[k]["a"] for k in kinds):
        row("(a) same, instance looped N× ms", lambda r: f"N={r['a']['looped']['rounds']}: "
            + _fmt(r["a"]["looped"]["phases"]["total"]))
        row("    state bytes before/after", lambda r: f"{r['a']['looped']['state_before']} / "
            f"{r['a']['looped']['state_after']}")
    row("(a) bare commit ms med/p95", lambda r: _fmt(r["a"]["commit"]))
    row("(b) complete_step ms med/p95", lambda r: _fmt(r["b"]["times"]))
    row("    SQL statements med (min-max)", lambda r: f"{median(r['b']['statements']):.0f} "
        f"({min(r['b']['statements'])}-{max(r['b']['statements'])})")
    row("    commits med", lambda r: f"{median(r['b']['commits']):.0f}")
    row("    in cursor.execute ms med", lambda r: f"{median(r['b']['sql_ms']):.2f}")
    row("    in COMMIT ms med", lambda r: f"{median(r['b']['commit_ms']):.2f}")
    row("    claim ms med / statements", lambda r: f"{median(r['b']['claim']):.2f} / "
        f"{median(r['b']['claim_statements']):.0f}")
    row("    (b) − (a) − commit ms", lambda r: f"{_service_overhead(r):.2f}")
    row("(c) HTTP complete ms med/p95", lambda r: _fmt(r["c"]["times"]))
    row("    (c) − (b) ms", lambda r: f"{median(r['c']['times']) - median(r['b']['times']):.2f}")
    row("    SQL statements med / commits", lambda r: f"{median(r['c']['statements']):.0f} / "
        f"{median(r['c']['commits']):.0f}")
    row("    target 3×((a)+commit) ms", lambda r: f"{_c_target(r):.2f}")
    row("    check (c) med ≤ target", lambda r: ("PASS" if median(r["c"]["times"]) <= _c_target(r) else "FAIL")
        + f" ({median(r['c']['times']):.2f} vs {_c_target(r):.2f})")
    row("(d) open 受理 tasks, 江海区", lambda r: f"{r['d']['open']}")
    row("    inbox.todo ms med/p95", lambda r: _fmt(r["d"]["times"]))
    row("    rows returned", lambda r: f"{r['d']['rows']}")
    row(f"    check todo med ≤ {TARGET_TODO_MS:.0f} ms", lambda r: (
        "PASS" if median(r["d"]["times"]) <= TARGET_TODO_MS else "FAIL") + f" ({median(r['d']['times']):.2f})")
    row("    GET /reviewer/ ms med/p95", lambda r: _fmt(r["d"]["page"]))
    row("    page statements / bytes", lambda r: f"{median(r['d']['page_statements']):.0f} / {r['d']['page_bytes']}")
    row("(e) timers fired", lambda r: f"{r['e']['fired']}/{r['e']['count']} (loop {r['e']['interval']} s)")
    row("    lateness s med/p95/max", lambda r: (
        f"{median(r['e']['lateness']):.2f} / {p95(r['e']['lateness']):.2f} / {max(r['e']['lateness']):.2f}"
        if r["e"]["lateness"] else "none fired"))
    row(f"    check max ≤ {TARGET_LATENESS_S} s", lambda r: (
        "PASS" if r["e"]["lateness"] and r["e"]["fired"] == r["e"]["count"]
        and max(r["e"]["lateness"]) <= TARGET_LATENESS_S else "FAIL"))
    row("wall time s", lambda r: f"{r['seconds']:.1f}")

    table.print()
    for kind in kinds:
        r = results[kind]
        print(f"\n[{kind}] statements of one service-layer 受理 completion ({r['b']['statements'][-1]}):")
        print("  " + r["b"]["sample"])
        print(f"[{kind}] statements of one HTTP 受理 completion ({r['c']['statements'][-1]}):")
        print("  " + r["c"]["sample"])
        print(f"[{kind}] inbox.todo query: {r['d']['statement']}")
        print(f"[{kind}] plan:")
        for line in r["d"]["plan"]:
            print("  " + line)


def _service_overhead(r: dict[str, Any]) -> float:
    return median(r["b"]["times"]) - median(r["a"]["phases"]["total"]) - median(r["a"]["commit"])


def _c_target(r: dict[str, Any]) -> float:
    return 3 * (median(r["a"]["phases"]["total"]) + median(r["a"]["commit"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--engine-runs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100, help="fresh filings for (b) and for (c)")
    parser.add_argument("--open-tasks", type=int, default=10_000)
    parser.add_argument("--todo-runs", type=int, default=50)
    parser.add_argument("--page-runs", type=int, default=30)
    parser.add_argument("--timers", type=int, default=20)
    parser.add_argument("--looped-rounds", type=int, default=100, help="补正 rounds before the looped (a) figure")
    args = parser.parse_args(argv)

    results = each_database(args.db, lambda database: run_database(database, args))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
