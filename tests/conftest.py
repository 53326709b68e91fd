"""Runs the suite on the database named by TEST_DB (sqlite | postgres).

PostgreSQL comes from TEST_DATABASE_URL or 127.0.0.1:5432/test; with CI=true an unreachable
PostgreSQL fails the run instead of skipping, and so does a missing command-line tool (`needs_tools`).

Dates: a test that reasons about dates names its moment, `@pytest.mark.clock("2026-03-10 10:00")` (Beijing
time) or `at(...)` inside the test; the platform clock starts there and runs on, and is reset after the
test. A test without one runs at the real date (under `make test-faketime`, at the faked one), which is
how the suite shows the product works on any date.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from engine import clock

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("TEST_DB", "sqlite")
# signin_log: a failed sign-in left behind would make later logins from 127.0.0.1 meet the captcha
MUTABLE_TABLES = ["signin_log", "sms_code", "sms_outbox", "public_notice", "project_progress_year", "project_progress",
                  "post_request", "permit",
                  "notification", "attachment", "upload", "item_case", "declaration", "filing_certificate",
                  "filing_application", "project", "wf_trail", "wf_timer", "wf_human_task", "wf_instance"]


BEIJING = ZoneInfo("Asia/Shanghai")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "clock(moment): start the platform clock at a Beijing moment, "
                                       "'YYYY-MM-DD HH:MM' (see at())")
    config.addinivalue_line("markers", "needs_tools(*commands): command-line tools the test runs; missing, "
                                       "the test skips, or fails with CI=true")


def beijing(moment: str | date | datetime, hour: int = 10) -> datetime:
    """A named moment as an aware datetime: 'YYYY-MM-DD HH:MM' or a date (at `hour`), both Beijing time;
    an aware datetime is taken as it is."""
    if isinstance(moment, str):
        return datetime.fromisoformat(moment).replace(tzinfo=BEIJING)
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a datetime moment must carry its time zone")
        return moment
    return datetime.combine(moment, time(hour), tzinfo=BEIJING)


def at(moment: str | date | datetime, hour: int = 10) -> datetime:
    """Move the platform clock to a named moment (see beijing()); it runs on from there until reset."""
    when = beijing(moment, hour)
    clock.travel_to(when)
    return when


def require_tools(*commands: str) -> None:
    missing = [c for c in commands if shutil.which(c) is None]
    if not missing:
        return
    message = (f"{', '.join(missing)} missing: install the Debian packages (make system-deps: "
               "poppler-utils, zbar-tools)")
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _markers(request) -> Iterator[None]:
    """Applies `needs_tools` and `clock`; the clock is reset after every test, marked or not."""
    tools = request.node.get_closest_marker("needs_tools")
    if tools:
        require_tools(*tools.args)
    pinned = request.node.get_closest_marker("clock")
    if pinned:
        at(pinned.args[0])
    yield
    clock.reset()


def _database_url() -> str:
    if BACKEND != "postgres":
        return f"sqlite:///{tempfile.mkdtemp()}/test.sqlite"
    try:
        create_engine(PG_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL unreachable at {PG_URL}: {exc}", returncode=3)
        pytest.skip(f"PostgreSQL unreachable: {exc}", allow_module_level=True)
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return PG_URL


@pytest.fixture(scope="session")
def app():
    from flask_migrate import upgrade

    from app import create_app
    from app.bootstrap import deploy_processes
    from app.extensions import db
    from app.seed import seed_demo

    flask_app = create_app({"SQLALCHEMY_DATABASE_URI": _database_url(), "TESTING": True,
                            "WTF_CSRF_ENABLED": False, "SCHEDULER_ENABLED": False,
                            "UPLOAD_DIR": tempfile.mkdtemp(prefix="uploads-")})
    with flask_app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
        seed_demo()
        deploy_processes()
        db.session.commit()
    return flask_app


@pytest.fixture
def ctx(app) -> Iterator[None]:
    from app.extensions import db

    with app.app_context():
        yield
        db.session.rollback()
        for table in MUTABLE_TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def client(app, ctx):
    return app.test_client()


def login(client, username: str, password: str = "Demo@2026"):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data.decode()
    return client


def advance_days(days: float) -> None:
    clock.advance(timedelta(days=days))
