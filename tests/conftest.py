"""Runs the suite on the database named by TEST_DB (sqlite | postgres).

PostgreSQL comes from TEST_DATABASE_URL or 127.0.0.1:5432/test; with CI=true an unreachable
PostgreSQL fails the run instead of skipping.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from engine import clock

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("TEST_DB", "sqlite")
MUTABLE_TABLES = ["sms_outbox", "public_notice", "project_progress_year", "project_progress", "post_request", "permit",
                  "notification", "attachment", "upload", "item_case", "declaration", "filing_certificate",
                  "filing_application", "project", "wf_trail", "wf_timer", "wf_human_task", "wf_instance"]


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
    from app.extensions import db
    from app.seed import seed_demo
    from app.services.platform import deploy_processes

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
    clock.reset()


@pytest.fixture
def client(app, ctx):
    return app.test_client()


def login(client, username: str, password: str = "Demo@2026"):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, response.data.decode()
    return client


def advance_days(days: float) -> None:
    clock.advance(timedelta(days=days))
