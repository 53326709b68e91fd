"""The reviewer's 待办 for volume (issue 14, item 8): search, filters, counts, sort and pages in SQL.

`python -m bench.todo [--db sqlite|postgres|both] [--open-tasks 2000] [--runs 30] [--page-runs 15]`

One real filing is submitted through the service layer (its project and enterprise are what every row joins);
then `open-tasks` open 受理 tasks are bulk-inserted for 江海区, each with its own instance and its own
FilingApplication row (distinct 办件单号, submitted times spread over 30 days, deadlines over -2..+8 days, one in
ten already claimed by shouli), then ANALYZE. Timed, fresh session each run, the user loaded before the clock starts:
`inbox.todo_page(shouli, filters)` for the default view and for each filter (search by a 办件单号 fragment, by the
applicant's name, 待签收 + 即将到期, 已超期, by submission time page 10), `inbox.todo_count` (the nav badge), and
`GET /reviewer/` through the test client (the whole page: template, badge, per-row cases). Statements per call are
counted. Target: the default view ≤ 50 ms and the page ≤ 150 ms at 2,000 open tasks.
"""
from __future__ import annotations

import argparse
import sys
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import (
    JIANGHAI_REGION,
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

TARGET_QUERY_MS = 50.0
TARGET_PAGE_MS = 150.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _seed(count: int) -> str:
    """`count` open 受理 tasks with their instances and applications; returns a 办件单号 to search for."""
    from app.extensions import db
    from app.models import FilingApplication
    from engine import clock
    from engine.deploy import latest_version
    from engine.tables import HumanTask, Instance

    application_id, _, _ = submitted_filings(1)[0]
    real = db.session.get(FilingApplication, application_id)
    version = latest_version(db.session, "filing")
    department = department_id()
    shouli = user("shouli").actor
    now = clock.utcnow_naive()
    instances = [{"process_version_id": version.id, "process_key": "filing", "business_key": f"bench:{i}",
                  "status": "running", "state": "{}", "revision": 1, "created_at": now, "updated_at": now}
                 for i in range(count)]
    ids = list(db.session.scalars(insert(Instance).returning(Instance.id, sort_by_parameter_order=True), instances))
    applications, tasks = [], []
    for i, instance_id in enumerate(ids):
        due = now + timedelta(minutes=(i * 7919) % (10 * 24 * 60) - 2 * 24 * 60)  # spread over -2..+8 days
        submitted = now - timedelta(minutes=(i * 104729) % (30 * 24 * 60))
        applications.append({"number": f"BA2026{i:08d}", "project_id": real.project_id,
                             "enterprise_id": real.enterprise_id, "applicant_id": real.applicant_id,
                             "department_id": department, "instance_id": instance_id, "status": "submitted",
                             "draft": {}, "submitted_at": submitted, "due_at": due, "reminded": False,
                             "overdue": due < now, "rounds": 0, "created_at": now, "updated_at": now})
        tasks.append({"instance_id": instance_id, "task_id": str(uuid.uuid4()), "bpmn_id": "accept", "name": "受理",
                      "form_key": "filing_accept", "candidate_role": "acceptor", "department_id": department,
                      "region_code": JIANGHAI_REGION, "assignee": shouli if i % 10 == 0 else None,
                      "business_key": f"bench:{i}", "title": f"压测项目{i:05d}", "created_at": now,
                      "due_at": due, "remind_at": due - timedelta(days=1)})
    db.session.execute(insert(FilingApplication), applications)
    db.session.execute(insert(HumanTask), tasks)
    db.session.commit()
    # fresh statistics, as autovacuum (PostgreSQL) would have after a bulk load; without them the planner takes
    # every table for one row
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return f"BA2026{count // 2:08d}"[-6:]


def bench(database: Database, open_tasks: int, runs: int, page_runs: int) -> dict[str, Any]:
    from app.extensions import db
    from app.models import Enterprise
    from app.services import inbox

    app = make_app(database)
    with app.app_context():
        log(f"[{database.kind}] seeding {open_tasks} open tasks")
        fragment = _seed(open_tasks)
        applicant = db.session.scalar(select(Enterprise.name).order_by(Enterprise.id))
        views = {
            "default (due, page 1)": {},
            f"search 办件单号 '{fragment}'": {"q": fragment},
            "search 申请单位": {"q": (applicant or "")[:4]},
            "待签收 + 即将到期": {"status": "unclaimed", "due": "soon"},
            "已超期": {"due": "overdue"},
            "by submission, page 10": {"sort": "submitted", "page": "10"},
        }
        figures: dict[str, Any] = {"views": {}}
        for label, args in views.items():
            times, statements, rows, total = [], [], 0, 0
            for i in range(runs + 3):
                db.session.remove()
                shouli = user("shouli")
                with count_sql(db.engine) as sql:
                    ms, page = timed(lambda u=shouli, a=args: inbox.todo_page(u, inbox.TodoFilters.from_args(a)))
                if i >= 3:
                    times.append(ms)
                    statements.append(len(sql.statements))
                    rows, total = len(page.rows), page.total
            figures["views"][label] = {"times": times, "statements": statements, "rows": rows, "total": total}
        badge = []
        for i in range(runs + 3):
            db.session.remove()
            shouli = user("shouli")
            ms, count = timed(lambda u=shouli: inbox.todo_count(u))
            if i >= 3:
                badge.append(ms)
        figures["badge"] = {"times": badge, "count": count}
        db.session.remove()
        engine = db.engine
    client = app.test_client()
    response = client.post("/login", data={"username": "shouli", "password": "Demo@2026"})
    assert response.status_code == 302, response.status_code
    page_times, page_statements, size = [], [], 0
    for i in range(page_runs + 2):
        with count_sql(engine) as sql:
            ms, response = timed(lambda: client.get("/reviewer/"))
        assert response.status_code == 200, response.status_code
        if i >= 2:
            page_times.append(ms)
            page_statements.append(len(sql.statements))
            size = len(response.data)
    figures["page"] = {"times": page_times, "statements": page_statements, "bytes": size}
    figures["version"] = database.version
    return figures


def _fmt(values: list[float]) -> str:
    return f"{median(values):.1f} / {p95(values):.1f}"


def report(results: dict[str, dict[str, Any]], open_tasks: int) -> None:
    table = Table(results, 26)
    first = next(iter(results.values()))
    for label in first["views"]:
        table.row(f"todo_page {label} ms med/p95", lambda r, k=label: _fmt(r["views"][k]["times"]))
        table.row("    rows / matching / statements", lambda r, k=label: (
            f"{r['views'][k]['rows']} / {r['views'][k]['total']} / {median(r['views'][k]['statements']):.0f}"))
    table.row("todo_count (badge) ms med/p95", lambda r: _fmt(r["badge"]["times"]))
    table.row("    count", lambda r: str(r["badge"]["count"]))
    table.row("GET /reviewer/ ms med/p95", lambda r: _fmt(r["page"]["times"]))
    table.row("    statements / KiB", lambda r: f"{median(r['page']['statements']):.0f} / {r['page']['bytes'] / 1024:.0f}")
    table.row(f"check default ≤ {TARGET_QUERY_MS:.0f} ms", lambda r: (
        "ok" if median(r["views"]["default (due, page 1)"]["times"]) <= TARGET_QUERY_MS else "OVER"))
    table.row(f"check page ≤ {TARGET_PAGE_MS:.0f} ms", lambda r: (
        "ok" if median(r["page"]["times"]) <= TARGET_PAGE_MS else "OVER"))
    print(f"待办 with {open_tasks} open 受理 tasks of 江海区 (shouli)")
    table.print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--open-tasks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--page-runs", type=int, default=15)
    args = parser.parse_args(argv)
    results = each_database(args.db, lambda database: bench(database, args.open_tasks, args.runs, args.page_runs))
    report(results, args.open_tasks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
