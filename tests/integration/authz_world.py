"""The world the route-map authorization test (test_route_authz.py) runs against: every kind of record twice,
once per side, built through the real routes and services.

Side "A": 示范企业 (legal person `qiye`), projects in 江海区, handled by 江海区发改局 (`shouli`, `banli`).
Side "B": 另一企业 (legal person `qiye2`), projects in 新会区, handled by 新会区发改局 (`xh_shouli`, `xh_banli`).

Per side: a filing project whose certificate is issued (a permit, its certificate, its progress instance), a change
request on that permit with an attached file (its 受理 task stays open: the side's reviewer task), and an 审批 project
declared with materials (a declaration, its 项目建议书 case in the side's 发改局, that case's open task, an
attachment). Side A also has a project `A-scoped`, the only one a second 经办人 (`jingban_p`, 指定项目) may act on,
so every other record of A is foreign to that agent while belonging to the same enterprise.

Each project has a distinctive name (the side's marker): a page refused or not must never show the name of a record
foreign to the identity that asked.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AgentAuthorization,
    Attachment,
    Declaration,
    Department,
    Enterprise,
    HumanTask,
    ItemCase,
    Notification,
    Permit,
    PostRequest,
    Project,
    User,
    UserRole,
)
from app.services.calendar import today
from engine import clock
from tests.integration.approval_helpers import FOUR_ITEMS, pdf_bytes, upload_required

PASSWORD = "Demo@2026"
SCOPED_AGENT = "jingban_p"


@dataclass
class SideSpec:
    legal: str  # the enterprise's legal-person account
    uscc: str
    region_code: str
    authority: str  # the 发改局 that files its projects and handles its 项目建议书
    acceptor: str
    handler: str
    tag: str  # makes the side's project names unique


SIDES = {
    "A": SideSpec("qiye", "91430300MA4RTM5T6H", "440704", "江门市江海区发展和改革局", "shouli", "banli", "甲"),
    "B": SideSpec("qiye2", "91440300MA5DC0G84E", "440705", "江门市新会区发展和改革局", "xh_shouli", "xh_banli", "乙"),
}


@dataclass
class Records:
    """One side's ids, by what they are; `markers` are texts only pages about this side's records show."""

    ids: dict[str, object] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)


def _login(client, username: str) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, f"{username}: {response.status_code}"


def _code(client, spec: SideSpec, kind: str, name: str) -> Project:
    start = today() + timedelta(days=30)
    form = {"unit_uscc": spec.uscc, "kind": kind, "name": name, "type_code": "02" if kind == "filing" else "01",
            "industry_code": "C3484", "catalogue_code": "", "nature": "技术改造" if kind == "filing" else "新建",
            "region_code": spec.region_code, "address": "授权测试路1号", "scale_content": "购置数控加工中心20台",
            "planned_start": start.isoformat(), "planned_end": (start + timedelta(days=365)).isoformat(),
            "total_investment": "1000" if kind == "filing" else "50000", "step": "confirm"}
    response = client.post("/enterprise/code/new", data=form)
    assert response.status_code == 302, response.data.decode()[:2000]
    return db.session.scalars(select(Project).where(Project.name == name)).one()


def _filing(client, spec: SideSpec, code: str) -> int:
    from tests.integration.helpers import filing_form

    authority = db.session.scalar(select(Department.id).where(Department.name == spec.authority))
    response = client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=str(authority)),
                                                             "action": "submit"})
    assert response.status_code == 302, response.data.decode()[:2000]
    return int(re.search(r"/filings/(\d+)", response.headers["Location"]).group(1))


def _reviewer_step(client, username: str, instance_id: int, bpmn_id: str, data: dict) -> None:
    _login(client, username)
    db.session.expire_all()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.bpmn_id == bpmn_id)).one()
    assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    response = client.post(f"/reviewer/tasks/{task.id}/complete", data=data)
    assert response.status_code == 302, response.data.decode()[:2000]


def _issued_permit(client, spec: SideSpec, name: str) -> tuple[Project, int, int, Permit]:
    """The legal person files a project and the side's 发改局 issues the certificate."""
    from app.models import FilingApplication

    _login(client, spec.legal)
    filed = _code(client, spec, "filing", name)
    application_id = _filing(client, spec, filed.code)
    instance_id = db.session.get(FilingApplication, application_id).instance_id
    _reviewer_step(client, spec.acceptor, instance_id, "accept", {"decision": "accept"})
    _reviewer_step(client, spec.handler, instance_id, "review", {"decision": "pass"})
    _reviewer_step(client, spec.handler, instance_id, "issue", {"confirm": "on"})
    db.session.expire_all()
    return filed, application_id, instance_id, db.session.scalars(select(Permit).where(
        Permit.project_id == filed.id)).one()


