"""补正 the applicant cannot miss (issue 14 §2): what is waiting for a 补正 (for 我的项目, the project page and the
任务中心), the 待阅 plus SMS when a reviewer asks for one, and the 待阅 marked read once the 补正 is submitted.

Below the use cases (filing, approval) that call it; it writes in the caller's transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.tables import HumanTask

from ..extensions import db
from ..models import Declaration, FilingApplication, ItemCase, Notification, Permit, User
from . import notify
from .access import agent_scope

CORRECTION_CASES = ("correction", "paused_correction")


@dataclass(frozen=True)
class Correction:
    """One 补正 waiting for the applicant: a 备案 application sent back, or one item's 一次性告知."""

    project_id: int
    number: str  # 办件单号
    what: str  # 备案申请, or the item's name
    reason: str
    filing_id: int | None = None
    declaration_id: int | None = None
    item_code: str | None = None


def waiting(user: User, project_id: int | None = None) -> dict[int, list[Correction]]:
    """The enterprise's 补正 waiting, by project (a 经办人 with 指定项目: those projects only)."""
    if user.enterprise_id is None:
        return {}
    filings = select(FilingApplication).where(FilingApplication.enterprise_id == user.enterprise_id,
                                              FilingApplication.status == "correction")
    items = (select(ItemCase).join(Declaration, Declaration.id == ItemCase.declaration_id)
             .where(Declaration.enterprise_id == user.enterprise_id, ItemCase.status.in_(CORRECTION_CASES)))
    if project_id is not None:
        filings = filings.where(FilingApplication.project_id == project_id)
        items = items.where(Declaration.project_id == project_id)
    found: list[Correction] = [
        Correction(a.project_id, a.number, "备案申请", a.last_opinion or "", filing_id=a.id)
        for a in db.session.scalars(filings.order_by(FilingApplication.id))]
    found += [Correction(c.declaration.project_id, c.declaration.number, c.item_name,
                         str((c.last_notice or {}).get("reason") or ""), declaration_id=c.declaration_id,
                         item_code=c.item_code)
              for c in db.session.scalars(items.order_by(ItemCase.id))]
    scope = agent_scope(user)
    by_project: dict[int, list[Correction]] = {}
    for correction in found:
        if scope is None or correction.project_id in scope:
            by_project.setdefault(correction.project_id, []).append(correction)
    return by_project


@dataclass(frozen=True)
class TaskRef:
    """How an applicant's task shows in the 任务中心: the case's number and project (never `declaration:1`),
    and the page where it is done (`anchor`: the item's 补正 block on the declaration page)."""

    number: str
    project_name: str
    item_name: str
    endpoint: str | None
    args: dict[str, int]
    anchor: str = ""


def task_refs(tasks: list[HumanTask]) -> dict[int, TaskRef]:
    """By task id, for the applicant's tasks among `tasks` (one query per kind of case)."""
    mine = [t for t in tasks if t.candidate_role == "applicant" and t.business_key]
    ids: dict[str, set[int]] = {}
    for task in mine:
        prefix, _, ident = task.business_key.partition(":")
        if ident.isdigit():
            ids.setdefault(prefix, set()).add(int(ident))
    filings = {a.id: a for a in db.session.scalars(
        select(FilingApplication).where(FilingApplication.id.in_(ids.get("filing", set()))))} if "filing" in ids else {}
    declarations = {d.id: d for d in db.session.scalars(
        select(Declaration).where(Declaration.id.in_(ids["declaration"])))} if "declaration" in ids else {}
    cases = {(c.declaration_id, c.item_code): c for c in db.session.scalars(
        select(ItemCase).where(ItemCase.declaration_id.in_(declarations)))} if declarations else {}
    permits = {p.id: p for p in db.session.scalars(
        select(Permit).where(Permit.id.in_(ids["permit"])))} if "permit" in ids else {}
    refs: dict[int, TaskRef] = {}
    for task in mine:
        prefix, _, ident = task.business_key.partition(":")
        key = int(ident) if ident.isdigit() else 0
        if prefix == "filing" and (a := filings.get(key)) is not None:
            editable = a.status in ("draft", "correction")
            refs[task.id] = TaskRef(a.number, a.project.name, "备案申请",
                                    "enterprise.filing_form" if editable else "enterprise.filing_detail",
                                    {"application_id": a.id})
        elif prefix == "declaration" and (d := declarations.get(key)) is not None:
            case = cases.get((d.id, task.scope)) if task.scope else None
            refs[task.id] = TaskRef(d.number, d.project.name, case.item_name if case else f"{d.kind_label}事项申报",
                                    "declarations.show", {"declaration_id": d.id},
                                    f"item-{task.scope}" if case else "")
        elif prefix == "permit" and (p := permits.get(key)) is not None:
            # the step says what is due (「请填报2026年度项目进度报告」, a reminder …) better than a generic name
            asked = (task.title or "").rpartition("：")[2] or task.name or "项目进展填报"
            refs[task.id] = TaskRef(p.number, p.project.name, asked, None, {})
    return refs


def tell_applicant(session: Session, user_id: int, title: str, link: str) -> None:
    """A reviewer's 补正 (or 不予受理): a 待阅 to the applicant plus an SMS, in the caller's transaction."""
    notify.to_read(session, title, link, "result", user_id=user_id)
    applicant = session.get(User, user_id)
    if applicant is not None:
        notify.sms(session, [applicant], title)


def resolve(session: Session, link: str, word: str = "需要补正", title_prefix: str = "") -> int:
    """The 补正 was submitted: its unread 「需要补正」 待阅 (to whichever user of the enterprise) are marked read."""
    query = (update(Notification).where(Notification.link == link, Notification.read_at.is_(None),
                                        Notification.title.contains(word))
             .values(read_at=clock.utcnow_naive()).execution_options(synchronize_session=False))
    if title_prefix:
        query = query.where(Notification.title.startswith(title_prefix))
    return session.execute(query).rowcount or 0
