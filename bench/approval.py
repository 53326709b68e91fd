"""审批/核准 benchmarks, per database: `python -m bench.approval [--db sqlite|postgres|both]`.

(f) one item's 受理 on a 核准 instance with 20 parallel items: in memory (engine only) and through the
    service layer (approval.complete_item_step incl. commit); state size, SQL statements per completion
(g) PostgreSQL only: 200 concurrent item completions (claim + 受理) over 50 instances of 4 items in
    4 departments, from a thread pool; throughput, latency, conflicts retried, and a check that none is lost
"""
from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from .common import (
    Database,
    Table,
    _forms,
    count_sql,
    each_database,
    make_app,
    median,
    p95,
    timed,
    user,
)
from .run_all import log, quiet_migrations

ACCEPT = {"decision": "accept", "code_verified": "on"}
ITEMS_F = 20
EXTRA_COPIES_OF = "energy"  # the catalogue has 17 items; (f) adds copies of 节能审查 in the bench database only
FOUR_CODES = ["authorisation", "land_site", "eia", "soil_water"]  # the items the FOUR_ITEMS answers give
# 受理 reviewers of those items' four departments (demo accounts, item permissions from the seed).
ACCEPTORS = {"authorisation": "sfg_shouli", "land_site": "zr_shouli", "eia": "hb_shouli", "soil_water": "sl_shouli",
             "energy": "sfg_shouli"}


def _four_items() -> dict[str, str]:
    """The approval tests' questionnaire answers: 核准 + 用地预审 + 环评 + 水保, in four departments."""
    try:
        from tests.integration.approval_helpers import FOUR_ITEMS

        return dict(FOUR_ITEMS)
    except ImportError:
        return {"land_supply": "transfer", "new_land": "yes", "forest_land": "no", "heritage_site": "no",
                "national_security": "no", "energy_tce": "200", "power_10k_kwh": "50", "eia_category": "table",
                "soil_disturbance": "yes", "water_abstraction": "no", "flood_area": "no", "total_investment": "50000",
                "state_funds": "0", "state_controlled": "yes", "foreign_loan": "no", "construction_contract": "5000",
                "goods_contract": "0", "services_contract": "0"}


# ---------------------------------------------------------------- declarations with N parallel items
def _project_id() -> int:
    from app.services import projects

    code_form, _ = _forms()
    applicant = user("qiye")
    project = projects.apply_for_code(applicant, code_form(
        unit_uscc=applicant.enterprise.uscc, kind="authorisation", name="江门市示范新材料产业园核准项目",
        type_code="01", nature="新建", total_investment="50000"))
    return project.id


def _bench_catalogue(copies: int, reviewer: str) -> list[str]:
    """Every catalogue code plus `copies` copies of 节能审查 (bench database only), with 受理 permission
    for `reviewer` on the copies. One declaration holds one case per code, so 20 items need 20 codes."""
    from app.extensions import db
    from app.models import ApprovalItem, UserItemRole

    template = db.session.get(ApprovalItem, EXTRA_COPIES_OF)
    acceptor = user(reviewer)
    for n in range(1, copies + 1):
        code = f"bench_{EXTRA_COPIES_OF}_{n}"
        if db.session.get(ApprovalItem, code) is None:
            db.session.add(ApprovalItem(
                code=code, name=f"{template.name}（压测副本{n}）", kinds=list(template.kinds), stage=template.stage,
                dept_type=template.dept_type, level=template.level, statutory_limit=template.statutory_limit,
                promised_limit=template.promised_limit, unit=template.unit, max_extension=template.max_extension,
                active=True, sort=10_000 + n))
            db.session.flush()
            db.session.add(UserItemRole(user_id=acceptor.id, item_code=code, role="acceptor"))
    db.session.commit()
    return list(db.session.scalars(select(ApprovalItem.code).where(ApprovalItem.active, ApprovalItem.parent_code.is_(None))
                                   .order_by(ApprovalItem.sort)))


@dataclass
class Declared:
    declaration_id: int
    instance_id: int
    codes: list[str]
    submit_ms: float  # the submit step: 收件 and the fan-out into the parallel item branches


