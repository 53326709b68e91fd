"""The timer drain: workers claim different instances, the longest due first; one run_due_timers call
drains a backlog bigger than the old batch of 100; every timer fires exactly once.

Runs on the database TEST_DB names (see tests/conftest.py). On PostgreSQL the tables live in a schema
of their own in the test database (TEST_DATABASE_URL), dropped afterwards, so the app's schema is not
touched; on SQLite in a file (two workers need two connections) with the app's WAL and busy timeout.
"""
from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, delete, event, func, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.deploy import Bundle, TaskRules, deploy_bundle
from engine.layout import layout
from engine.runtime import Runtime
from engine.scheduler import run_due_timers
from engine.tables import Base, HumanTask, Instance, PendingTimer, TrailEntry

BACKEND = os.environ.get("TEST_DB", "sqlite")
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
needs_row_locks = pytest.mark.skipif(BACKEND != "postgres", reason="row locks: SQLite serialises writers instead")

# start → wait until due_at → a user task: the smallest instance with one timer.
PROBE = layout("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="drain_probe" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>due_at</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after" />
    <bpmn:userTask id="after" name="到期后办理">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formKey" value="f" /><spiffworkflow:property name="candidateRole" value="r" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="e" />
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode())  # with its diagram: deploy refuses one without


