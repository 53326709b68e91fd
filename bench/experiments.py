"""What-ifs behind the proposals in the benchmark report, each measured against the current code:

1. state without the spec: store only the instance part, take the spec from the SpecCache by version;
2. loop stubs removed: prune also drops merged, finished iterations of a standard loop from the tree;
3. inbox order index at 100,000 open tasks (built in the throwaway `bench` database or SQLite file only).

`python -m bench.experiments [--db sqlite|postgres] [--open-tasks 100000] [--rounds 100]`. Prototypes use
SpiffWorkflow's converter internals; they show the size of the gain, they are not the implementation.
"""
from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any
from uuid import UUID

from sqlalchemy import text

from .common import count_sql, make_app, median, p95, postgres_database, sqlite_database, timed, user
from .run_all import _complete_in_memory, _explain, _looped_filing, _seed_open_tasks, quiet_migrations, submitted_filings

PROPOSED_INDEX = ("CREATE INDEX ix_bench_inbox_order ON wf_human_task "
                  "(candidate_role, department_id, region_code, (due_at IS NULL), due_at, id)")


def _slim_codec(spec: Any, subprocess_specs: Any):
    """(dump, load) of a workflow without `spec` and `subprocess_specs` in the JSON."""
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.runtime import SERIALIZER

    registry = SERIALIZER.registry
    converter = registry.convert_to_dict[registry.typenames[BpmnWorkflow]].args[1].__self__

    def dump(workflow: BpmnWorkflow) -> str:
        registry._encoder_mode = True
        try:
            dct = SERIALIZER.to_dict(workflow)
            dct.pop("spec")
            dct.pop("subprocess_specs")
            dct[SERIALIZER.VERSION_KEY] = SERIALIZER.VERSION
            return json.dumps(dct, cls=SERIALIZER._encoder_cls)
        finally:
            registry._encoder_mode = False

    def load(state: str) -> BpmnWorkflow:
        dct = json.loads(state, cls=SERIALIZER.json_decoder_cls)
        SERIALIZER.migrate(dct)
        workflow = BpmnWorkflow(spec, subprocess_specs, deserializing=True)
        workflow.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        converter.set_default_attributes(workflow, dct)
        converter.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = registry.restore(dct.pop("bpmn_events", []))
        return workflow

    return dump, load


def spec_less_state(runs: int) -> None:
    from SpiffWorkflow.util.task import TaskState

    from app.extensions import db
    from app.services.platform import runtime, task_form_data
    from engine.deploy import latest_version
    from engine.runtime import SERIALIZER, Runtime
    from engine.sandbox import collect_events
    from engine.tables import HumanTask, Instance

    _, instance_id, human_id = submitted_filings(1)[0]
    state = db.session.get(Instance, instance_id).state
    task_uuid = uuid.UUID(db.session.get(HumanTask, human_id).task_id)
    data = task_form_data("filing_accept", {"decision": "accept"})
    spec, subprocess_specs = runtime().specs.get(latest_version(db.session, "filing"))
    dump, load = _slim_codec(spec, subprocess_specs)
    slim = dump(SERIALIZER.deserialize_json(state))
    engine = runtime().script_engine

    def once() -> str:
        workflow = load(slim)
        workflow.script_engine = engine
        task = workflow.get_task_from_id(task_uuid)
        task.set_data(**data)
        with collect_events():
            task.run()
            workflow.do_engine_steps()
        Runtime.prune(workflow)
        assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["review"]
        return dump(workflow)

    current = _complete_in_memory(state, task_uuid, data, runs)["phases"]["total"]
    slim_times = [timed(once)[0] for _ in range(runs + 5)][5:]
    print(f"1. state without spec: {len(state.encode())} → {len(slim.encode())} bytes; in-memory completion "
          f"{median(current):.2f} / {p95(current):.2f} → {median(slim_times):.2f} / {p95(slim_times):.2f} ms med/p95")


def loop_stubs_removed(rounds: int, runs: int) -> None:
    from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import StandardLoopTask
    from SpiffWorkflow.util.task import TaskState

    from app.extensions import db
    from app.services.platform import runtime, task_form_data
    from engine.runtime import SERIALIZER
    from engine.tables import HumanTask, Instance

    instance_id, human_id = _looped_filing(rounds)
    state = db.session.get(Instance, instance_id).state
    task_uuid = uuid.UUID(db.session.get(HumanTask, human_id).task_id)
    data = task_form_data("filing_accept", {"decision": "accept"})
    workflow = SERIALIZER.deserialize_json(state)
    workflow.script_engine = runtime().script_engine
    removed = 0
    for loop in workflow.get_tasks(spec_class=StandardLoopTask):
        merged = set(loop.internal_data.get("merged", []))
        for child in list(loop.children):
            if str(child.id) in merged and child.state == TaskState.COMPLETED and not child.children:
                loop._children.remove(child.id)
                del workflow.tasks[child.id]
                removed += 1
    pruned = SERIALIZER.serialize_json(workflow)
    current = _complete_in_memory(state, task_uuid, data, runs)["phases"]["total"]
    after = _complete_in_memory(pruned, task_uuid, data, runs)["phases"]["total"]
    print(f"2. after {rounds} 补正 rounds, {removed} iteration stubs removed: {len(state.encode())} → "
          f"{len(pruned.encode())} bytes; in-memory completion {median(current):.2f} / {p95(current):.2f} → "
          f"{median(after):.2f} / {p95(after):.2f} ms med/p95")


def inbox_index(database, open_tasks: int, runs: int) -> None:  # noqa: ANN001
    from app.extensions import db
    from app.services import inbox

    _seed_open_tasks(open_tasks)

    def measure(label: str) -> None:
        if database.kind == "postgres":
            db.session.execute(text("ANALYZE wf_human_task"))
            db.session.commit()
        times = []
        for _ in range(runs):
            db.session.remove()
            shouli = user("shouli")
            with count_sql(db.engine) as sql:
                ms, rows = timed(lambda u=shouli: inbox.todo(u))
            times.append(ms)
        print(f"3. inbox.todo with {open_tasks} open tasks, {label}: {median(times):.2f} / {p95(times):.2f} ms "
              f"med/p95, {len(rows)} rows")
        for line in _explain(database, sql.statements[0], sql.parameters[0]):
            print("     " + line)

    measure("current indexes")
    db.session.execute(text(PROPOSED_INDEX))
    db.session.commit()
    measure("with the proposed index")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--open-tasks", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args(argv)
    database = postgres_database() if args.db == "postgres" else sqlite_database()
    try:
        with quiet_migrations():
            app = make_app(database)
        print(f"[{database.version}]")
        from app.extensions import db

        with app.app_context():
            spec_less_state(args.runs)
            loop_stubs_removed(args.rounds, max(50, args.runs // 2))
            inbox_index(database, args.open_tasks, 30)
            db.engine.dispose()
    finally:
        database.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
