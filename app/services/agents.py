"""经办人 (000 §1.1 第十一步): the legal person authorises a registered individual to act for the enterprise, on all
its projects or the ones named, until a date or until revoked; a 经办人 holding several authorisations switches
between the enterprises explicitly, and the trail records every step they take under both names.

The project scope itself is enforced in access.agent_scope (every ownership check); this module grants, revokes,
lists and switches, and keeps the record of whom a 经办人 acted for."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_sqlalchemy.session import Session as AppSession
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.tables import TrailEntry

from ..domain.workdays import SHANGHAI, UTC
from ..extensions import db
from ..models import AUTH_SCOPES, AgentAuthorization, Enterprise, Project, User
from . import ServiceError, forbid, not_found, use_case
from .access import grant_in_force
from .calendar import today

AGENT_STATUS = {"active": "有效", "expired": "已过期", "revoked": "已撤销"}
HOW_TO_REGISTER = "经办人须先以「个人用户」注册账号（注册页 → 个人用户），再由法人在此授权"


# ---- dates: the page speaks Beijing dates, the column holds a naive UTC moment -----------------------------------
def expiry_moment(day: date) -> datetime:
    """Valid through `day` (Beijing): it ends at the next midnight in Beijing, stored as naive UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def expiry_day(moment: datetime | None) -> date | None:
    """The last Beijing day an authorisation is valid (the inverse of expiry_moment)."""
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC).astimezone(SHANGHAI) - timedelta(minutes=1)).date()


def status_of(grant: AgentAuthorization, now: datetime | None = None) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    return "active" if grant.in_force(now or clock.utcnow_naive()) else "expired"


@dataclass(frozen=True)
class GrantRow:
    grant: AgentAuthorization
    status: str
    until: date | None
    projects: list[Project]

    @property
    def status_label(self) -> str:
        return AGENT_STATUS[self.status]

    @property
    def scope_label(self) -> str:
        return AUTH_SCOPES.get(self.grant.scope, self.grant.scope)


def _rows(grants: list[AgentAuthorization]) -> list[GrantRow]:
    now = clock.utcnow_naive()
    ids = {int(p) for g in grants for p in (g.project_ids or [])}
    projects = {p.id: p for p in db.session.scalars(select(Project).where(Project.id.in_(ids)))} if ids else {}
    return [GrantRow(g, status_of(g, now), expiry_day(g.expires_at),
                     [projects[int(p)] for p in (g.project_ids or []) if int(p) in projects]) for g in grants]


# ---- the legal person's side -------------------------------------------------------------------------------------
def require_legal_person(user: User) -> Enterprise:
    """Only the legal-person account of an enterprise manages its 经办人."""
    if user.kind != "enterprise" or user.enterprise is None:
        raise forbid("只有企业的法人用户可以管理经办人授权")
    return user.enterprise


def enterprise_grants(user: User) -> list[GrantRow]:
    enterprise = require_legal_person(user)
    return _rows(list(db.session.scalars(select(AgentAuthorization).where(
        AgentAuthorization.enterprise_id == enterprise.id).order_by(AgentAuthorization.id.desc()))))


def enterprise_projects(user: User) -> list[Project]:
    enterprise = require_legal_person(user)
    return list(db.session.scalars(select(Project).where(Project.enterprise_id == enterprise.id)
                                   .order_by(Project.id.desc())))


def find_individual(who: str, real_name: str) -> User:
    """The registered individual named by username or mobile number, whose real name must match too (so a typo in
    a number does not authorise a stranger)."""
    who, real_name = (who or "").strip(), (real_name or "").strip()
    errors = {}
    if not who:
        errors["who"] = "请填写经办人的「用户名或手机号码」"
    if not real_name:
        errors["real_name"] = "请填写经办人的「真实姓名」"
    if errors:
        raise ServiceError("请填写经办人信息", 422, errors)
    person = db.session.scalars(select(User).where(User.kind == "individual", User.active.is_(True),
                                                  or_(User.username == who, User.phone == who))).unique().first()
    if person is None or person.display_name != real_name:
        message = f"未找到该个人用户（用户名或手机号码与真实姓名须一致）。{HOW_TO_REGISTER}"
        raise ServiceError(message, 422, {"who": message})
    return person


@use_case
def authorise(user: User, raw: dict[str, Any], project_ids: list[str]) -> AgentAuthorization:
    enterprise = require_legal_person(user)
    person = find_individual(raw.get("who", ""), raw.get("real_name", ""))
    scope = raw.get("scope", "all")
    if scope not in AUTH_SCOPES:
        raise ServiceError("授权范围有误", 422, {"scope": "请选择「授权范围」：全部项目或指定项目"})
    chosen: list[int] = []
    if scope == "projects":
        mine = {p.id for p in enterprise_projects(user)}
        try:
            chosen = sorted({int(p) for p in project_ids})
        except ValueError:
            chosen = [-1]
        if not chosen:
            raise ServiceError("请勾选项目", 422, {"project_ids": "「指定项目」须至少勾选一个本企业的项目"})
        if not set(chosen) <= mine:
            raise ServiceError("项目有误", 422, {"project_ids": "只能勾选本企业的项目"})
    expires_at = None
    text = (raw.get("expires_on") or "").strip()
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ServiceError("有效期有误", 422, {"expires_on": "「有效期至」须为日期，如 2026-12-31"}) from None
        if day < today():
            raise ServiceError("有效期有误", 422, {"expires_on": "「有效期至」不能早于今天"})
        expires_at = expiry_moment(day)
    now = clock.utcnow_naive()
    current = db.session.scalars(select(AgentAuthorization).where(
        AgentAuthorization.enterprise_id == enterprise.id, AgentAuthorization.agent_id == person.id,
        AgentAuthorization.revoked_at.is_(None))).all()
    if any(g.in_force(now) for g in current):
        message = f"{person.display_name}已有有效的授权；如需修改范围或有效期，请先撤销原授权再重新授权"
        raise ServiceError(message, 409, {"who": message})
    grant = AgentAuthorization(enterprise_id=enterprise.id, agent_id=person.id, scope=scope, project_ids=chosen,
                               expires_at=expires_at, granted_by=user.id, granted_at=now)
    db.session.add(grant)  # the 经办人 chooses to act for it themselves (切换企业), as 000 §1.2 has them sign in
    return grant


