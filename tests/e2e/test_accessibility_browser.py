"""Accessibility basics (issue 14): every page a person can reach by clicking passes axe-core (npm, WCAG 2 A/AA and
best practice) with no serious or critical violation.

Not a hand-written list of pages: for each kind of user the test starts at the home page of a platform seeded with
the sample cases in every state (app/seed/samples.py) and follows the links it finds, so a new page is covered
without anyone remembering to add it. Links that differ only in their record ids count once (one 备案 page stands
for all of them). axe is injected from node_modules/axe-core, so the context bypasses the page's CSP for that one
script; the pages themselves are unchanged.
"""
from __future__ import annotations

import re
import secrets
import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.e2e.conftest import _require_chromium, serving

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "Demo@2026"
# who signs in (None: a visitor) → pages per person at most (the crawl is breadth-first from the home page)
PEOPLE = {None: 8, "qiye": 25, "shouli": 12, "banli": 8, "sfg_shouli": 15, "zhengce": 20, "jiancha": 8,
          "jm_admin": 8, "kezhang": 5, "admin": 10}
SKIP = re.compile(r"/logout|/download|\.pdf$|/pdf\b|/file\b|/attachments/\d+$|/preview|/export|\.csv$|/captcha|"
                  r"/static/|/login/with/")
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def populated() -> Iterator[str]:
    """A live server of its own, seeded with the sample cases (the shared one holds accounts only)."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from app import create_app
    from app.bootstrap import deploy_processes
    from app.extensions import db
    from app.seed import seed_demo
    from app.seed.samples import seed_samples

    _require_chromium()
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make frontend` (axe-core is in package.json)", pytrace=False)
    workdir = tempfile.mkdtemp(prefix="axe-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/axe.sqlite", "SCHEDULER_ENABLED": False,
                      "SECRET_KEY": secrets.token_hex(16), "WTF_CSRF_ENABLED": True,
                      "UPLOAD_DIR": f"{workdir}/uploads"})
    with app.app_context():
        upgrade()
        seed_demo()
        deploy_processes()
        db.session.commit()
        seed_samples()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with serving(server, app, workdir):
        yield f"http://127.0.0.1:{server.server_port}"


def _shape(path: str) -> str:
    """A path with its record ids folded: /enterprise/projects/12 and /enterprise/projects/7 are one page."""
    return re.sub(r"/\d+(?=/|$)", "/N", path)


def _crawl(browser, base: str, who: str | None, limit: int) -> tuple[list[str], list[str]]:
    """(pages checked, violations as readable lines)."""
    context = browser.new_context(base_url=base, bypass_csp=True, locale="zh-CN", timezone_id="Asia/Shanghai",
                                   viewport={"width": 1366, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    script = AXE.read_text(encoding="utf-8")
    try:
        if who:
            page.goto("/login")
            page.fill("#username", who)
            page.fill("#password", PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_load_state()
        queue, seen, checked, found = deque(["/"]), {_shape("/")}, [], []
        while queue and len(checked) < limit:
            path = queue.popleft()
            head = context.request.get(path, max_redirects=5)
            if head.status >= 400 or "text/html" not in head.headers.get("content-type", ""):
                continue
            page.goto(path)
            page.wait_for_load_state()
            current = urlsplit(page.url).path
            if current.startswith("/login") and who:
                continue  # signed out somewhere: not a page of this person
            checked.append(current)
            page.add_script_tag(content=script)
            violations = page.evaluate("""async () => {
                const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']});
                return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }""")
            for v in violations:
                if v["impact"] in SERIOUS:
                    found.append(f"{who or '访客'} {current}: {v['id']} ({v['impact']}) {v['help']} @ {v['where']}")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))"):
                target = urlsplit(urljoin(base + current, href))
                if target.netloc != urlsplit(base).netloc or SKIP.search(target.path):
                    continue
                link = target.path + (f"?{target.query}" if target.query else "")
                if _shape(link) not in seen:
                    seen.add(_shape(link))
                    queue.append(link)
        return checked, found
    finally:
        context.close()


def test_every_reachable_page_passes_axe(populated, browser):
    checked_all: list[str] = []
    problems: list[str] = []
    for who, limit in PEOPLE.items():
        checked, found = _crawl(browser, populated, who, limit)
        assert len(checked) >= min(limit, 3), f"{who}: only {checked} reached"
        checked_all += [f"{who or '访客'} {p}" for p in checked]
        problems += found
    print(f"\naxe-core checked {len(checked_all)} pages")
    assert not problems, "axe-core serious/critical violations:\n" + "\n".join(problems)
