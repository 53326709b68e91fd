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
(s3) designer JavaScript per page: the designer is split into chunks loaded when a page needs them, so the
     figure is what chromium actually fetched (JS and CSS bytes, and gzip -6 of them: what a proxy with compression
     would send) opening the BPMN designer, the decision-table designer and a read-only version page, each in a
     fresh browser context (an empty cache) against the SQLite app; then every built file. Run `make frontend` first.
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
    if database.url.startswith("sqlite"):
        result["weights"] = _page_weights(app)
    return result


PAGES = {"BPMN designer (filing.bpmn)": ("/studio/files/filing.bpmn", "studioModeler"),
         "DMN designer (item_determination)": ("/studio/files/item_determination.dmn", "studioModeler"),
         "version page (filing v1)": ("/studio/processes/filing/versions/1", "studioViewer")}


def _page_weights(app) -> dict[str, tuple[int, int, int]] | None:
    """Per page: (files, bytes, gzip bytes) of the scripts and stylesheets chromium fetched; None without chromium."""
    import threading

    from werkzeug.serving import make_server

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path("/usr/bin/chromium").exists():
        return None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    weights = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            for label, (path, ready) in PAGES.items():
                context = browser.new_context(bypass_csp=True)  # for wait_for_function only
                page = context.new_page()
                page.goto(base + "/login")
                page.fill("#username", "zhengce")
                page.fill("#password", "Demo@2026")
                page.click("button[type=submit]")
                fetched: list[bytes] = []
                page.on("response", lambda r, fetched=fetched: fetched.append(r.body()) if r.status == 200 and
                        r.request.resource_type in ("script", "stylesheet") and "/static/" in r.url else None)
                page.goto(base + path)
                page.wait_for_function(f"window.{ready}")
                page.wait_for_load_state("networkidle")
                weights[label] = (len(fetched), sum(map(len, fetched)), sum(len(gzip.compress(b, 6)) for b in fetched))
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return weights


def _sizes() -> list[tuple[str, int, int]]:
    build = ROOT / "app" / "web" / "static" / "build"
    return [(str(p.relative_to(build)), p.stat().st_size, len(gzip.compress(p.read_bytes(), 6)))
            for p in sorted([*build.glob("studio-*.js"), *build.glob("studio-*.css"), *build.glob("chunks/*.js")])]


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
    if "sqlite" in results:
        weights = results["sqlite"]["weights"]
        if weights is None:
            print("(s3) no chromium/playwright: page weights not measured", file=sys.stderr)
        for label, (files, raw, packed) in (weights or {}).items():
            print(f"(s3) {label:34} {files:>3} files {raw:>10,} bytes  gzip {packed:>9,} bytes")
    for name, raw, packed in sizes:
        print(f"(s3) {name:34} {raw:>10,} bytes  gzip {packed:>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