def declare(project_id: int, serial: int, codes: list[str] | None) -> Declared:
    """Start `authorisation` with the Runtime, answer the questionnaire (4 items), add cases for `codes`
    beyond those, and submit with the items as approval._items_for_workflow routes them."""
    from app.extensions import db
    from app.models import Declaration, ItemCase, Project
    from app.services.approval import _items_for_workflow
    from app.services.platform import runtime
    from engine.tables import HumanTask

    applicant = user("qiye")
    project = db.session.get(Project, project_id)
    declaration = Declaration(number=f"BENCH-{serial:06d}", project_id=project.id, enterprise_id=project.enterprise_id,
                              applicant_id=applicant.id, kind="authorisation")
    db.session.add(declaration)
    db.session.flush()
    outcome = runtime().start(db.session, "authorisation", {
        "applicant": applicant.actor, "project_kind": project.kind, "title": project.name,
        "project_name": project.name, "project_code": project.code, "declaration_id": declaration.id, "stage": "立项",
    }, applicant.actor, business_key=f"declaration:{declaration.id}")
    declaration.instance_id = instance_id = outcome.instance.id

    def task_of(bpmn_id: str) -> str:
        return db.session.scalar(select(HumanTask.task_id).where(HumanTask.instance_id == instance_id,
                                                                 HumanTask.bpmn_id == bpmn_id))

    runtime().complete(db.session, instance_id, task_of("questionnaire"), applicant.actor, _four_items())
    db.session.flush()
    if codes:
        have = set(db.session.scalars(select(ItemCase.item_code).where(ItemCase.declaration_id == declaration.id)))
        for code in codes:
            if code not in have:
                db.session.add(ItemCase(declaration_id=declaration.id, item_code=code, item_name=code))
        db.session.flush()
    items = _items_for_workflow(declaration)
    ms, _ = timed(lambda: runtime().complete(db.session, instance_id, task_of("submit"), applicant.actor,
                                             {"action": "submit", "pledge": "on"}, action="submit",
                                             extra={"items": items}))
    db.session.commit()
    return Declared(declaration.id, instance_id, [i["code"] for i in items], ms)


def accept_task(instance_id: int, code: str) -> int:
    from app.extensions import db
    from engine.tables import HumanTask

    return db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.scope == code,
                                                        HumanTask.bpmn_id == "accept"))


