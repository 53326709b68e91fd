"""The studio's figures: deploy time of the largest bundle, the version page with 50 versions, the designer's
JavaScript size.

`python -m bench.studio [--db sqlite|postgres|both] [--versions 50] [--runs 20]`

(s1) deploy: the largest bundle in processes/ (by bytes: the BPMN and every file it calls) through
     `engine.deploy.deploy_bundle` with the application's rules (`bootstrap.task_rules()`: forms, roles and the
     case-kind contract), a one-character change each run so every run stores a new version; validate only
     (`validate_bundle`) apart. Median and p95 over `--runs`, milliseconds.
(s2) version page: `--versions` versions of filing are deployed (each a one-character change), then
     `GET /studio/processes/filing` as zhengce through the test client (`--runs` times, one session per request),
     with its SQL statements counted; and `GET /studio/processes`.
(s3) designer JavaScript and CSS: bytes of app/web/static/build/studio-*.{js,css} as served, and gzip -6 of each
     (what a proxy with compression would send). Run `make frontend` first.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path
from typing import Any

from bench.common import Table, count_sql, each_database, make_app, median, p95, timed

ROOT = Path(__file__).resolve().parents[1]


def _largest_bundle():
    from engine.deploy import bundles_from_dir

    bundles = bundles_from_dir(ROOT / "processes")
    return max(bundles, key=lambda b: len(b.bpmn) + sum(len(c) for _, c in b.includes))


def _changed(bundle, n: int):
    from engine.deploy import Bundle

    marker = b"</bpmn:definitions>"
    return Bundle(bundle.filename, bundle.bpmn.replace(marker, f"<!-- bench {n} -->".encode() + marker, 1),
                  bundle.includes)


def run(database, versions: int, runs: int) -> dict[str, Any]:
    from app import bootstrap
    from app.extensions import db
    from engine.deploy import bundles_from_dir, deploy_bundle, validate_bundle

    app = make_app(database)
    result: dict[str, Any] = {"version": database.version}
    with app.app_context():
        rules = bootstrap.task_rules()
        bundle = _largest_bundle()
        result["bundle"] = f"{bundle.filename} + {len(bundle.includes)} files, " \
                           f"{(len(bundle.bpmn) + sum(len(c) for _, c in bundle.includes)) // 1024} KiB"
        validate_times = [timed(lambda: validate_bundle(bundle, rules))[0] for _ in range(runs)]
        deploy_times = []
        for n in range(runs):
            ms, _ = timed(lambda n=n: (deploy_bundle(db.session, _changed(bundle, n), rules, "bench", reason="bench"),
                                       db.session.commit()))
            deploy_times.append(ms)
        result.update(validate=validate_times, deploy=deploy_times)
        filing = next(b for b in bundles_from_dir(ROOT / "processes") if b.filename == "filing.bpmn")
        for n in range(versions - 1):
            deploy_bundle(db.session, _changed(filing, n), rules, "bench", reason=f"第{n + 2}版")
        db.session.commit()
        db.session.remove()
        engine = db.engine
    client = app.test_client()
    client.post("/login", data={"username": "zhengce", "password": "Demo@2026"})
    page_times, statements = [], []
    for _ in range(runs):
        with count_sql(engine) as counted:
            ms, response = timed(lambda: client.get("/studio/processes/filing"))
        assert response.status_code == 200 and response.data.count(b'id="version-') >= versions
        page_times.append(ms)
        statements.append(counted.count)
    list_times = [timed(lambda: client.get("/studio/processes"))[0] for _ in range(runs)]
    result.update(page=page_times, statements=statements, listing=list_times, versions=versions)
    return result


def _sizes() -> list[tuple[str, int, int]]:
    build = ROOT / "app" / "web" / "static" / "build"
    return [(p.name, p.stat().st_size, len(gzip.compress(p.read_bytes(), 6)))
            for p in sorted([*build.glob("studio-*.js"), *build.glob("studio-*.css")])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    results = each_database(args.db, lambda database: run(database, args.versions, args.runs))
    if results:
        table = Table(results, 26)
        table.row("(s1) largest bundle", lambda r: r["bundle"][:24])
        table.row("(s1) validate median / p95 ms", lambda r: f"{median(r['validate']):.1f} / {p95(r['validate']):.1f}")
        table.row("(s1) deploy median / p95 ms", lambda r: f"{median(r['deploy']):.1f} / {p95(r['deploy']):.1f}")
        table.row("(s2) versions page median / p95 ms", lambda r: f"{median(r['page']):.1f} / {p95(r['page']):.1f}")
        table.row("(s2) versions page statements", lambda r: f"{median(r['statements']):.0f}")
        table.row("(s2) processes page median ms", lambda r: f"{median(r['listing']):.1f}")
        table.print()
        print(f"(s1) {next(iter(results.values()))['bundle']}; (s2) {args.versions} versions of filing")
    sizes = _sizes()
    if not sizes:
        print("(s3) app/web/static/build is empty: run `make frontend`", file=sys.stderr)
        return 1
    for name, raw, packed in sizes:
        print(f"(s3) {name:20} {raw:>10,} bytes  gzip {packed:>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
