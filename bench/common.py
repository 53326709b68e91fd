"""Shared pieces of the benchmarks: databases, the app, fresh filings, statistics, SQL counting."""
from __future__ import annotations

import logging
import os
import platform as py_platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
JIANGHAI = "江门市江海区发展和改革局"
JIANGHAI_REGION = "440704"
PASSWORD = "Demo@2026"


# ---------------------------------------------------------------- statistics
def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000.0, result


# ---------------------------------------------------------------- databases
@dataclass
class Database:
    kind: str  # sqlite | postgres
    url: str
    version: str
    cleanup: Callable[[], None] = field(default=lambda: None)


def sqlite_database() -> Database:
    import sqlite3

    folder = tempfile.mkdtemp(prefix="bench-")
    return Database("sqlite", f"sqlite:///{folder}/bench.sqlite", f"SQLite {sqlite3.sqlite_version} (WAL, {_fs(folder)})",
                    lambda: shutil.rmtree(folder, ignore_errors=True))


def _fs(folder: str) -> str:
    """The file system type under `folder` (tmpfs makes commits look cheaper than on disk)."""
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) > 2 and folder.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def postgres_database(url: str = PG_URL) -> Database:
    """Our own database `bench` (never the test suite's `test`): created if missing, schema reset."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        version = conn.scalar(text("SHOW server_version"))
    engine.dispose()
    return Database("postgres", url, f"PostgreSQL {version.split()[0]}")


def postgres_reachable(url: str = PG_URL) -> str | None:
    """None if reachable, else the reason."""
    try:
        engine = create_engine(make_url(url).set(database="postgres"))
        engine.connect().close()
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


def machine_info() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    except OSError:
        pass
    from importlib.metadata import version

    import sqlalchemy

    return (f"{os.cpu_count()} cores ({cpu}), Python {py_platform.python_version()} on {sys.platform}, "
            f"SpiffWorkflow {version('SpiffWorkflow')}, SQLAlchemy {sqlalchemy.__version__}, load {load()}")


def load() -> str:
    """1-minute load average: other work on a shared machine shows up in every figure."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


# ---------------------------------------------------------------- the app
def quiet_logs() -> None:
    for name in ("apscheduler", "apscheduler.scheduler", "apscheduler.executors.default", "werkzeug",
                 "alembic", "alembic.runtime.migration", "engine", "app"):
        logging.getLogger(name).setLevel(logging.WARNING)


def make_app(database: Database, config: dict[str, Any] | None = None):
    """A fresh app on a fresh schema: migrations, demo seed, deployed diagrams. `config`: extra settings
    (e.g. SQLALCHEMY_ENGINE_OPTIONS with a larger pool for threads)."""
    from flask_migrate import upgrade

    from app import bootstrap, create_app
    from app.extensions import db
    from app.seed import seed_demo
    from engine import clock

    clock.reset()
    bootstrap._runtime = None  # one Runtime (spec cache by version id) per database
    app = create_app({"SQLALCHEMY_DATABASE_URI": database.url, "WTF_CSRF_ENABLED": False,
                      "SCHEDULER_ENABLED": False, "TESTING": True, **(config or {})})
    quiet_logs()
    with app.app_context():
        upgrade()
        seed_demo()
        bootstrap.deploy_processes()
        db.session.commit()
    quiet_logs()  # alembic's fileConfig may have reset levels
    return app


def user(username: str):
    from app.extensions import db
    from app.models import User

    return db.session.scalar(select(User).where(User.username == username))


def department_id(name: str = JIANGHAI) -> int:
    from app.extensions import db
    from app.models import Department

    return db.session.scalar(select(Department.id).where(Department.name == name))


# ---------------------------------------------------------------- fresh filings (service layer, no HTTP)
def _forms() -> tuple[Callable[..., dict], Callable[..., dict]]:
    """The integration tests' valid forms, kept in step with forms/*.yaml; a local copy if tests/ is absent."""
    try:
        from tests.integration.helpers import code_form, filing_form

        return code_form, filing_form
    except ImportError:
        return _code_form, _filing_form


def _code_form(**overrides: str) -> dict[str, str]:
    from app.services.calendar import today

    start = today() + timedelta(days=30)
    return {"unit_uscc": "91430300MA4RTM5T6H", "name": "江海区精密零部件数控化改造项目", "type_code": "02",
            "industry_code": "C3484", "catalogue_code": "", "nature": "技术改造", "region_code": JIANGHAI_REGION,
            "address": "明辉路35号2栋", "scale_content": "购置数控加工中心20台，改造生产线2条",
            "planned_start": start.isoformat(), "planned_end": (start + timedelta(days=365)).isoformat(),
            "total_investment": "1000", **overrides}


def _filing_form(code: str, **overrides: str) -> dict[str, str]:
    from app.services.calendar import today

    start = today() + timedelta(days=30)
    return {"authority_id": "", "project_code": code, "nature": "技术改造", "industry_code": "C3484",
            "catalogue_code": "", "scale_content": "购置数控加工中心20台", "jobs_construction": "30",
            "jobs_operation": "50", "capital_category": "other", "capital": "300", "annual_plan": "600",
            "total_investment": "1000", "civil_investment": "200", "equipment_investment": "700",
            "import_fx": "0", "own_funds": "400", "domestic_loans": "500", "securities": "0", "other_funds": "100",
            "planned_start": start.isoformat(), "planned_end": (start + timedelta(days=365)).isoformat(),
            "contact_name": "张经办", "contact_phone": "13800138000", **overrides}