def _change(client, spec: SideSpec, permit: Permit, scale: str) -> PostRequest:
    """A change request with one attached file, waiting for the side's acceptor."""
    _login(client, spec.legal)
    response = client.post(f"/enterprise/permits/{permit.id}/change", data={
        "change_scale_content": "on", "scale_content": scale, "reason": "市场需求扩大",
        "files": (io.BytesIO(pdf_bytes("change")), "变更说明.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.expire_all()
    return db.session.scalars(select(PostRequest).where(PostRequest.permit_id == permit.id)
                              .order_by(PostRequest.id.desc())).first()


def _declared(client, spec: SideSpec, name: str) -> tuple[Project, Declaration]:
    """An 审批 project declared with its materials; its 项目建议书 goes to the side's 发改局."""
    _login(client, spec.legal)
    project = _code(client, spec, "approval", name)
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    assert response.status_code == 302, response.data.decode()[:2000]
    declaration_id = int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))
    assert client.post(f"/enterprise/declarations/{declaration_id}/answers", data=FOUR_ITEMS).status_code == 302
    upload_required(client, declaration_id)
    response = client.post(f"/enterprise/declarations/{declaration_id}/submit", data={"action": "submit",
                                                                                      "pledge": "on"})
    assert response.status_code == 302, response.data.decode()[:2000]
    db.session.expire_all()
    return project, db.session.get(Declaration, declaration_id)


def _proposal(declaration: Declaration) -> tuple[ItemCase, HumanTask | None]:
    db.session.expire_all()
    case = db.session.scalars(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                     ItemCase.item_code == "proposal")).one()
    task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == declaration.instance_id,
                                                      HumanTask.scope == "proposal")).first()
    return case, task


def _approve_proposal(client, spec: SideSpec, declaration: Declaration) -> None:
    """受理, 审查 and 批复 of the 项目建议书 by the side's reviewers: its decision document exists."""
    for username, data in ((spec.acceptor, {"decision": "accept", "code_verified": "on"}),
                           (spec.handler, {"decision": "decide", "opinion": "材料齐全，符合要求"}),
                           (spec.handler, {"result": "approve", "doc_number": f"授权测试〔2026〕{declaration.id}号",
                                           "doc_title": "关于项目建议书的批复", "opinion": "同意。"})):
        _login(client, username)
        case, task = _proposal(declaration)
        if task.assignee is None:
            assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
        response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete", data=data)
        assert response.status_code == 302, response.data.decode()[:2000]


def build_side(client, side: str) -> Records:
    spec = SIDES[side]
    out = Records()
    names = {key: f"授权测试{spec.tag}方{label}项目" for key, label in
             (("filing", "备案"), ("approval", "审批"), ("open", "在办"), ("scoped", "指定"))}

    # a filed project: permit, certificate, progress instance; a change request issued (its 变更函 and file exist),
    # then a second one waiting for the side's acceptor (the side's open reviewer task)
    filed, application_id, instance_id, permit = _issued_permit(client, spec, names["filing"])
    request_ = _change(client, spec, permit, "购置数控加工中心30台")
    _reviewer_step(client, spec.acceptor, request_.instance_id, "accept", {"decision": "accept"})
    _reviewer_step(client, spec.handler, request_.instance_id, "review", {"decision": "pass"})
    _reviewer_step(client, spec.handler, request_.instance_id, "issue", {"confirm": "on", "opinion": "同意变更"})
    waiting = _change(client, spec, permit, "购置数控加工中心40台")
    request_task = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == waiting.instance_id)).one()

    # two 审批 projects: one whose 项目建议书 is approved (its decision document exists), one still open there
    approval, declaration = _declared(client, spec, names["approval"])
    _approve_proposal(client, spec, declaration)
    open_project, open_declaration = _declared(client, spec, names["open"])
    case, case_task = _proposal(open_declaration)
    assert db.session.get(Department, case.department_id).name == spec.authority
    _login(client, spec.acceptor)  # claimed: its acceptor may complete it (an empty form: 422), nobody else
    assert client.post(f"/reviewer/tasks/{case_task.id}/claim").status_code == 302
    attachment = db.session.scalars(select(Attachment).where(Attachment.declaration_id == declaration.id)).first()
    declaration_id = declaration.id

    legal = db.session.scalar(select(User).where(User.username == spec.legal))
    note = db.session.scalars(select(Notification).where(Notification.user_id == legal.id)
                              .order_by(Notification.id.desc())).first()
    out.ids.update(
        project=filed.id, approval_project=approval.id, application=application_id,
        certificate=permit.certificate_id, permit=permit.id, permit_number=permit.number,
        progress_instance=permit.progress_instance_id or 0, instance=instance_id, request=request_.id,
        request_task=request_task.id, declaration=declaration_id, case=case.id, case_task=case_task.id,
        item_code=case.item_code, attachment=attachment.id, note=note.id if note else 0, project_code=filed.code,
        user=legal.id)
    out.markers += [p.name for p in (filed, approval, open_project)] + [p.code for p in (filed, approval, open_project)]

    if side == "A":  # the one project the 指定项目 经办人 may act on
        _login(client, spec.legal)
        scoped = _code(client, spec, "filing", names["scoped"])
        _add_agent(spec, SCOPED_AGENT, "范经办（指定项目）", "13900009901", [scoped.id])
        out.ids["scoped_project"] = scoped.id
        out.ids["grant"] = db.session.scalar(select(AgentAuthorization.id).join(
            User, User.id == AgentAuthorization.agent_id).where(User.username == "jingban"))
        # the demo 经办人 (authorised by A for all projects) chooses to act for A, as a 经办人 does after sign-in
        _login(client, "jingban")
        enterprise_id = db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == spec.uscc))
        response = client.post("/account/acting", data={"enterprise_id": str(enterprise_id)})
        assert response.status_code == 302 and "/account/acting" not in response.headers["Location"], \
            response.data.decode()[:2000]
    else:  # B's legal person has a 经办人 too, so a grant id exists on each side
        out.ids["grant"] = _add_agent(spec, "jingban_b", "乙经办（另一企业）", "13900009902", None)
    client.post("/logout")
    return out


