"""Authorization of every route, generated from the route map (issue 13's proof; the bar: every route checks who
may do it and on which record — an enterprise never sees another's project, a reviewer only their department's
and region's items).

What is generated: one test per (route, method, identity) from `app.url_map` — every rule, every method it allows
(GET and POST today; HEAD and OPTIONS are Flask's own), for every identity kind in IDENTITIES. A route added
tomorrow is in the next run without anyone listing it; a route whose URL argument this module cannot fill FAILS
and names the argument to add to ARGUMENTS; a route with ids that nobody gets past FAILS too (see NOBODY_REACHES).

The world (authz_world.py) holds every kind of record twice: side A (示范企业 `qiye`, 江海区, 江海区发改局) and side B
(另一企业 `qiye2`, 新会区, 新会区发改局). Each identity has a FOREIGN side (records it must never see or touch) and
maybe an OWN side. For a route with record arguments, each identity calls it
  - with the foreign side's ids: it must be refused (401/403/404, or a redirect to the login page), never a 5xx;
    a GET may instead redirect elsewhere (e.g. "this case is not in your hands" → 待办) if the page it lands on
    shows nothing of the foreign side;
  - with its own side's ids (owners only): never a 5xx — an empty POST may be a 4xx or may legitimately succeed
    (签收, 撤回); authorization, not validation, is the point.
Every 2xx body an identity receives must not contain the markers (project names and codes) of the sides hidden from
it — that catches list pages (待办, 项目列表) that leak, which have no id to substitute.
Platform routes (blueprints in PLATFORM_BLUEPRINTS: process studio, reference tables, catalogue, admin) belong to
the policy and admin roles; everyone else is refused there, whatever the argument.
Anonymous: every route outside PUBLIC (a small set: static files, sign-in, the public 公示/verification pages, and
the registration/account-application pages an anonymous person needs) redirects to login or is 401/403.

POST bodies are empty: an outsider's empty POST must be refused before validation looks at it. CSRF is disabled in
this module's app because the checks are about who may act; test_web_security.py checks CSRF itself.

The world lives in its own database (SQLite file, or a schema of its own on PostgreSQL), built once per module:
owners' empty POSTs may succeed and change it (a 签收, a reference row), which must not leak into other modules
that share the session database.

test_markers_show_on_the_owners_lists proves the markers do show to their owners, so their absence means something.

A hole found here is not fixed in a test: it is listed in KNOWN_HOLES (route, method, identity → reason) and the
case runs as xfail(strict=True), so it shows until product code closes it, and then the stale mark fails the run.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count

import pytest
from flask import has_app_context
from sqlalchemy import create_engine, select, text
from werkzeug.routing import Rule

from tests.conftest import BACKEND, PG_URL

# ---- identities -------------------------------------------------------------------------------------------------
PLATFORM_ROLES = frozenset({"policy", "admin"})  # app.services.studio.STUDIO_ROLES: studio, tables, catalogue, admin


@dataclass(frozen=True)
class Identity:
    username: str | None  # None: anonymous
    foreign: str  # the side whose project records it is given and must be refused
    own: str | None  # the side whose project records it may use (owners: never a 5xx)
    hidden: tuple[str, ...]  # sides whose markers must never appear on its pages
    roles: frozenset[str] = frozenset()
    oversight: bool = False  # policy, supervision, admin: may read every declaration's documents (see OVERSIGHT)
    # account records (ACCOUNT_BLUEPRINTS), whose sides are review regions: J 江门, G 广州 (authz_world.ACCOUNT_SIDES)
    account_foreign: str | None = "J"  # None: every account is in its scope (the system administrator)
    account_own: str | None = None


_APPLICANT = frozenset({"applicant"})
IDENTITIES = {
    "anonymous": Identity(None, "A", None, ("A", "B", "J", "G")),
    "qiye": Identity("qiye", "B", "A", ("B", "J", "G"), _APPLICANT),  # A's legal person
    "qiye2": Identity("qiye2", "A", "B", ("A", "J", "G"), _APPLICANT),  # B's legal person
    "jingban": Identity("jingban", "B", "A", ("B", "J", "G"), _APPLICANT),  # 经办人 of A, all projects
    # 经办人 of A for one project (指定项目): every other record of A is as foreign to it as B's
    "jingban_p": Identity("jingban_p", "A", "S", ("A", "B", "J", "G"), _APPLICANT),
    "shouli": Identity("shouli", "B", "A", ("B", "J", "G"), frozenset({"acceptor"})),  # 江海区发改局
    "banli": Identity("banli", "B", "A", ("B", "J", "G"), frozenset({"handler"})),
    "xh_shouli": Identity("xh_shouli", "A", "B", ("A", "J", "G"), frozenset({"acceptor"})),  # 新会区发改局
    # 部门负责人 of 江海区发改局: sees and 转办s A's reviewer tasks, never B's
    "kezhang": Identity("kezhang", "B", "A", ("B", "J", "G"), frozenset({"dept_head"})),
    "zhengce": Identity("zhengce", "A", None, ("A", "B", "J", "G"), frozenset({"policy"}), oversight=True),
    "jiancha": Identity("jiancha", "A", None, ("A", "B", "J", "G"), frozenset({"supervisor"}), oversight=True),
    # 电子监察 of another city (广州): 江门's records are outside its region (authz_world.OUTSIDE_SUPERVISOR)
    "gz_jiancha": Identity("gz_jiancha", "A", None, ("A", "B", "J", "G"), frozenset({"supervisor"})),
    # 省级管理员: provincial departments' and city administrators' accounts, not a county's
    "sheng_admin": Identity("sheng_admin", "A", None, ("A", "B", "J", "G"), frozenset({"province_admin"})),
    # 市州管理员 of 江门 (A's and B's city) and of 广州: each reviews its own city's accounts only
    "jm_admin": Identity("jm_admin", "A", None, ("A", "B", "G"), frozenset({"city_admin"}), account_foreign="G",
                         account_own="J"),
    "gz_admin": Identity("gz_admin", "A", None, ("A", "B", "J"), frozenset({"city_admin"}), account_own="G"),
    "admin": Identity("admin", "A", None, ("A", "B"), frozenset({"admin"}), oversight=True, account_foreign=None,
                      account_own="J"),
}

# ---- routes -----------------------------------------------------------------------------------------------------
# Reachable without signing in, by design. Keep it tiny: each entry is a page the public or a not-yet-user needs.
PUBLIC_BLUEPRINTS = {"public"}  # 公示 and certificate verification (000 §4): the law publishes them
PUBLIC_ENDPOINTS = {
    "static",  # css/js
    "home",  # the landing page: it sends a visitor to sign in
    # signing in (002 §2.1): password with its captcha image, SMS code, a province's CA / unified-identity providers
    "auth.login", "auth.captcha", "auth.sms_send", "auth.provider_start", "auth.provider_callback",
    "auth.reset_password", "auth.reset_send",  # a forgotten password is reset by SMS code, signed out
    "registration.register", "registration.send_code",  # an applicant registers with an SMS code (000 §1)
    # a department user applies for an account and follows the request, before having one (002 §1)
    "staff.apply", "staff.apply_code", "staff.apply_items", "staff.applied", "staff.status",
}
# The process studio, reference tables, catalogue and admin pages: policy and admin staff only.
PLATFORM_BLUEPRINTS = {"admin", "catalogue", "studio", "reference"}
# Reviewer accounts, account requests and the organisation: their records are accounts, scoped by review region.
ACCOUNT_BLUEPRINTS = {"staff"}
# Where policy, supervision and admin staff of A's and B's city (the `oversight` identities) see every unit's records,
# by design; the same staff of another city must not (gz_jiancha; found here as F1, F2, closed by
# access.oversight_regions):
OVERSIGHT = {
    # any declaration's documents (documents.readable_declaration, OVERSIGHT_ROLES)
    "declarations.download", "declarations.view", "declarations.decision_pdf", "declarations.notice_pdf",
    "supervision.overview",  # the city-wide 电子监察 overview
    "supervision.export", "supervision.item_case", "supervision.filing",  # its export and read-only case views
    "admin.sms_outbox",  # the development SMS outbox (admin only): every message the platform sent
}

Value = Callable[[dict, Rule], object]


def _ids(key: str) -> Value:
    return lambda ids, rule: ids[key]


def _task(ids: dict, rule: Rule) -> object:
    # on an item case's page the task is that case's; elsewhere, the side's open 变更 受理 task
    return ids["case_task"] if "case_id" in rule.arguments else ids["request_task"]


def _project(ids: dict, rule: Rule) -> object:
    # declarations start on an 审批 project; everything else on the filed one
    return ids.get("approval_project", ids["project"]) if rule.endpoint.startswith("declarations.") else ids["project"]


def _code(ids: dict, rule: Rule) -> object:
    return ids["project_code"] if rule.endpoint.startswith("public.") else ids["item_code"]


def _number(ids: dict, rule: Rule) -> object:
    return ids["permit_number"] if rule.endpoint.startswith("public.") else 1  # a process version


def _instance(ids: dict, rule: Rule) -> object:
    return ids["progress_instance"] if rule.endpoint.startswith("permits.") else ids["instance"]


def _key(ids: dict, rule: Rule) -> object:
    if rule.endpoint.startswith("auth."):
        return "ca"  # a sign-in provider (none is configured here: 404 for everyone)
    return "C3484" if rule.endpoint.startswith("reference.") else "filing"  # an industry row / a process key


def _request_id(ids: dict, rule: Rule) -> object:
    # an account request in the staff pages, a 变更/延期 request elsewhere
    return ids["account_request"] if rule.endpoint.split(".")[0] in ACCOUNT_BLUEPRINTS else ids["request"]


def _rule_id(ids: dict, rule: Rule) -> object:
    return ids["policy_rule"] if rule.endpoint.startswith("admin.") else ids["item_rule"]


# URL argument name → its value on a side. Add a name here when a route brings a new one (the test says which).
ARGUMENTS: dict[str, Value] = {
    "project_id": _project,
    "application_id": _ids("application"),
    "certificate_id": _ids("certificate"),
    "permit_id": _ids("permit"),
    "request_id": _request_id,
    "index": lambda ids, rule: 0,  # the request's first attached file
    "declaration_id": _ids("declaration"),
    "attachment_id": _ids("attachment"),
    "item_code": _ids("item_code"),
    "case_id": _ids("case"),
    "task_id": _task,
    "note_id": _ids("note"),
    "instance_id": _instance,
    "code": _code,
    "number": _number,
    "grant_id": _ids("grant"),  # a legal person's authorisation of a 经办人
    "user_id": _ids("user"),  # an account (ACCOUNT_BLUEPRINTS)
    "which": lambda ids, rule: "licence",  # which of one's own scans (营业执照 / 身份证): no record id
    # platform configuration (PLATFORM_BLUEPRINTS): the same value on every side
    "area": lambda ids, rule: "industries",
    "key": _key,
    "filename": lambda ids, rule: "filing.bpmn",
    "rule_id": _rule_id,
}

# Holes found by this test, open until product code closes them: (endpoint, method, identity) → finding.
# Details and suggested fixes: /tmp/s18/authz_findings.md (copied into the lead's report).
KNOWN_HOLES: dict[tuple[str, str, str], str] = {}  # none open: F1 and F2 are closed


def _route_map() -> list[Rule]:
    from app import create_app

    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "SCHEDULER_ENABLED": False})
    return sorted(probe.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def _cases() -> Iterator:
    # GETs first, then POSTs with owners last: an owner's empty POST may succeed (a 签收, a deletion) and the
    # refusals of everyone else are checked on the untouched world first.
    rules = _route_map()
    order = sorted(((method, name, rule) for rule in rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
                    for name in IDENTITIES),
                   key=lambda c: (c[0] != "GET", any(_sides(IDENTITIES[c[1]], c[2].endpoint)[1:])))
    for method, name, rule in order:
        case_id = f"{rule.endpoint}|{rule.rule}|{method}|{name}"
        hole = KNOWN_HOLES.get((rule.endpoint, method, name))
        marks = [pytest.mark.xfail(strict=True, reason=hole)] if hole else []
        yield pytest.param(rule.rule, rule.endpoint, method, name, id=case_id, marks=marks)


# ---- the world --------------------------------------------------------------------------------------------------
WORLD_SCHEMA = "authz_world"


def _world_url() -> str:
    if BACKEND != "postgres":
        return f"sqlite:///{tempfile.mkdtemp()}/authz.sqlite"
    try:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {WORLD_SCHEMA} CASCADE; CREATE SCHEMA {WORLD_SCHEMA}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL unreachable at {PG_URL}: {exc}", returncode=3)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{WORLD_SCHEMA}"


@dataclass
class World:
    app: object
    ids: dict[str, dict]  # side → the values its records give URL arguments
    markers: dict[str, list[str]]
    rules: dict[tuple[str, str], Rule]
    users: dict[str, dict]  # username → the account's state as built (see _heal)
    grants: dict[int, dict]  # 经办 authorisations as built
    clients: dict[str, object] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)  # the session generation each client signed in at
    addresses: Iterator[str] = field(default_factory=lambda: (f"10.13.{n // 250}.{n % 250 + 1}" for n in count()))
    ran: set[str] = field(default_factory=set)  # case ids run so far
    reached: set[tuple[str, str, str]] = field(default_factory=set)  # (rule, endpoint, method) someone got past


USER_STATE = ("active", "cancelled_at", "enterprise_id", "must_change_password", "password_hash", "phone",
              "realname_level", "department_id")
GRANT_STATE = ("revoked_at", "revoked_by", "expires_at", "scope", "project_ids")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from flask_migrate import upgrade

    from app import create_app
    from app.bootstrap import deploy_processes
    from app.extensions import db
    from app.models import AgentAuthorization, PolicyRuleRow, User
    from app.seed import seed_demo
    from tests.integration.authz_world import build_world

    app = create_app({"SQLALCHEMY_DATABASE_URI": _world_url(), "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SCHEDULER_ENABLED": False, "UPLOAD_DIR": tempfile.mkdtemp(prefix="authz-uploads-")})
    with app.app_context():
        upgrade()
        seed_demo()
        deploy_processes()
        db.session.commit()
        records = build_world(app.test_client())
        policy_rule = db.session.scalar(select(PolicyRuleRow.id).order_by(PolicyRuleRow.id))
        # an item rule lives in the decision table (a DMN rule id), none is in a draft: any id says "not found"
        ids = {side: {**r.ids, "policy_rule": policy_rule, "item_rule": "rule_0"} for side, r in records.items()}
        # the 指定项目 经办人's own side: its one project, nothing else
        scoped = records["A"].ids["scoped_project"]
        ids["S"] = {"project": scoped, "approval_project": scoped}
        users = {u.username: {a: getattr(u, a) for a in USER_STATE}
                 for u in db.session.scalars(select(User)).unique()}
        grants = {g.id: {a: getattr(g, a) for a in GRANT_STATE} for g in db.session.scalars(select(AgentAuthorization))}
        world = World(app, ids, {side: r.markers for side, r in records.items()},
                      {(r.rule, r.endpoint): r for r in app.url_map.iter_rules()}, users, grants)
        db.session.remove()
    # No application context stays pushed while the cases run: a request made inside one reuses it, with its `g`,
    # where flask-login caches the signed-in user — one identity's request would then run as another's.
    for name in IDENTITIES:
        _fresh_client(world, name)
    yield world
    with app.app_context():
        db.engine.dispose()


def _fresh_client(world: World, name: str) -> None:
    """A new browser for the identity, signed in from an address of its own: empty POSTs to the sign-in routes
    count failures per address (captcha, lockout) and must not stop the next sign-in."""
    client = world.app.test_client()
    client.environ_base["REMOTE_ADDR"] = next(world.addresses)
    username = IDENTITIES[name].username
    if username:
        response = client.post("/login", data={"username": username, "password": "Demo@2026"})
        assert response.status_code == 302, f"{username} cannot sign in: {response.status_code}"
        world.generations[name] = _generation(world, username)
    world.clients[name] = client


def _generation(world: World, username: str) -> int:
    from app.extensions import db
    from app.models import User

    with world.app.app_context():
        return db.session.scalar(select(User.session_generation).where(User.username == username))


def _heal(world: World, name: str) -> None:
    """Undo what an earlier case's empty POST may legitimately have done to the accounts (a 经办人 stops acting for
    the enterprise, a legal person revokes a grant, a sign-out), so every case starts from the world as built."""
    from app.extensions import db
    from app.models import AgentAuthorization, User

    with world.app.app_context():
        changed = False
        for user in db.session.scalars(select(User).where(User.username.in_(list(world.users)))).unique():
            for attribute, value in world.users[user.username].items():
                if getattr(user, attribute) != value:
                    setattr(user, attribute, value)
                    changed = True
        for grant in db.session.scalars(select(AgentAuthorization)
                                        .where(AgentAuthorization.id.in_(list(world.grants)))):
            for attribute, value in world.grants[grant.id].items():
                if getattr(grant, attribute) != value:
                    setattr(grant, attribute, value)
                    changed = True
        if changed:
            db.session.commit()
    username = IDENTITIES[name].username
    if username and _generation(world, username) != world.generations[name]:
        _fresh_client(world, name)


def _to_login(response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308) and \
        response.headers.get("Location", "").split("?")[0].endswith("/login")


def _blueprint(endpoint: str) -> str:
    return endpoint.split(".")[0]


def _public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or _blueprint(endpoint) in PUBLIC_BLUEPRINTS


def _url(world: World, rule: Rule, side: str) -> str | None:
    """The rule's URL with each argument filled from `side`; None when the side has no such record (the
    指定项目 经办人's side has projects only)."""
    values = {}
    for name in sorted(rule.arguments - set(rule.defaults or {})):
        if name not in ARGUMENTS:
            pytest.fail(f"route {rule.rule} ({rule.endpoint}) takes <{name}>, which the generated authorization test "
                        f"cannot fill: add \"{name}\" to ARGUMENTS in {__file__} with the record it names on each side "
                        "(and, if it is a new kind of record, build one per side in authz_world.py)", pytrace=False)
        try:
            values[name] = ARGUMENTS[name](world.ids[side], rule)
        except KeyError:
            return None
    if rule.endpoint == "static":
        values["filename"] = "site.css"
    with world.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