def _postgres_engine() -> Iterator:
    try:
        create_engine(PG_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL unreachable at {PG_URL}: {exc}", returncode=3)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    schema = f"timer_drain_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _sqlite_engine() -> Iterator:
    folder = tempfile.mkdtemp(prefix="timer-drain-")
    engine = create_engine(f"sqlite:///{folder}/drain.sqlite", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=20000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def db_engine():
    engines = _postgres_engine() if BACKEND == "postgres" else _sqlite_engine()
    engine = next(engines)
    tables = [Base.metadata.tables[name] for name in
              ("wf_process_version", "wf_process_current", "wf_instance", "wf_human_task", "wf_timer", "wf_trail")]
    Base.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        deploy_bundle(session, Bundle("drain_probe.bpmn", PROBE, []), TaskRules(form_exists=lambda key: True))
        session.commit()
    yield engine
    engines.close()


@pytest.fixture
def drain_runtime(db_engine) -> Iterator[Runtime]:
    yield Runtime()
    clock.reset()
    with Session(db_engine) as session:
        for table in (TrailEntry, PendingTimer, HumanTask, Instance):
            session.execute(delete(table))
        session.commit()


def scope_of(engine):
    @contextmanager
    def scope() -> Iterator[Session]:
        with Session(engine) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    return scope


def start_due(engine, runtime: Runtime, count: int) -> list[int]:
    """`count` instances whose timers fall due 1 h from now, 1 s apart in start order; then the clock
    moves 2 h on, so all are due and the first started has been due longest."""
    base = clock.now() + timedelta(hours=1)
    with Session(engine) as session:
        ids = [runtime.start(session, "drain_probe", {"due_at": (base + timedelta(seconds=n)).isoformat()},
                             "test").instance.id for n in range(count)]
        session.commit()
    clock.advance(timedelta(hours=2))
    return ids


def fired_instances(engine) -> list[int]:
    with Session(engine) as session:
        return list(session.scalars(select(TrailEntry.instance_id).where(TrailEntry.action == "timer")
                                    .order_by(TrailEntry.id)))


def still_due(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(PendingTimer)
                              .where(PendingTimer.due_at <= clock.utcnow_naive()))


class Tally:
    """Stands in for the Runtime in run_due_timers and notes what each call fired."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.fired: list[int] = []  # instances this worker fired
        self.empty = 0  # fire_claimed calls that fired nothing

    def claim_due(self, session, skip=()):  # noqa: ANN001, ANN201
        return self.runtime.claim_due(session, skip)

    def fire_claimed(self, session, row, actor: str = "timer") -> int:  # noqa: ANN001
        fired = self.runtime.fire_claimed(session, row, actor)
        if fired:
            self.fired.append(row.id)
        else:
            self.empty += 1
        return fired


def test_claims_and_lists_the_longest_due_first(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 3)
    with Session(db_engine) as session:  # make the last one the longest due
        session.execute(PendingTimer.__table__.update().where(PendingTimer.instance_id == ids[2])
                        .values(due_at=PendingTimer.due_at - timedelta(minutes=5)))
        session.commit()
    with Session(db_engine) as session:
        assert drain_runtime.due_instances(session) == [ids[2], ids[0], ids[1]]
        assert drain_runtime.claim_due(session).id == ids[2]
        assert drain_runtime.claim_due(session, skip={ids[2]}).id == ids[0]


def test_firing_deletes_the_timer_row_once_and_fires_once(db_engine, drain_runtime):
    [instance_id] = start_due(db_engine, drain_runtime, 1)
    deletes: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        if statement.lstrip().upper().startswith("DELETE FROM WF_TIMER"):
            deletes.append(statement)

    event.listen(db_engine, "before_cursor_execute", on_execute)
    try:
        with Session(db_engine) as session:
            assert drain_runtime.fire_due_timers(session, instance_id) == 1
            session.commit()
    finally:
        event.remove(db_engine, "before_cursor_execute", on_execute)
    assert len(deletes) == 1  # the claim's DELETE; the save does not delete the same row again
    with Session(db_engine) as session:
        assert drain_runtime.fire_due_timers(session, instance_id) == 0
        assert session.scalars(select(PendingTimer)).all() == []
        assert session.scalars(select(HumanTask.bpmn_id)).all() == ["after"]
    assert fired_instances(db_engine) == [instance_id]


@pytest.mark.postgres_only
@needs_row_locks
def test_two_workers_claim_different_instances(db_engine, drain_runtime):
    """Each claim holds its instance until its transaction ends; the other worker takes the next one."""
    ids = start_due(db_engine, drain_runtime, 3)
    with Session(db_engine) as first, Session(db_engine) as second:
        mine = drain_runtime.claim_due(first)
        theirs = drain_runtime.claim_due(second)
        assert (mine.id, theirs.id) == (ids[0], ids[1])
        assert drain_runtime.fire_claimed(second, theirs) == 1
        second.commit()
        assert drain_runtime.claim_due(second).id == ids[2]  # not ids[0]: still held by the first
        second.rollback()
        assert drain_runtime.fire_claimed(first, mine) == 1
        first.commit()
    assert sorted(fired_instances(db_engine)) == ids[:2]


@pytest.mark.postgres_only
@needs_row_locks
def test_a_claim_passes_over_an_instance_a_user_holds(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 2)
    with Session(db_engine) as user:
        drain_runtime.load(user, ids[0])  # e.g. completing a task: the row lock is held until commit
        assert run_due_timers(drain_runtime, scope_of(db_engine)) == 1
        assert fired_instances(db_engine) == [ids[1]]
        user.rollback()
    assert run_due_timers(drain_runtime, scope_of(db_engine)) == 1
    assert sorted(fired_instances(db_engine)) == ids


def test_two_workers_drain_together_each_timer_once(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 120)
    workers = [Tally(drain_runtime) for _ in range(2)]
    errors: list[BaseException] = []

    def work(tally: Tally) -> None:
        try:
            while run_due_timers(tally, scope_of(db_engine)) or still_due(db_engine):
                pass
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    first, second = (set(w.fired) for w in workers)
    assert not first & second and first | second == set(ids)
    assert sorted(fired_instances(db_engine)) == ids  # one trail row each: none twice, none lost
    assert still_due(db_engine) == 0
    if BACKEND == "postgres":
        # Without SKIP LOCKED claims both workers walked the same list and half their calls fired
        # nothing; now only a claim that races the other worker's commit can come back empty.
        assert workers[0].empty + workers[1].empty <= len(ids) // 10


def test_one_call_drains_a_backlog_bigger_than_one_batch(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 250)  # the old loop fired 100 per tick
    assert run_due_timers(drain_runtime, scope_of(db_engine)) == 250
    assert fired_instances(db_engine) == ids  # in due order
    assert still_due(db_engine) == 0


def test_a_spent_budget_ends_the_call_and_the_next_goes_on(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 5)
    assert run_due_timers(drain_runtime, scope_of(db_engine), budget=0) == 1  # at least one per call
    assert fired_instances(db_engine) == ids[:1]
    assert run_due_timers(drain_runtime, scope_of(db_engine)) == 4
    assert fired_instances(db_engine) == ids


def test_a_failing_instance_does_not_stop_the_drain(db_engine, drain_runtime):
    ids = start_due(db_engine, drain_runtime, 4)
    broken = ids[1]

    class Failing(Tally):
        def fire_claimed(self, session, row, actor: str = "timer") -> int:  # noqa: ANN001
            if row.id == broken:
                self.runtime.fire_claimed(session, row, actor)
                raise RuntimeError("listener failed")  # after the timer rows were deleted: rolled back
            return super().fire_claimed(session, row, actor)

    worker = Failing(drain_runtime)
    assert run_due_timers(worker, scope_of(db_engine)) == 3  # tried once, then passed over
    assert sorted(fired_instances(db_engine)) == [i for i in ids if i != broken]
    assert still_due(db_engine) == 1  # its timer is still there for the next tick
    assert run_due_timers(drain_runtime, scope_of(db_engine)) == 1
    assert sorted(fired_instances(db_engine)) == ids