# ---------------------------------------------------------------- (f) one item's 受理, 20 parallel items
def _complete_in_memory(state: str, task_uuid: uuid.UUID, runs: int) -> dict[str, Any]:
    """What Runtime.complete does in memory, `runs` times on the same stored state: deserialize, scan the
    READY tasks and timers, validate the form, run the task and the engine, prune, serialize, scan again."""
    from SpiffWorkflow.util.task import TaskState

    from app.extensions import db
    from app.services.platform import runtime, task_form_data
    from engine.deploy import latest_version
    from engine.runtime import Runtime, dump_state, load_state
    from engine.sandbox import collect_events

    script_engine = runtime().script_engine
    specs = runtime().specs.get(latest_version(db.session, "authorisation"))
    names = ("deserialize", "scan", "validate", "run", "serialize", "total")
    phases: dict[str, list[float]] = {name: [] for name in names}
    out = ""
    workflow = None
    full_gc = 0  # gen-2 collections during the timed runs: they, not the engine, make the p95

    def on_gc(phase: str, info: dict[str, int]) -> None:
        nonlocal full_gc
        full_gc += phase == "start" and info["generation"] == 2

    gc.callbacks.append(on_gc)
    try:
        for i in range(runs + 5):
            if i == 5:
                full_gc = 0
            t0 = time.perf_counter()
            workflow = load_state(state, specs)
            workflow.script_engine = script_engine
            t1 = time.perf_counter()
            Runtime._scan(workflow)
            t2 = time.perf_counter()
            values = task_form_data("item_accept", dict(ACCEPT))
            t3 = time.perf_counter()
            task = workflow.get_task_from_id(task_uuid)
            assert task.state == TaskState.READY and task.task_spec.bpmn_id == "accept"
            task.set_data(**values)
            with collect_events():
                task.run()
                workflow.do_engine_steps()
            t4 = time.perf_counter()
            Runtime.prune(workflow)
            out = dump_state(workflow)
            t5 = time.perf_counter()
            Runtime._scan(workflow)
            t6 = time.perf_counter()
            if i >= 5:  # warm-up
                for name, value in (("deserialize", t1 - t0), ("scan", (t2 - t1) + (t6 - t5)), ("validate", t3 - t2),
                                    ("run", t4 - t3), ("serialize", t5 - t4), ("total", t6 - t0)):
                    phases[name].append(value * 1000)
    finally:
        gc.callbacks.remove(on_gc)
    ready = sorted(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    assert ready == ["accept"] * (ITEMS_F - 1) + ["review"], ready
    return {"phases": phases, "state_before": len(state.encode()), "state_after": len(out.encode()), "full_gc": full_gc}


def bench_items(app, runs: int, engine_runs: int) -> dict[str, Any]:
    from app.extensions import db
    from app.models import ItemCase
    from app.services import approval, filing
    from engine.tables import HumanTask, Instance

    reviewer = "sfg_shouli"
    with app.app_context():
        project_id = _project_id()
        catalogue = _bench_catalogue(max(0, ITEMS_F - len(_catalogue_codes())), reviewer)
        codes = (FOUR_CODES + [c for c in catalogue if c not in FOUR_CODES])[:ITEMS_F]  # the answers give FOUR_CODES
        assert len(codes) == ITEMS_F, codes
        # sfg_shouli (市发改) accepts 核准, 节能审查 and its copies: items at the start, middle and end of the list
        mine = [c for c in codes if ACCEPTORS.get(c) == reviewer or c.startswith("bench_")]
        declared = [declare(project_id, serial, codes) for serial in range(runs + 3)]
        assert all(len(d.codes) == ITEMS_F for d in declared), declared[0].codes

        first = declared[0]
        state = db.session.get(Instance, first.instance_id).state
        task_uuid = uuid.UUID(db.session.scalar(select(HumanTask.task_id).where(
            HumanTask.id == accept_task(first.instance_id, "authorisation"))))
        result: dict[str, Any] = {"engine": _complete_in_memory(state, task_uuid, engine_runs),
                                  "submit_ms": [d.submit_ms for d in declared], "codes": mine}

        engine = db.engine
        times, claim_ms, statements, commits, sql_ms, commit_ms, positions = [], [], [], [], [], [], []
        sample = ""
        for i, d in enumerate(declared):
            code = mine[i % len(mine)]
            human_id = accept_task(d.instance_id, code)
            db.session.remove()
            ms_claim, _ = timed(lambda h=human_id: filing.claim(user(reviewer), h))
            db.session.remove()  # a new request: fresh session, user loaded before the clock starts
            acceptor = user(reviewer)
            with count_sql(engine) as sql:
                ms, case = timed(lambda h=human_id, u=acceptor: approval.complete_item_step(u, h, dict(ACCEPT)))
            assert case.status == "handling", case.status
            if i >= 3:
                times.append(ms)
                claim_ms.append(ms_claim)
                statements.append(len(sql.statements))
                commits.append(sql.commits)
                sql_ms.append(sql.execute_ms)
                commit_ms.append(sql.commit_ms)
                positions.append(d.codes.index(code))
                sample = sql.summary()
        db.session.remove()
        handling = db.session.scalar(select(func.count()).select_from(ItemCase).where(
            ItemCase.declaration_id.in_([d.declaration_id for d in declared]), ItemCase.status == "handling"))
        assert handling == len(declared), handling
        result["service"] = {"times": times, "claim": claim_ms, "statements": statements, "commits": commits,
                             "sql_ms": sql_ms, "commit_ms": commit_ms, "sample": sample,
                             "positions": sorted(set(positions))}
    return result


def _catalogue_codes() -> list[str]:
    from app.extensions import db
    from app.models import ApprovalItem

    return list(db.session.scalars(select(ApprovalItem.code).where(ApprovalItem.active, ApprovalItem.parent_code.is_(None),
                                                                   ApprovalItem.code.notlike("bench_%"))))


# ---------------------------------------------------------------- (g) concurrent completions, PostgreSQL
@dataclass
class Job:
    instance_id: int
    declaration_id: int
    code: str
    human_id: int
    reviewer: str


@dataclass
class Done:
    job: Job
    ms: float = 0.0
    claim_ms: float = 0.0
    complete_ms: float = 0.0
    retries: int = 0
    errors: list[str] = field(default_factory=list)
    ok: bool = False


def _run_job(app, job: Job, max_attempts: int = 20) -> Done:
    """One reviewer's request pair, as the web does it: claim, then complete the 受理 (each its own
    transaction), in this thread's own app context and session. A 409 (engine ConflictError, or a
    ServiceError wrapping one) or a lock error is retried."""
    from sqlalchemy.exc import OperationalError

    from app.extensions import db
    from app.services import ServiceError, approval, filing
    from engine.runtime import ConflictError

    done = Done(job)
    start = time.perf_counter()
    with app.app_context():
        try:
            for step in ("claim", "complete"):
                t0 = time.perf_counter()
                for _attempt in range(max_attempts):
                    try:
                        reviewer = user(job.reviewer)
                        if step == "claim":
                            filing.claim(reviewer, job.human_id)
                        else:
                            case = approval.complete_item_step(reviewer, job.human_id, dict(ACCEPT))
                            done.ok = case.status == "handling"
                        break
                    except (ServiceError, ConflictError, OperationalError) as exc:
                        db.session.rollback()
                        status = getattr(exc, "status", None)
                        if isinstance(exc, ServiceError | ConflictError) and status != 409:
                            done.errors.append(f"{step}: {status} {exc}")
                            return done
                        done.retries += 1
                        done.errors.append(f"{step}: {type(exc).__name__} {str(exc).splitlines()[0][:80]}")
                        time.sleep(0.005 * (1 + done.retries))
                else:
                    return done
                ms = (time.perf_counter() - t0) * 1000
                if step == "claim":
                    done.claim_ms = ms
                else:
                    done.complete_ms = ms
        finally:
            db.session.remove()
            done.ms = (time.perf_counter() - start) * 1000
    return done


def bench_concurrent(app, instances: int, threads: int) -> dict[str, Any]:
    from SpiffWorkflow.util.task import TaskState

    from app.extensions import db
    from app.models import ItemCase
    from app.services.platform import runtime
    from engine.runtime import load_state
    from engine.tables import HumanTask, Instance, TrailEntry

    with app.app_context():
        project_id = _project_id()
        declared = [declare(project_id, 100_000 + serial, None) for serial in range(instances)]
        jobs = [Job(d.instance_id, d.declaration_id, code, accept_task(d.instance_id, code), ACCEPTORS[code])
                for d in declared for code in d.codes]  # instance by instance: 4 neighbours contend for one row
        assert all(j.human_id for j in jobs) and len({len(d.codes) for d in declared}) == 1, declared[0].codes
        per_instance = len(declared[0].codes)
        revisions = dict(db.session.execute(select(Instance.id, Instance.revision)
                                            .where(Instance.id.in_([d.instance_id for d in declared]))).all())
        state_bytes = len(db.session.get(Instance, declared[0].instance_id).state.encode())
        db.session.remove()

    lock = threading.Lock()
    in_flight, peak = 0, 0

    def run(job: Job) -> Done:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            return _run_job(app, job)
        finally:
            with lock:
                in_flight -= 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(run, jobs))
    wall = time.perf_counter() - started

    # The check: each item past 受理 in its case row, in the stored workflow state and in the projection.
    with app.app_context():
        ids = [d.instance_id for d in declared]
        expected = {(j.instance_id, j.code) for j in jobs}
        case_ok = {(d.instance_id, code) for d in declared for code in db.session.scalars(select(ItemCase.item_code).where(
            ItemCase.declaration_id == d.declaration_id, ItemCase.status == "handling"))}
        projected = set(db.session.execute(select(HumanTask.instance_id, HumanTask.scope).where(
            HumanTask.instance_id.in_(ids), HumanTask.bpmn_id == "review")).all())
        accept_left = db.session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.instance_id.in_(ids), HumanTask.bpmn_id == "accept"))
        in_state: set[tuple[int, str]] = set()
        review_ready = 0
        revision_ok = 0
        for row in db.session.scalars(select(Instance).where(Instance.id.in_(ids))):
            workflow = load_state(row.state, runtime().specs.get_by_id(db.session, row.process_version_id))
            ready = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
            reviews = [t for t in ready if t.task_spec.bpmn_id == "review"]
            review_ready += len(reviews)
            in_state |= {(row.id, t.data.get("item_code")) for t in reviews}
            revision_ok += row.revision - revisions[row.id] == per_instance
        completions = db.session.scalar(select(func.count()).select_from(TrailEntry).where(
            TrailEntry.instance_id.in_(ids), TrailEntry.action == "complete", TrailEntry.bpmn_id == "accept"))
        db.session.remove()
    advanced = expected & case_ok & projected & in_state
    ok = [r for r in results if r.ok]
    return {"jobs": len(jobs), "instances": len(declared), "per_instance": per_instance, "threads": threads,
            "peak": peak, "wall": wall, "done": len(ok), "latency": [r.ms for r in ok],
            "complete_ms": [r.complete_ms for r in ok], "claim_ms": [r.claim_ms for r in ok],
            "retries": sum(r.retries for r in results), "retried_jobs": sum(1 for r in results if r.retries),
            "errors": [e for r in results for e in r.errors], "failed": [r for r in results if not r.ok],
            "lost": len(expected - advanced), "case_ok": len(expected & case_ok), "in_state": len(expected & in_state),
            "review_ready": review_ready, "projected": len(expected & projected), "accept_left": accept_left,
            "revision_ok": revision_ok, "trail_complete": completions, "state_bytes": state_bytes}