@use_case
def revoke(user: User, grant_id: int) -> AgentAuthorization:
    enterprise = require_legal_person(user)
    grant = db.session.get(AgentAuthorization, grant_id)
    if grant is None or grant.enterprise_id != enterprise.id:
        raise not_found("授权记录不存在")
    if grant.revoked_at is not None:
        raise ServiceError("该授权已撤销", 409)
    grant.revoked_at, grant.revoked_by = clock.utcnow_naive(), user.id
    # the 经办人's next request finds no authorisation in force and is stopped (see lapsed_grant)
    return grant


# ---- the 经办人's side ---------------------------------------------------------------------------------------------
def my_grants(user: User) -> list[GrantRow]:
    if user.kind != "individual":
        return []
    return _rows(list(db.session.scalars(select(AgentAuthorization).where(
        AgentAuthorization.agent_id == user.id).order_by(AgentAuthorization.id.desc()))))


@use_case
def switch(user: User, enterprise_id: int | None) -> Enterprise | None:
    """Act for another enterprise (or for none): only one whose authorisation is in force."""
    if user.kind != "individual":
        raise forbid("只有经办人（个人用户）可以切换代表的企业")
    if enterprise_id is None:
        user.enterprise_id = None
        return None
    if grant_in_force(user, enterprise_id) is None:
        raise ServiceError("您没有该企业有效的经办授权", 403)
    user.enterprise_id = enterprise_id
    return db.session.get(Enterprise, enterprise_id)


def lapsed_grant(user: User) -> str | None:
    """Called before every request of a 经办人 acting for an enterprise: when that authorisation was revoked or
    expired, stop acting for it (enterprise_id cleared and committed at once) and say why; None when all is well
    (then nothing is written: this runs on every request)."""
    if user.kind != "individual" or user.enterprise_id is None:
        return None
    if grant_in_force(user, user.enterprise_id) is not None:
        return None
    name = user.enterprise.name if user.enterprise else "该企业"
    latest = db.session.scalars(select(AgentAuthorization).where(
        AgentAuthorization.agent_id == user.id, AgentAuthorization.enterprise_id == user.enterprise_id)
        .order_by(AgentAuthorization.id.desc())).first()
    user.enterprise_id = None
    db.session.commit()
    what = "已被企业法人撤销" if latest is None or latest.revoked_at is not None else "已过期"
    return f"您代表{name}的经办授权{what}，不能再办理该企业的业务；请选择其他企业或联系企业法人"


# ---- the trail: both names, fixed when written -----------------------------------------------------------------
@event.listens_for(AppSession, "before_flush")  # the app's sessions only: engine tests run plain ones
def _record_acting_for(session: Session, flush_context: Any, instances: Any) -> None:
    """Every trail entry written for a 经办人 carries the enterprise they were acting for at that moment, so the
    办理记录 names both and a later switch does not rewrite history. One place for every service: the engine writes
    the trail with the actor's id and knows nothing of enterprises."""
    for entry in session.new:
        if not isinstance(entry, TrailEntry) or not (entry.actor or "").isdigit():
            continue
        with session.no_autoflush:
            user = session.get(User, int(entry.actor))
        if user is None or user.kind != "individual" or user.enterprise_id is None:
            continue
        enterprise = session.get(Enterprise, user.enterprise_id)
        entry.detail = {**(entry.detail or {}), "acting_for": {"id": user.enterprise_id,
                                                                "name": enterprise.name if enterprise else ""}}


def actor_label(entry: TrailEntry, names: dict[int, User]) -> str:
    """How the 办理记录 names whoever wrote the entry: 「林经办（经办人，代表江门市示范精密机械有限公司）」 for a 经办人."""
    if not (entry.actor or "").isdigit():
        return "系统" if entry.actor in ("system", "timer") else ""  # the deploy and the timer loop
    user = names.get(int(entry.actor))
    if user is None:
        return ""
    acting = (entry.detail or {}).get("acting_for") if isinstance(entry.detail, dict) else None
    if acting:
        return f"{user.display_name}（经办人，代表{acting.get('name', '')}）"
    return user.display_name


def trail_people(entries: list[TrailEntry]) -> dict[int, User]:
    ids = {int(e.actor) for e in entries if (e.actor or "").isdigit()}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids))).unique()} if ids else {}
