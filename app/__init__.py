"""投资项目在线审批监管平台 — application factory."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .config import load_config
from .extensions import csrf, db, login_manager, migrate, session_scope


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(load_config(overrides))
    logging.basicConfig(level=logging.INFO)
    if app.config["PROXY_HOPS"] > 0:  # request.remote_addr is then the client's address the proxy saw
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],  # type: ignore[method-assign]
                                x_proto=app.config["PROXY_HOPS"])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a 0.5 s job would flood the log
    from . import models  # noqa: F401  (register tables)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    _sqlite_pragmas(app)

    from .bootstrap import wire
    from .web import register

    wire(app)
    register(app)
    _register_cli(app)
    if app.config["SCHEDULER_ENABLED"]:
        start_timer_loop(app)
    return app


_BUSY_PAGE = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>系统繁忙</title></head>'
              '<body><h1>系统繁忙</h1><p>系统繁忙，请稍后重试（本次操作未保存）。</p><p><a href="/">回到首页</a></p>'
              '</body></html>')


def _sqlite_pragmas(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            # pysqlite opens a (deferred) transaction only at the first INSERT/UPDATE/DELETE: the reads
            # before it see no lock, so "no open filing for this project? then create one" ran twice for
            # two tabs at once; and a deferred transaction that read before writing fails at once with
            # "database is locked" (no busy wait) when another connection wrote in between. We open every
            # transaction ourselves as BEGIN IMMEDIATE (SQLAlchemy's pysqlite recipe): SQLite's one write
            # lock is taken up front, so transactions run one after the other, a second waiting up to
            # busy_timeout for its turn. Cost: read-only requests wait their turn too (README, SQLite).
            dbapi_connection.isolation_level = None

        @event.listens_for(db.engine, "begin")
        def _on_begin(connection) -> None:  # noqa: ANN001
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @app.errorhandler(OperationalError)
    def _busy(exc: OperationalError):
        # A turn not given within busy_timeout: say so rather than a 500 (nothing was written).
        if "database is locked" not in str(exc):
            raise exc
        db.session.rollback()
        # A bare page: templates' context processors read the database, which is still busy.
        return Response(_BUSY_PAGE, 503, {"Retry-After": "2"}, content_type="text/html; charset=utf-8")


@contextmanager
def _scope(app: Flask) -> Iterator[Session]:
    """session_scope in an app context of its own (the scheduler's thread has none), the session removed after."""
    with app.app_context():
        try:
            with session_scope() as session:
                yield session
        finally:
            db.session.remove()


def start_timer_loop(app: Flask):
    from engine.scheduler import run_due_timers, start_scheduler

    from .services.platform import runtime

    def tick() -> None:
        run_due_timers(runtime(), lambda: _scope(app))

    app.extensions["timer_scheduler"] = start_scheduler(tick, app.config["SCHEDULER_INTERVAL"])
    return app.extensions["timer_scheduler"]


def _register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--empty", is_flag=True,
                  help="只建参考数据和示范账号，不建示范案例（空的项目和待办列表）")
    def seed_demo_command(empty: bool) -> None:
        """Reference tables, demo accounts, deployed diagrams and, unless --empty, sample cases in every
        state (app/seed/samples.py). Idempotent: a second run adds nothing."""
        import time

        from .bootstrap import deploy_processes
        from .seed import seed_demo

        began = time.monotonic()
        seed_demo()
        for line in deploy_processes():
            click.echo(f"已部署 {line}")
        db.session.commit()
        if not empty:
            from .seed.samples import seed_samples

            report = seed_samples(click.echo)
            click.echo(f"示范案例：新建 {len(report.made)} 个，已有 {len(report.skipped)} 个，"
                       f"补触发到期定时器 {report.timers} 个")
        click.echo(f"示范数据已就绪（用时 {time.monotonic() - began:.1f} 秒）")

    @app.cli.command("deploy")
    def deploy_command() -> None:
        """Deploy processes/*.bpmn (unchanged files make no new version)."""
        from .bootstrap import deploy_processes

        for line in deploy_processes():
            click.echo(f"已部署 {line}")
        db.session.commit()
