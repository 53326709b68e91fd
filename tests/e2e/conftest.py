"""Browser tests: a live server with CSRF on, driven by Debian's chromium through Playwright.

The live server always uses its own fresh SQLite file, whatever TEST_DB says. tests.conftest._database_url()
drops the PostgreSQL public schema, which would pull the database from under the session-scoped `app` fixture
when both run in one pytest session; the browser flow does not depend on the backend (the integration tests
cover PostgreSQL).

Chromium comes from apt (`make system-deps`), never from `playwright install`. Without /usr/bin/chromium the
browser tests are skipped, except with CI=true, where that is a failure.
"""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/e2e-shots")
# The machine has no internet: these flags keep chromium from trying to reach Google's services.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (make system-deps, or apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class LiveServer:
    def __init__(self, url: str, errors: list[BaseException], app: Any):
        self.url = url
        self.errors = errors  # exceptions raised inside request handling, checked after each test
        self.app = app  # for tests that set up or put back data through the services


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    from flask import got_request_exception
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app
    from app.bootstrap import deploy_processes
    from app.extensions import db
    from app.seed import seed_demo

    _require_chromium()
    workdir = tempfile.mkdtemp(prefix="e2e-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/e2e.sqlite", "SCHEDULER_ENABLED": False,
                      "SECRET_KEY": secrets.token_hex(16), "WTF_CSRF_ENABLED": True,
                      "UPLOAD_DIR": f"{workdir}/uploads"})
    with app.app_context():
        upgrade()
        seed_demo()
        deploy_processes()
        db.session.commit()
        db.session.remove()

    errors: list[BaseException] = []

    def record(sender, exception, **extra):  # noqa: ANN001
        errors.append(exception)

    got_request_exception.connect(record, app, weak=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = url
    with serving(server, app, workdir):
        yield LiveServer(url, errors, app)


@contextmanager
def serving(server: Any, app: Any, workdir: str) -> Iterator[None]:
    """Run `server` in a thread for the block; afterwards stop it, close the app's database and remove workdir."""
    from app.extensions import db

    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server: LiveServer):
    context = browser.new_context(base_url=live_server.url, accept_downloads=True, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)  # a loaded 2-core CI machine takes more than the default 5 s at times
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    live_server.errors.clear()
    try:
        yield page
    finally:
        context.close()
    assert not live_server.errors, f"server raised during the test: {live_server.errors!r}"
    # 4xx responses on purpose (a 422 form) log "Failed to load resource"; anything else is a script error.
    script_errors = [e for e in console_errors if "Failed to load resource" not in e]
    assert not script_errors, f"browser console errors: {script_errors}"


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
