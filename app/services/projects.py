"""领码: the enterprise declares basic information and the platform assigns the lifelong code."""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..domain.project_code import generate_project_code
from ..extensions import db
from ..models import Declaration, FilingApplication, FilingCertificate, ItemCase, Project, User
from . import ServiceError, calendar, forbid, form_token_result, use_case, use_form_token
from .access import agent_scope, owned
from .platform import validate


@use_case
def apply_for_code(user: User, raw: dict[str, Any]) -> Project:
    if user.enterprise_id is None:
        raise forbid("只有企业用户可以申请项目代码")
    if agent_scope(user) is not None:  # a 经办人 named for some projects only acts on those, makes no new one
        raise forbid("您的经办授权仅限指定项目，不能申请新的项目代码，请联系企业法人")
    raw = dict(raw)
    token = raw.pop("form_token", None)
    # First: a second post of the same form waits here for the first and is refused (409), nothing made.
    use_form_token(db.session, user.id, "code_application", token)
    _, values = validate("code_application", raw)
    if values["unit_uscc"] != user.enterprise.uscc:
        raise ServiceError("项目单位与登录企业不一致", 422,
                           {"unit_uscc": "「项目单位统一社会信用代码」须与登录的企业账号一致"})
    project = Project(enterprise_id=user.enterprise_id, kind=values["kind"], created_by=user.id,
                      **{k: values.get(k) for k in (
                          "type_code", "name", "industry_code", "catalogue_code", "region_code", "address",
                          "nature", "scale_content", "planned_start", "planned_end", "total_investment")})
    new_code(db.session, project)
    form_token_result(db.session, token, f"项目代码：{project.code}")
    return project


def new_form_token() -> str:
    """A one-time token for a form that must not be submitted twice (see use_form_token)."""
    return secrets.token_urlsafe(24)


def new_code(session: Any, project: Project) -> Project:
    """Give a new project its lifelong code and store it."""
    today = calendar.today()
    for _attempt in range(5):  # five random digits: a collision is rare, retry in a savepoint
        project.code = generate_project_code(today, project.region_code, project.type_code)
        try:
            with session.begin_nested():
                session.add(project)
            return project
        except IntegrityError:
            if project in session:
                session.expunge(project)
            continue
    raise ServiceError("项目代码生成冲突，请重试", 409)


def my_projects(user: User) -> list[tuple[Project, FilingApplication | Declaration | None, FilingCertificate | None]]:
    """Each project with its latest 备案 application or 审批/核准 declaration, and its certificate."""
    projects = db.session.scalars(select(Project).where(Project.enterprise_id == user.enterprise_id)
                                  .order_by(Project.id.desc())).all()
    scope = agent_scope(user)  # a 经办人 with 指定项目 lists only those
    if scope is not None:
        projects = [p for p in projects if p.id in scope]
    declarations = {d.project_id: d for d in db.session.scalars(select(Declaration).where(
        Declaration.enterprise_id == user.enterprise_id).order_by(Declaration.id))}
    apps = {a.project_id: a for a in db.session.scalars(select(FilingApplication).where(
        FilingApplication.enterprise_id == user.enterprise_id).order_by(FilingApplication.id))}
    certs = {c.project_id: c for c in db.session.scalars(select(FilingCertificate).where(
        FilingCertificate.enterprise_id == user.enterprise_id))}
    return [(p, apps.get(p.id) or declarations.get(p.id), certs.get(p.id)) for p in projects]


def own_project(user: User, project_id: int) -> Project:
    return owned(user, Project, project_id, "项目")


def related_projects(project: Project) -> tuple[Project | None, list[Project]]:
    """The project this one replaces (重新赋码) and those that replace it, same enterprise."""
    before = db.session.get(Project, project.predecessor_id) if project.predecessor_id else None
    after = list(db.session.scalars(select(Project).where(Project.predecessor_id == project.id).order_by(Project.id)))
    return before, after


def declaration_drafts(user: User) -> list[Declaration]:
    """事项申报 still 填报中 with nothing submitted: in the 草稿箱 beside the 备案 drafts (may be deleted)."""
    rows = db.session.scalars(select(Declaration).where(
        Declaration.enterprise_id == user.enterprise_id, Declaration.status == "declaring",
        Declaration.submitted_at.is_(None)).order_by(Declaration.id.desc())).all()
    scope = agent_scope(user)
    return [d for d in rows if scope is None or d.project_id in scope]


def filings_of(project: Project) -> list[FilingApplication]:
    """A 备案类 project's applications, newest first (the project page's 办件记录 and documents)."""
    return list(db.session.scalars(select(FilingApplication).where(FilingApplication.project_id == project.id)
                                   .order_by(FilingApplication.id.desc())))


def accepted_items(project: Project) -> list[ItemCase]:
    """The project's items a department has accepted: each has a 受理通知书."""
    return list(db.session.scalars(select(ItemCase).join(Declaration, Declaration.id == ItemCase.declaration_id)
                                   .where(Declaration.project_id == project.id, ItemCase.accepted_at.is_not(None))
                                   .order_by(ItemCase.id)))