AUTHZ_LOG = os.environ.get("AUTHZ_LOG")  # a file: one line per request (endpoint, method, identity, status), to review


def _request(world: World, name: str, method: str, url: str, rule: Rule, kind: str):
    response = world.clients[name].open(url, method=method)
    if AUTHZ_LOG:
        with open(AUTHZ_LOG, "a", encoding="utf-8") as log:
            log.write(f"{rule.endpoint}\t{method}\t{name}\t{kind}\t{_status(response)}\n")
    if not _refused(response) and response.status_code < 500:
        world.reached.add((rule.rule, rule.endpoint, method))
    if IDENTITIES[name].username and _to_login(response):
        # a route that ends the session (sign-out, 注销): sign in again for the next case; this response is judged
        _fresh_client(world, name)
    return response


def _shown(world: World, name: str, endpoint: str, response) -> list[str]:
    """Markers of sides hidden from the identity that a 2xx body shows."""
    identity = IDENTITIES[name]
    if not 200 <= response.status_code < 300 or _public(endpoint):
        return []
    if identity.oversight and endpoint in OVERSIGHT:
        return []
    body = response.get_data(as_text=True) if response.mimetype.startswith("text/") or response.is_json else ""
    return [m for side in identity.hidden for m in world.markers[side] if m in body]