def submitted_filings(count: int) -> list[tuple[int, int, int]]:
    """`count` filings waiting for 受理: [(application_id, instance_id, accept human_task_id)]."""
    from app.extensions import db
    from app.services import filing, projects
    from engine.tables import HumanTask

    code_form, filing_form = _forms()
    applicant = user("qiye")
    authority = str(department_id())
    result = []
    for _ in range(count):
        project = projects.apply_for_code(applicant, code_form(unit_uscc=applicant.enterprise.uscc))
        application = filing.submit(applicant, filing_form(project.code, authority_id=authority))
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == application.instance_id,
                                                               HumanTask.bpmn_id == "accept"))
        result.append((application.id, application.instance_id, task_id))
    return result


# ---------------------------------------------------------------- SQL counting
@dataclass
class SqlCount:
    """What ran on an engine while count_sql listened, from every thread of this process.

    keep=True keeps each statement and its parameters in order (`statements`, `parameters`: one
    service call); keep=False only tallies statements by text (`by_text`: a drain of 100,000 statements
    over several threads, without holding every parameter set). `count`, `by_text`, the commits and the
    timings are kept in both modes."""

    keep: bool = True
    statements: list[str] = field(default_factory=list)
    parameters: list[Any] = field(default_factory=list)
    by_text: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    execute_ms: float = 0.0  # time inside cursor.execute (the database's share, commit excluded); summed over threads
    commit_ms: float = 0.0  # from the connection's COMMIT to the session's after_commit
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _commit_started: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @property
    def count(self) -> int:
        return sum(self.by_text.values())

    def summary(self) -> str:
        """First words of each statement, e.g. 'SELECT app_user, UPDATE wf_instance' (keep=True)."""
        return ", ".join(_short(s) for s in self.statements)

    def totals(self) -> dict[str, Any]:
        """The tally without the lock, to send from a forked process."""
        return {"by_text": Counter(self.by_text), "commits": self.commits, "execute_ms": self.execute_ms,
                "commit_ms": self.commit_ms}


def _short(sql: str) -> str:
    words = sql.split()
    verb = words[0].upper() if words else "?"
    table = "?"
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in (w.upper() for w in words):
            index = [w.upper() for w in words].index(keyword)
            if index + 1 < len(words):
                table = words[index + 1].strip('"')
                break
    return f"{verb} {table}"


@contextmanager
def count_sql(engine, keep: bool = True) -> Iterator[SqlCount]:  # noqa: ANN001
    """Count statements (when sent), time inside cursor.execute, commits and commit time on `engine`,
    thread-safely (per-connection and per-thread timers, one lock for the totals)."""
    counter = SqlCount(keep=keep)

    def on_execute(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        with counter._lock:
            counter.by_text[statement] += 1
            if keep:
                counter.statements.append(statement)
                counter.parameters.append(parameters)
        conn.info["bench_started"] = time.perf_counter()

    def on_executed(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        started = conn.info.pop("bench_started", None)
        if started is not None:
            elapsed = (time.perf_counter() - started) * 1000.0
            with counter._lock:
                counter.execute_ms += elapsed

    def on_commit(conn):  # noqa: ANN001, ARG001
        with counter._lock:
            counter.commits += 1
        counter._commit_started.at = time.perf_counter()

    def on_session_commit(session):  # noqa: ANN001, ARG001
        started = getattr(counter._commit_started, "at", None)
        if started is not None:
            counter._commit_started.at = None
            elapsed = (time.perf_counter() - started) * 1000.0
            with counter._lock:
                counter.commit_ms += elapsed

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "after_cursor_execute", on_executed)
    event.listen(engine, "commit", on_commit)
    event.listen(Session, "after_commit", on_session_commit)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "after_cursor_execute", on_executed)
        event.remove(engine, "commit", on_commit)
        event.remove(Session, "after_commit", on_session_commit)


def each_database(which: str, run: Callable[[Database], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run one benchmark on a fresh SQLite file and/or a fresh PostgreSQL database; prints the machine line."""
    kinds = ["sqlite", "postgres"] if which == "both" else [which]
    header = machine_info()
    versions = []
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        if kind == "postgres":
            reason = postgres_reachable()
            if reason:
                print(f"PostgreSQL skipped: {reason}")
                continue
            database = postgres_database()
        else:
            database = sqlite_database()
        versions.append(database.version)
        try:
            results[kind] = run(database)
        finally:
            database.cleanup()
    print(f"machine: {header} (at start), {load()} (at end); {', '.join(versions)}")
    return results


class Table:
    """The figures table both benchmark scripts print: one column per database, one row per figure."""

    def __init__(self, results: dict[str, dict[str, Any]], width: int) -> None:
        self.results, self.kinds, self.width = results, list(results), width
        self.rows: list[tuple[str, list[str]]] = []

    def row(self, label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        self.rows.append((label, [fn(self.results[k]) for k in self.kinds]))

    def print(self) -> None:
        label_width = max(len(label) for label, _ in self.rows) + 2
        print(f"{'':{label_width}}" + "".join(f"{k:>{self.width}}" for k in self.kinds))
        print(f"{'':{label_width}}" + "".join(f"{self.results[k]['version']:>{self.width}}" for k in self.kinds))
        for label, cells in self.rows:
            print(f"{label:{label_width}}" + "".join(f"{c:>{self.width}}" for c in cells))