# ---------------------------------------------------------------- driver
def run_database(database: Database, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    log(f"{database.kind}: migrate, seed, deploy")
    config = None
    if database.kind == "postgres":  # a connection per worker thread, plus the main thread
        config = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": args.threads + 2,
                                                "max_overflow": 4}}
    with quiet_migrations():
        app = make_app(database, config)
    result: dict[str, Any] = {"version": database.version}
    log(f"{database.kind}: (f) {args.runs + 3} instances with {ITEMS_F} items, {args.engine_runs} in-memory runs")
    result["f"] = bench_items(app, args.runs, args.engine_runs)
    if database.kind == "postgres":
        log(f"{database.kind}: (g) {args.instances} instances × 4 items, {args.threads} threads")
        result["g"] = bench_concurrent(app, args.instances, args.threads)
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()
    result["seconds"] = time.perf_counter() - started
    return result


def _fmt(values: list[float], digits: int = 2) -> str:
    return f"{median(values):.{digits}f} / {p95(values):.{digits}f}" if values else "—"


def _service_overhead(f: dict[str, Any]) -> float:
    return median(f["service"]["times"]) - median(f["engine"]["phases"]["total"])


def report(results: dict[str, dict[str, Any]]) -> None:
    kinds = list(results)
    table = Table(results, width=30)
    row = table.row

    def g(fn):  # noqa: ANN001, ANN202
        return lambda r: fn(r["g"]) if "g" in r else "— (PostgreSQL only)"

    row(f"(f) {ITEMS_F} items: engine ms med/p95", lambda r: _fmt(r["f"]["engine"]["phases"]["total"]))
    for phase, label in (("deserialize", "deserialize"), ("scan", "scan READY/timers ×2"), ("validate", "form validation"),
                         ("run", "run + engine steps"), ("serialize", "prune + serialize")):
        row(f"    {label} ms med", lambda r, p=phase: f"{median(r['f']['engine']['phases'][p]):.2f}")
    row("    full GCs (gen 2) in the runs", lambda r: f"{r['f']['engine']['full_gc']} in "
        f"{len(r['f']['engine']['phases']['total'])}")
    row("    state KB before/after", lambda r: f"{r['f']['engine']['state_before'] / 1024:.1f} / "
        f"{r['f']['engine']['state_after'] / 1024:.1f}")
    row("(f) complete_item_step ms med/p95", lambda r: _fmt(r["f"]["service"]["times"]))
    row("    runs (fresh instances)", lambda r: f"{len(r['f']['service']['times'])}")
    row("    SQL statements med (min-max)", lambda r: f"{median(r['f']['service']['statements']):.0f} "
        f"({min(r['f']['service']['statements'])}-{max(r['f']['service']['statements'])})")
    row("    commits med", lambda r: f"{median(r['f']['service']['commits']):.0f}")
    row("    in cursor.execute ms med", lambda r: f"{median(r['f']['service']['sql_ms']):.2f}")
    row("    in COMMIT ms med", lambda r: f"{median(r['f']['service']['commit_ms']):.2f}")
    row("    service − engine ms med", lambda r: f"{_service_overhead(r['f']):.2f}")
    row("    claim ms med", lambda r: f"{median(r['f']['service']['claim']):.2f}")
    row(f"    submit (fan-out {ITEMS_F}) ms med", lambda r: f"{median(r['f']['submit_ms']):.1f}")
    row("(g) completions / instances", g(lambda x: f"{x['done']}/{x['jobs']} over {x['instances']} × {x['per_instance']}"))
    row("    threads (peak in flight)", g(lambda x: f"{x['threads']} ({x['peak']})"))
    row("    throughput completions/s", g(lambda x: f"{x['done'] / x['wall']:.1f} ({x['wall']:.2f} s)"))
    row("    claim+complete ms p50/p95", g(lambda x: _fmt(x["latency"], 1)))
    row("    complete ms p50/p95", g(lambda x: _fmt(x["complete_ms"], 1)))
    row("    conflicts retried (items)", g(lambda x: f"{x['retries']} ({x['retried_jobs']})"))
    row("    cases handling", g(lambda x: f"{x['case_ok']}/{x['jobs']}"))
    row("    READY review in states", g(lambda x: f"{x['review_ready']} (items: {x['in_state']})"))
    row("    review rows / accept left", g(lambda x: f"{x['projected']} / {x['accept_left']}"))
    row("    revision +4 / trail completes", g(lambda x: f"{x['revision_ok']}/{x['instances']} / {x['trail_complete']}"))
    row("    lost", g(lambda x: f"{x['lost']}"))
    row("    4-item state KB", g(lambda x: f"{x['state_bytes'] / 1024:.1f}"))
    row("wall time s", lambda r: f"{r['seconds']:.1f}")

    table.print()
    for kind in kinds:
        r = results[kind]
        service = r["f"]["service"]
        print(f"\n[{kind}] (f) items completed: {', '.join(r['f']['codes'])} (positions {service['positions']} of "
              f"{ITEMS_F})")
        print(f"[{kind}] (f) statements of one complete_item_step ({service['statements'][-1]}):")
        print("  " + service["sample"])
        if "g" in r:
            print(f"[{kind}] (g) lost: {r['g']['lost']}")
            errors = r["g"]["errors"]
            if errors:
                kinds_seen: dict[str, int] = {}
                for error in errors:
                    kinds_seen[error] = kinds_seen.get(error, 0) + 1
                print(f"[{kind}] (g) retried or failed ({len(errors)}):")
                for error, count in sorted(kinds_seen.items(), key=lambda e: -e[1])[:10]:
                    print(f"  {count}× {error}")
            for failed in r["g"]["failed"][:5]:
                print(f"[{kind}] (g) FAILED {failed.job}: {failed.errors[-1:] or 'not handling'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=40, help="(f) fresh 20-item instances, one 受理 each (+3 warm-up)")
    parser.add_argument("--engine-runs", type=int, default=100, help="(f) in-memory completions (+5 warm-up)")
    parser.add_argument("--instances", type=int, default=50, help="(g) instances of 4 items")
    parser.add_argument("--threads", type=int, default=16, help="(g) worker threads")
    args = parser.parse_args(argv)

    results = each_database(args.db, lambda database: run_database(database, args))
    if results:
        report(results)
    failed = any(r.get("g", {}).get("lost") for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