def _status(response) -> str:
    location = response.headers.get("Location")
    return f"{response.status_code} → {location}" if location else str(response.status_code)


def _refused(response) -> bool:
    return response.status_code in (401, 403, 404) or _to_login(response)


def _sides(identity: Identity, endpoint: str) -> tuple[str | None, str | None]:
    """(foreign, own) for the route's kind of record; foreign None: every record of the kind is in its scope."""
    if _blueprint(endpoint) in ACCOUNT_BLUEPRINTS:
        return identity.account_foreign, identity.account_own
    return identity.foreign, identity.own


CASES = list(_cases())


@pytest.mark.parametrize(("path", "endpoint", "method", "name"), CASES)
def test_route_refuses_who_may_not(world: World, path: str, endpoint: str, method: str, name: str) -> None:
    rule = world.rules.get((path, endpoint))
    if rule is None:  # collected from the route map before a blueprint changed under a running session
        pytest.fail(f"{endpoint} {path} is not in the app's route map any more")
    if has_app_context():  # see world(): requests made inside a pushed context share its signed-in user
        pytest.fail("an application context is pushed around the authorization cases")
    world.ran.add(f"{endpoint}|{path}|{method}|{name}")
    identity = IDENTITIES[name]
    platform = _blueprint(endpoint) in PLATFORM_BLUEPRINTS
    foreign, own = _sides(identity, endpoint)
    has_ids = bool(rule.arguments - set(rule.defaults or {})) and not platform and endpoint != "static"
    problems: list[str] = []
    _heal(world, name)
    # 1. a record it must not touch: refused (platform routes: refused unless policy/admin)
    url = _url(world, rule, foreign or own or "A")
    assert url is not None
    response = _request(world, name, method, url, rule, "foreign" if has_ids and foreign else "call")
    where = f"{method} {url} as {name}"
    if response.status_code >= 500:
        problems.append(f"{where}: {response.status_code}")
    elif identity.username is None and not _public(endpoint):
        if not (_to_login(response) or response.status_code in (401, 403)):
            problems.append(f"{where}: anonymous got {_status(response)}, not a redirect to sign in")
    elif platform and not identity.roles & PLATFORM_ROLES:
        if not _refused(response):
            problems.append(f"{where}: a platform page served to a non-platform user ({_status(response)})")
    elif has_ids and foreign and not _public(endpoint) and not (identity.oversight and endpoint in OVERSIGHT):
        if method == "GET" and response.status_code in (302, 303):
            landed = world.clients[name].get(response.headers["Location"])
            if landed.status_code >= 500 or _shown(world, name, endpoint, landed):
                problems.append(f"{where}: redirected to {response.headers['Location']}, which shows the record")
        elif not _refused(response):
            problems.append(f"{where}: another unit's record answered {_status(response)}, not refused")
    shown = _shown(world, name, endpoint, response)
    if shown:
        problems.append(f"{where}: the page shows {shown}, which {name} must not see")

    # 2. its own record: never a 5xx, and its pages still show nothing hidden from it
    if has_ids and own:
        own_url = _url(world, rule, own)
        if own_url is not None and own_url != url:
            _heal(world, name)
            response = _request(world, name, method, own_url, rule, "own")
            if response.status_code >= 500:
                problems.append(f"{method} {own_url} as {name} (own record): {response.status_code}")
            shown = _shown(world, name, endpoint, response)
            if shown:
                problems.append(f"{method} {own_url} as {name} (own record): the page shows {shown}")
    assert not problems, "\n".join(problems)