def _add_agent(spec: SideSpec, username: str, display: str, phone: str, project_ids: list[int] | None) -> int:
    """A 经办人 whom the side's legal person authorised, for all projects or (a list) for those only."""
    legal = db.session.scalar(select(User).where(User.username == spec.legal))
    enterprise_id = db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == spec.uscc))
    agent = User(username=username, display_name=display, kind="individual", password_hash=legal.password_hash,
                 phone=phone, enterprise_id=enterprise_id, realname_level="verified",
                 realname_at=clock.utcnow_naive())
    agent.role_rows = [UserRole(role="applicant")]
    db.session.add(agent)
    db.session.flush()
    grant = AgentAuthorization(enterprise_id=enterprise_id, agent_id=agent.id,
                               scope="projects" if project_ids else "all", project_ids=project_ids or [],
                               granted_by=legal.id)
    db.session.add(grant)
    db.session.commit()
    return grant.id


# Account records (the staff blueprint), by the region whose administrators review them (002 一):
# "J" in 江门 (江海区: 江门's city administrator reviews it), "G" in 广州 (广州's city administrator).
ACCOUNT_SIDES = {"J": ("江门市江海区发展和改革局", "440704", "authz_jm", "江门授权测试申请人", "13900019901"),
                 "G": ("广州市发展和改革局", "440100", "authz_gz", "广州授权测试申请人", "13900019902")}


def build_account_side(client, side: str) -> Records:
    """A department user who applied for an account, the pending request (what staff_accounts.apply writes), and
    the user's refused sign-in (the account awaits review): an entry in the sign-in log of the region's scope."""
    from app.models import AccountRequest

    department_name, region, username, real_name, phone = ACCOUNT_SIDES[side]
    department = db.session.scalar(select(Department).where(Department.name == department_name))
    qiye = db.session.scalar(select(User).where(User.username == "qiye"))
    user = User(username=username, display_name=real_name, kind="staff", department_id=department.id,
                password_hash=qiye.password_hash, phone=phone, active=False,
                realname_level="verified", realname_at=clock.utcnow_naive(), section="投资科", position="科员")
    db.session.add(user)
    db.session.flush()
    request_ = AccountRequest(kind="new", user_id=user.id, department_id=department.id, region_code=region,
                              submitted_by=user.id, payload={"section": "投资科", "position": "科员",
                                                             "roles": ["acceptor"], "permissions": [],
                                                             "city_admin": False, "realname": ""})
    db.session.add(request_)
    db.session.commit()
    client.post("/logout")
    # from an address of its own: a failure asks the next attempt from the same address for a captcha
    response = client.post("/login", data={"username": username, "password": PASSWORD},
                           environ_overrides={"REMOTE_ADDR": f"10.99.0.{len(side) + list(ACCOUNT_SIDES).index(side)}"})
    assert response.status_code == 403, response.status_code
    return Records(ids={"user": user.id, "account_request": request_.id}, markers=[real_name])


OUTSIDE_SUPERVISOR = ("gz_jiancha", "许监察（广州市发改局）", "广州市发展和改革局", "13900029901")


def add_outside_supervisor() -> None:
    """An 电子监察 user of another city (广州): A's and B's records (江门) are outside their region."""
    username, display, department_name, phone = OUTSIDE_SUPERVISOR
    qiye = db.session.scalar(select(User).where(User.username == "qiye"))
    user = User(username=username, display_name=display, kind="staff", password_hash=qiye.password_hash, phone=phone,
                department_id=db.session.scalar(select(Department.id).where(Department.name == department_name)),
                realname_level="verified", realname_at=clock.utcnow_naive())
    user.role_rows = [UserRole(role="supervisor")]
    db.session.add(user)
    db.session.commit()


def build_world(client) -> dict[str, Records]:
    add_outside_supervisor()
    return {**{side: build_side(client, side) for side in SIDES},
            **{side: build_account_side(client, side) for side in ACCOUNT_SIDES}}
