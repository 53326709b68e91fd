"""项目代码核验 before 受理: 003 第十四条（二） 「接收申报材料应当核验项目代码，对未通过项目代码核验的，
不得受理并告知项目单位」. The platform checks the code itself (it issued it) instead of the reviewer
ticking a box: the code is well formed with a correct check digit, it is this platform's code of the very
project applied for, the project belongs to the applying enterprise, is of the kind applied for, and is
still alive (not re-coded after a major change, its 备案证 / 核准文件 not 注销 or 撤销)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..domain.project_code import InvalidProjectCode, parse_project_code
from ..extensions import db
from ..models import KIND_LABELS, PERMIT_STATUS, Declaration, FilingApplication, Permit, Project
from . import ServiceError
from .platform import find_project

_ENDED = ("cancelled", "revoked")  # a 备案证 / 核准文件 in these states ends the project's business


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CodeVerification:
    code: str
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def refusal(self) -> str:
        failed = "；".join(f"{c.label}：{c.detail}" for c in self.checks if not c.passed)
        return f"项目代码 {self.code} 未通过核验，不得受理（{failed}）。请选择「不予受理」并写明理由告知项目单位"


def verify(declared: str, project: Project, enterprise_id: int, kind: str) -> CodeVerification:
    """`declared`: the code the application carries; `project`: the project it was made for."""
    checks: list[Check] = []
    try:
        parsed = parse_project_code(declared)
    except InvalidProjectCode as exc:
        return CodeVerification(declared, (Check("编码规则", False, exc.message),))
    checks.append(Check("编码规则", True, "旧版全国项目代码" if parsed.legacy else "格式、赋码年月与校验位正确"))
    own = parsed.code == (project.legacy_code if parsed.legacy else project.code)
    try:  # the project's own code (the usual case) needs no look-up: codes are unique
        found = project if own else find_project(parsed.code)
    except InvalidProjectCode as exc:
        return CodeVerification(parsed.code, (*checks, Check("平台赋码", False, exc.message)))
    if found.id != project.id:
        return CodeVerification(parsed.code, (*checks, Check("平台赋码", False, "该代码属于另一个项目，与申报的项目不一致")))
    checks.append(Check("平台赋码", True, f"本平台赋码的项目「{project.name}」"))
    owner = project.enterprise
    checks.append(Check("项目单位", project.enterprise_id == enterprise_id,
                        owner.name if project.enterprise_id == enterprise_id else "该项目不属于申报单位"))
    checks.append(Check("项目类别", project.kind == kind,
                        KIND_LABELS.get(project.kind, project.kind) if project.kind == kind else
                        f"项目为{KIND_LABELS.get(project.kind, project.kind)}，与申报的"
                        f"{KIND_LABELS.get(kind, kind)}不一致"))
    checks.append(_state(project))
    return CodeVerification(parsed.code, tuple(checks))


def _state(project: Project) -> Check:
    successor = db.session.scalar(select(Project).where(Project.predecessor_id == project.id).order_by(Project.id))
    if successor is not None:
        return Check("项目状态", False, f"项目发生重大变化已重新赋码为 {successor.code}，须以新代码申报")
    ended = db.session.scalar(select(Permit).where(Permit.project_id == project.id,
                                                   Permit.status.in_(_ENDED)).order_by(Permit.id))
    if ended is not None:
        return Check("项目状态", False, f"该项目的{ended.kind_label} {ended.number} {PERMIT_STATUS[ended.status]}")
    return Check("项目状态", True, "正常（未重新赋码，证照未注销或撤销）")


def of_application(application: FilingApplication) -> CodeVerification:
    declared = str((application.draft or {}).get("project_code") or application.project.code)
    return verify(declared, application.project, application.enterprise_id, "filing")


def of_declaration(declaration: Declaration) -> CodeVerification:
    return verify(declaration.project.code, declaration.project, declaration.enterprise_id, declaration.kind)


def require_passed(verification: CodeVerification) -> None:
    """受理 only after the platform's check passed (422, named at the 受理 decision)."""
    if not verification.passed:
        raise ServiceError(verification.refusal, 422, {"decision": verification.refusal})