# Id-bearing routes no identity gets past in this world, and why. Any other such route must be reached by someone
# (an owner, an oversight user): a route whose argument name this module fills with the wrong kind of record (a
# new blueprint reusing "request_id" for something else) would otherwise be refused to everyone and pass unseen.
NOBODY_REACHES = {
    "declarations.notice_pdf": "no declaration of the world is 办结 (every item of it decided), so no 办结告知书 exists",
    "registration.scan": "the seeded enterprises have no uploaded 营业执照/身份证 scans (they did not come by /register)",
}
def test_every_route_with_ids_is_reached_by_someone(world: World) -> None:
    if len(world.ran) < len(CASES):
        pytest.skip("only meaningful after every generated case ran (not under -k)")
    unreached = sorted(f"{method} {rule.rule} ({rule.endpoint})" for rule in world.rules.values()
                       for method in rule.methods - {"HEAD", "OPTIONS"}
                       if rule.arguments - set(rule.defaults or {}) and rule.endpoint != "static"
                       and not _public(rule.endpoint) and _blueprint(rule.endpoint) not in PLATFORM_BLUEPRINTS
                       and rule.endpoint not in NOBODY_REACHES
                       and (rule.rule, rule.endpoint, method) not in world.reached)
    assert not unreached, ("refused to every identity, so its argument table may name the wrong record (see "
                           "ARGUMENTS) or the world lacks an owner for it (authz_world.py):\n" + "\n".join(unreached))


# Owners do see their own side's markers on their lists, so a marker missing from an outsider's page means
# something (a page that stopped printing project names would make every marker check pass vacuously).
OWN_LISTS = [("qiye", "/enterprise/", "A"), ("qiye2", "/enterprise/", "B"), ("jingban", "/enterprise/", "A"),
             ("shouli", "/reviewer/", "A"), ("xh_shouli", "/reviewer/", "B"), ("jm_admin", "/staff/requests", "J"),
             ("gz_admin", "/staff/requests", "G"), ("jm_admin", "/admin/signins", "J")]


@pytest.mark.parametrize(("name", "url", "side"), OWN_LISTS, ids=[f"{n}{u}" for n, u, _ in OWN_LISTS])
def test_markers_show_on_the_owners_lists(world: World, name: str, url: str, side: str) -> None:
    _heal(world, name)
    body = world.clients[name].get(url).get_data(as_text=True)
    assert any(marker in body for marker in world.markers[side]), f"{name} sees none of side {side}'s markers on {url}"
