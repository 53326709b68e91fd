"""Web security of the pages (issue 11 §2, defects 5, 7 and 8): where login sends the browser, the headers every
response carries, and that logout really ends the session."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import User
from tests.conftest import login

PASSWORD = "Demo@2026"
TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"


# --- defect 5: open redirect after login -------------------------------------------------------------------------

# Raw query strings, as an attacker writes them in a link; each one must land on the home page ("/").
FOREIGN_TARGETS = [
    "//evil.example/",
    "///evil.example/",
    "////evil.example/",
    "/%09/evil.example/",        # the probe's case: the tab is dropped by the browser -> //evil.example/
    "/%0A/evil.example/",
    "/%0D%0A/evil.example/",
    "%09//evil.example/",
    "/%5Cevil.example/",         # backslash: browsers read /\ as //
    "%5C%5Cevil.example/",
    "/%5C/evil.example/",
    "%5C/evil.example/",
    "/%2F/evil.example/",        # decoded once by the server to ///evil.example/
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example/",
    "//user:pw@evil.example/",
    "//qiye@evil.example",
    "%20//evil.example/",
    "javascript:alert(1)",
    "JavaScript%3Aalert(1)",
    "%09javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",               # relative, not a path from the root
    "https://localhost/reviewer/",  # absolute even on our host: only a path is accepted
]


def _login_with_next(client, raw_query: str, username: str = "qiye"):
    return client.post(f"/login?next={raw_query}", data={"username": username, "password": PASSWORD})


@pytest.mark.parametrize("raw", FOREIGN_TARGETS)
def test_login_never_redirects_off_site(client, raw):
    response = _login_with_next(client, raw)
    assert response.status_code == 302
    assert response.headers["Location"] == "/", (raw, response.headers["Location"])


@pytest.mark.parametrize("target", ["/reviewer/", "/reviewer/done?page=2", "/public/notices?q=%E5%A4%87%E6%A1%88#list"])
def test_login_still_follows_a_path_on_this_site(client, target):
    response = client.post("/login", query_string={"next": target}, data={"username": "shouli", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", ["/\x00/evil.example/", "/\x0b/evil.example", "/\x0c/evil.example",
                                    "/\x7f/evil.example", "\\\\evil.example", "/ /evil.example", "", "/\u3000"])
def test_targets_with_control_characters_spaces_or_backslashes_are_refused_whole(target):
    """What the request guard lets through (e.g. U+0000 is refused earlier with a 422) is still checked here."""
    from app.web.auth import local_target

    assert local_target(target) is None


def test_the_login_page_of_a_protected_page_brings_the_user_back(client):
    to_login = client.get("/reviewer/")
    assert to_login.status_code == 302 and to_login.headers["Location"].startswith("/login?next=")
    response = client.post(to_login.headers["Location"], data={"username": "shouli", "password": PASSWORD})
    assert response.headers["Location"] == "/reviewer/"


# --- defect 7: security headers ----------------------------------------------------------------------------------

def _csp(response) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def test_every_page_carries_the_security_headers(client):
    for url in ("/", "/login", "/public/notices", "/no-such-page"):
        response = client.get(url)
        csp = _csp(response)
        assert csp.get("script-src") == "'self'", (url, csp)
        assert csp.get("frame-ancestors") == "'none'"
        assert csp.get("object-src") == "'none'"
        assert "unsafe-inline" not in csp.get("style-src", "unsafe-inline")
        assert response.headers.get("X-Frame-Options") == "DENY"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
        assert response.headers.get("Referrer-Policy") == "same-origin"
        assert "Strict-Transport-Security" not in response.headers  # only in production


def test_signed_in_pages_and_their_pdfs_are_not_stored(client):
    from app.models import FilingCertificate
    from tests.integration.lifecycle_helpers import issued_permit

    login(client, "qiye")
    for url in ("/enterprise/", "/tasks/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response.headers.get("Cache-Control", ""), url
    issued_permit(client)  # ends signed in as qiye
    certificate = db.session.query(FilingCertificate).order_by(FilingCertificate.id.desc()).first()
    pdf = client.get(f"/enterprise/certificates/{certificate.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "no-store" in pdf.headers.get("Cache-Control", "")
    assert pdf.headers.get("X-Content-Type-Options") == "nosniff"


def test_the_login_form_is_not_stored_and_public_pages_may_be(app):
    anonymous = app.test_client()  # no shared app context: flask-wtf's g.csrf_token is this request's alone
    assert "no-store" in anonymous.get("/login").headers.get("Cache-Control", "")  # it carries a CSRF token
    assert "no-store" not in anonymous.get("/public/notices").headers.get("Cache-Control", "")


def test_static_files_stay_cacheable(client):
    login(client, "qiye")
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()


def test_hsts_only_in_production(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    response = client.get("/")
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=31536000")


def test_no_template_needs_inline_script_or_style():
    """script-src 'self' and style-src 'self' block these; each page's scripts live in app/web/static/."""
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"javascript:", r"<style", r"\sstyle\s*="):
            for match in re.finditer(pattern, text, re.IGNORECASE):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)!r}")
    assert offenders == []


# --- defect 8: logout ends the session ---------------------------------------------------------------------------

@pytest.fixture
def browser(app):
    """Clients whose requests each run in their own app context, as in production. (Under the ctx fixture every
    request shares one app context, so flask-login's cached g._login_user would carry the user from one request, and
    one client, to the next and hide what the cookie alone does.)"""
    return app.test_client


def _generation(app, username: str) -> int:
    with app.app_context():
        return db.session.query(User.session_generation).filter_by(username=username).scalar()


def test_a_copied_session_cookie_is_dead_after_logout(browser):
    victim = browser()
    login(victim, "qiye")
    copied = victim.get_cookie("session").value
    thief = browser()
    thief.set_cookie("session", copied)
    assert thief.get("/enterprise/").status_code == 200  # the copy works while the victim is signed in

    assert victim.post("/logout").status_code == 302
    response = thief.get("/enterprise/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert thief.get("/").status_code == 200  # the anonymous home page; a signed-in applicant is sent to 我的项目
    assert victim.get("/enterprise/").status_code == 302


def test_logout_ends_the_users_other_sessions_and_a_new_login_works(browser, app):
    first, second, staff = browser(), browser(), browser()
    login(first, "qiye")
    login(second, "qiye")
    login(staff, "shouli")
    before = _generation(app, "qiye")
    first.post("/logout")
    assert _generation(app, "qiye") == before + 1
    assert second.get("/enterprise/").status_code == 302  # 退出 ends every session of that user
    assert staff.get("/reviewer/").status_code == 200  # another user's sessions are untouched
    login(second, "qiye")
    assert second.get("/enterprise/").status_code == 200


def _csrf_token(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.data.decode()).group(1)


def test_a_csrf_token_from_before_login_is_refused_after_it(browser, app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = browser()
    before = _csrf_token(client.get("/login"))
    response = client.post("/login", data={"username": "qiye", "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    refused = client.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400 and "CSRF" in refused.data.decode()
    assert client.get("/enterprise/").status_code == 200  # still signed in: the refused post did nothing
    after = _csrf_token(client.get("/enterprise/"))
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302
    # nor does the signed-in session's token outlive the logout
    fresh = _csrf_token(client.get("/login"))
    assert client.post("/login", data={"username": "qiye", "password": PASSWORD, "csrf_token": after}).status_code == 400
    assert client.post("/login", data={"username": "qiye", "password": PASSWORD, "csrf_token": fresh}).status_code == 302
