"""Reviewer accounts (issue 13, 002 whole): a department user applies for an account with the item permissions
(受理 / 办理 per catalogue item) they need; an administrator in scope approves or rejects; changes of 科室, 职位 and
item permissions and cancellations go through the same review.

Scope (002 一): 省级管理员 (province_admin) review the provincial departments' accounts and the accounts that would
be 市州管理员; 市州管理员 (city_admin) review the accounts of their city's and its counties' departments; the system
administrator (admin) reviews all. An administrator's city or province is the region of their own department.
Every request carries `region_code`, the region whose administrators review it: the department's region, or the
province for a provincial department and for a 市州管理员 account — so one comparison of region codes decides scope.

What an approval grants is the one permission model the inboxes use (access.may_handle): the roles acceptor /
handler, the department (and so its region) and UserItemRole rows per item."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from engine import clock
from engine.tables import HumanTask

from ..extensions import db
from ..models import (
    ACCOUNT_REQUEST_KINDS,
    ACCOUNT_REQUEST_STATUS,
    AccountRequest,
    ApprovalItem,
    Department,
    Notification,
    Region,
    User,
    UserItemRole,
    UserRole,
)
from . import ServiceError, forbid, identity, not_found, use_case
from .access import regions_under
from .accounts import hash_password
from .notify import SIGNATURE, gateway

ADMIN_ROLES = ("admin", "province_admin", "city_admin")
ITEM_ROLES = {"accept": "acceptor", "handle": "handler"}
HEAD_ROLE = "dept_head"  # 部门负责人: 本部门在办 and 转办 of the department's claimed tasks (task_transfer)


def _ticked(raw: dict[str, Any], name: str) -> bool:
    return str(raw.get(name) or "") in ("1", "on", "true")
PERMISSION_LABELS = {"acceptor": "受理", "handler": "办理"}
TEXT_MAX = {"section": ("科室", 50), "position": ("职位", 50)}
REASON_MAX = 500


def _invalid(errors: dict[str, str]) -> ServiceError:
    return ServiceError("申请信息有误，请按提示修改：" + "；".join(errors.values()), 422, errors)


# ---- the organisation tree ----------------------------------------------------------------------------------
def province_of(region: Region | None) -> str | None:
    while region is not None and region.level != "province":
        region = db.session.get(Region, region.parent_code) if region.parent_code else None
    return region.code if region is not None else None


def city_of(region: Region | None) -> Region | None:
    if region is not None and region.level == "county" and region.parent_code:
        return db.session.get(Region, region.parent_code)
    return region if region is not None and region.level == "city" else None


def review_region(department: Department, city_admin: bool = False) -> str:
    """Whose administrators review an account of `department`: the province's for a provincial department or a
    市州管理员 account, else the department's own region (a city, or a county reviewed by its city)."""
    if city_admin or department.level == "province":
        return province_of(department.region) or department.region_code
    return department.region_code


@dataclass
class RegionNode:
    region: Region
    departments: list[Department]
    children: list[RegionNode]
    sections: dict[int, list[str]]  # department id → the 科室 its users name

    @property
    def path(self) -> str:
        return self.region.full_name


def tree(codes: set[str] | None = None) -> list[RegionNode]:
    """Regions (province → city → county) with their departments and 科室; `codes`: only these regions' branches
    (an administrator's scope), None for all."""
    regions = list(db.session.scalars(select(Region).order_by(Region.code)))
    departments = list(db.session.scalars(select(Department).order_by(Department.level.desc(), Department.id)))
    sections: dict[int, set[str]] = {}
    for department_id, section in db.session.execute(
            select(User.department_id, User.section).where(User.department_id.is_not(None), User.section != "")):
        sections.setdefault(department_id, set()).add(section)
    nodes = {r.code: RegionNode(r, [], [], {}) for r in regions}
    for d in departments:
        if d.region_code in nodes:
            nodes[d.region_code].departments.append(d)
            nodes[d.region_code].sections[d.id] = sorted(sections.get(d.id, ()))
    roots: list[RegionNode] = []
    for r in regions:
        parent = nodes.get(r.parent_code or "")
        (parent.children if parent else roots).append(nodes[r.code])
    if codes is None:
        return roots

    def keep(node: RegionNode) -> RegionNode | None:
        children = [c for c in (keep(c) for c in node.children) if c is not None]
        if node.region.code in codes:
            return RegionNode(node.region, node.departments, children, node.sections)
        return RegionNode(node.region, [], children, {}) if children else None

    return [n for n in (keep(r) for r in roots) if n is not None]


def flat_units() -> list[tuple[RegionNode, int]]:
    """The tree depth first with each node's depth: the unit select groups departments under 省 › 市 › 县."""
    out: list[tuple[RegionNode, int]] = []

    def walk(node: RegionNode, depth: int) -> None:
        out.append((node, depth))
        for child in node.children:
            walk(child, depth + 1)

    for root in tree():
        walk(root, 0)
    return out


def items_for(department: Department | None = None) -> list[ApprovalItem]:
    """Active catalogue items; of the department's type when one is given (the items it may be granted)."""
    query = select(ApprovalItem).where(ApprovalItem.active).order_by(ApprovalItem.dept_type, ApprovalItem.sort,
                                                                     ApprovalItem.code)
    if department is not None:
        query = query.where(ApprovalItem.dept_type == department.dept_type)
    return list(db.session.scalars(query))


# ---- scope ----------------------------------------------------------------------------------------------------
def is_admin(user: User) -> bool:
    return bool(user.roles.intersection(ADMIN_ROLES))


def scope_regions(admin: User) -> set[str] | None:
    """The review regions of an administrator's scope; None: every region (the system administrator)."""
    if "admin" in admin.roles:
        return None
    codes: set[str] = set()
    region = admin.department.region if admin.department else None
    if "province_admin" in admin.roles and (province := province_of(region)):
        codes.add(province)
    if "city_admin" in admin.roles and (city := city_of(region)) is not None:
        codes |= regions_under(city.code)
    return codes


def _in_scope(admin: User, region_code: str) -> bool:
    codes = scope_regions(admin)
    return codes is None or region_code in codes


def user_region(user: User) -> str | None:
    """The review region of an existing account (None: not a department account)."""
    if user.department is None:
        return None
    return review_region(user.department, "city_admin" in user.roles)


def reviewable_request(admin: User, request_id: int) -> AccountRequest:
    """A request in the administrator's scope: 404 when missing, 403 when outside it (city administrators never
    see another city's nor a provincial one)."""
    if not is_admin(admin):
        raise forbid("只有管理员可以审核账号申请")
    row = db.session.get(AccountRequest, request_id)
    if row is None:
        raise not_found("账号申请不存在")
    if not _in_scope(admin, row.region_code):
        raise forbid("该申请不在您的审核范围内（省级管理员审核省直部门和市州管理员账号，"
                     "市州管理员审核本市州及所辖县区部门账号）")
    return row


def managed_user(admin: User, user_id: int) -> User:
    if not is_admin(admin):
        raise forbid("只有管理员可以管理账号")
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("账号不存在")
    region = user_region(user)
    if region is None or not _in_scope(admin, region):
        raise forbid("该账号不在您的管理范围内")
    return user


def scope_join(stmt: Any, codes: set[str]) -> Any:
    """`stmt` (over User) joined to the department and restricted to accounts whose user_region is in `codes`, in
    SQL: a provincial department's account and a 市州管理员 are reviewed at their province (the region itself, its
    parent or its grandparent: province_of), everyone else at their department's region."""
    parent = aliased(Region)
    city_admins = select(UserRole.user_id).where(UserRole.role == "city_admin")
    special = or_(Department.level == "province", User.id.in_(city_admins))
    province = case((Region.level == "province", Region.code), (Region.level == "city", Region.parent_code),
                    else_=parent.parent_code)
    return (stmt.join(Department, Department.id == User.department_id)
            .join(Region, Region.code == Department.region_code)
            .outerjoin(parent, parent.code == Region.parent_code)
            .where(or_(and_(~special, Department.region_code.in_(codes)), and_(special, province.in_(codes)))))


def _scope_filter(admin: User) -> Any:
    codes = scope_regions(admin)
    return None if codes is None else AccountRequest.region_code.in_(codes or {""})


def requests(admin: User, status: str = "pending", limit: int = 200) -> list[AccountRequest]:
    query = select(AccountRequest).order_by(AccountRequest.id.desc()).limit(limit)
    if status:
        query = query.where(AccountRequest.status == status)
    if (where := _scope_filter(admin)) is not None:
        query = query.where(where)
    return list(db.session.scalars(query))


def pending_count(admin: User) -> int:
    query = select(func.count(AccountRequest.id)).where(AccountRequest.status == "pending")
    if (where := _scope_filter(admin)) is not None:
        query = query.where(where)
    return db.session.scalar(query) or 0


def status_counts(admin: User) -> dict[str, int]:
    """待审核 / 通过 / 驳回 tab counts in the administrator's scope."""
    query = select(AccountRequest.status, func.count(AccountRequest.id)).group_by(AccountRequest.status)
    if (where := _scope_filter(admin)) is not None:
        query = query.where(where)
    counts = dict(db.session.execute(query).all())
    return {status: counts.get(status, 0) for status in ACCOUNT_REQUEST_STATUS}


def users(admin: User, q: str = "", limit: int = 200) -> list[User]:
    """Department accounts in the administrator's scope, searched by name, username, phone or department."""
    codes = scope_regions(admin)
    query = (select(User).join(Department, Department.id == User.department_id) if codes is None
             else scope_join(select(User), codes))
    q = q.strip()
    if q:
        query = query.where(or_(User.display_name.contains(q, autoescape=True),
                                User.username.contains(q, autoescape=True), User.phone.contains(q, autoescape=True),
                                Department.name.contains(q, autoescape=True), User.section.contains(q, autoescape=True)))
    query = query.order_by(Department.region_code, Department.id, User.username).limit(limit)
    return list(db.session.scalars(query).unique())


def permissions_of(user_ids: list[int]) -> dict[int, list[tuple[ApprovalItem, str]]]:
    out: dict[int, list[tuple[ApprovalItem, str]]] = {i: [] for i in user_ids}
    if not user_ids:
        return out
    for row, item in db.session.execute(select(UserItemRole, ApprovalItem)
                                        .join(ApprovalItem, ApprovalItem.code == UserItemRole.item_code)
                                        .where(UserItemRole.user_id.in_(user_ids))
                                        .order_by(ApprovalItem.sort, ApprovalItem.code, UserItemRole.role)):
        out[row.user_id].append((item, row.role))
    return out


# ---- reading the permission checkboxes ------------------------------------------------------------------------
def _permissions(raw: dict[str, Any], department: Department | None, errors: dict[str, str]) -> list[dict]:
    """[{item_code, accept, handle}] from the lists `accept` and `handle` of item codes; each item must be an active
    one of the department's type (items are routed to departments by that type)."""
    asked: dict[str, dict] = {}
    for key in ITEM_ROLES:
        values = raw.get(key) or []
        for code in [values] if isinstance(values, str) else values:
            asked.setdefault(str(code), {"item_code": str(code), "accept": False, "handle": False})[key] = True
    if department is None or not asked:
        return list(asked.values())
    allowed = {i.code: i for i in items_for(department)}
    wrong = [code for code in asked if code not in allowed]
    if wrong:
        names = "、".join(wrong[:5])
        errors["permissions"] = (f"「事项权限」{names}不是{department.name}（{department.dept_type}）可办理的事项，"
                                 "请重新选择")
    return [asked[code] for code in allowed if code in asked]


def _clean_text(raw: dict[str, Any], field: str, errors: dict[str, str], required: bool = True) -> str:
    label, limit = TEXT_MAX[field]
    value = str(raw.get(field) or "").strip()
    if required and not value:
        errors[field] = f"请填写「{label}」"
    elif len(value) > limit:
        errors[field] = f"「{label}」不能超过{limit}字"
    return value


def _department(raw: Any, errors: dict[str, str]) -> Department | None:
    text = str(raw or "").strip()
    department = db.session.get(Department, int(text)) if text.isdigit() and len(text) <= 9 else None
    if department is None:
        errors["department_id"] = "请选择「所属单位」（省 → 市 → 县 → 部门）"
    return department


def _guard(field: str, errors: dict[str, str], check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a shared identity check, collecting its 422 under its field instead of stopping at the first."""
    try:
        return check(*args, **kwargs)
    except ServiceError as exc:
        errors.update(exc.errors or {field: exc.message})
        return None


def _account_of_person(id_number: str) -> User | None:
    """The person's department account in use or waiting for review (a cancelled or rejected one may apply again)."""
    pending = select(AccountRequest.user_id).where(AccountRequest.status == "pending")
    return db.session.scalars(select(User).where(User.kind == "staff", User.id_number == id_number,
                                                 or_(User.active, User.id.in_(pending)))).first()


# ---- applying -------------------------------------------------------------------------------------------------
@use_case
def send_apply_code(raw_phone: Any, source: str | None) -> str:
    """The SMS code of an application or a status look-up (purpose "apply")."""
    phone = identity.check_mobile(str(raw_phone or ""))
    identity.send_code(phone, "apply", source=source)
    return phone


@dataclass(frozen=True)
class Applied:
    user: User
    request: AccountRequest
    verification: identity.Verification


@use_case
def apply(raw: dict[str, Any]) -> Applied:
    """A new reviewer account: inactive until an administrator in scope approves the request. Every field is
    checked first (all errors at once), then the SMS code (it must come before anything is written)."""
    errors: dict[str, str] = {}
    department = _department(raw.get("department_id"), errors)
    section = _clean_text(raw, "section", errors)
    position = _clean_text(raw, "position", errors)
    real_name = str(raw.get("real_name") or "").strip()
    if not real_name:
        errors["real_name"] = "请填写「真实姓名」"
    phone = _guard("phone", errors, identity.check_mobile, str(raw.get("phone") or ""))
    username = str(raw.get("username") or "").strip()
    _guard("username", errors, identity.check_username, username)
    password = str(raw.get("password") or "")
    _guard("password", errors, identity.check_password, password, username=username, phone=phone or "")
    if password != str(raw.get("password2") or ""):
        errors.setdefault("password2", "两次输入的「密码」不一致")
    city_admin = _ticked(raw, "city_admin")
    if city_admin and department is not None and department.level == "province":
        errors["city_admin"] = "「市州管理员」须属于市州的部门（省直部门账号由省级管理员审核）"
    dept_head = _ticked(raw, "dept_head")
    permissions = _permissions(raw, department, errors)
    if not permissions and not city_admin and not dept_head and "permissions" not in errors:
        errors["permissions"] = "请至少选择一项「事项权限」（受理或办理），或申请部门负责人"
    verification = None
    raw_id = str(raw.get("id_number") or "").strip()
    if not raw_id:
        errors["id_number"] = "请填写「身份证号码」"
    elif real_name:
        verification = _guard("id_number", errors, identity.verifier().verify, real_name, raw_id)
    else:  # the number is still checked, so every wrong field is named at once
        _guard("id_number", errors, identity.check_id_number, raw_id)
    if "id_number" not in errors and (held := _account_of_person(raw_id.upper())) is not None:
        errors["id_number"] = (f"该身份证号码已有审批账号或待审核的申请（用户名 {held.username}）：一人一个账号，"
                               "需要其他事项权限请登录后在「我的账号」中申请变更")
    if not str(raw.get("sms_code") or "").strip():
        errors["sms_code"] = "请填写「短信验证码」"
    if errors:
        raise _invalid(errors)
    assert department is not None and phone is not None and verification is not None
    identity.check_code(phone, "apply", str(raw.get("sms_code") or ""))
    id_number, _ = identity.check_id_number(str(raw.get("id_number")))
    now = clock.utcnow_naive()
    roles = sorted({ITEM_ROLES[k] for p in permissions for k in ITEM_ROLES if p[k]}
                   | ({"city_admin"} if city_admin else set()) | ({HEAD_ROLE} if dept_head else set()))
    user = User(username=username, password_hash=hash_password(password), display_name=real_name, kind="staff",
                department_id=department.id, phone=phone, active=False, id_number=id_number,
                realname_level=verification.level, realname_at=now, section=section, position=position,
                password_changed_at=now)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same username submitted a moment earlier by someone else
        db.session.rollback()
        raise ServiceError("「用户名」已被使用，请换一个", 422, {"username": "「用户名」已被使用，请换一个"}) from None
    request_ = AccountRequest(kind="new", user_id=user.id, department_id=department.id,
                              region_code=review_region(department, city_admin), submitted_by=user.id,
                              payload={"section": section, "position": position, "roles": roles,
                                       "permissions": permissions, "city_admin": city_admin,
                                       "dept_head": dept_head,
                                       "realname": verification.message})
    db.session.add(request_)
    db.session.flush()
    return Applied(user, request_, verification)


# ---- change and cancellation (requested by the account holder, or by an administrator in scope) ----------------
def _no_open_request(user: User) -> None:
    open_ = db.session.scalar(select(AccountRequest).where(AccountRequest.user_id == user.id,
                                                           AccountRequest.status == "pending"))
    if open_ is not None:
        raise ServiceError(f"该账号已有待审核的{ACCOUNT_REQUEST_KINDS[open_.kind]}申请（编号{open_.id}），"
                           "请等待审核结果后再提交", 409)


def _subject(actor: User, user_id: int) -> User:
    """The account a change or cancellation is about: one's own department account, or one in an administrator's
    scope."""
    if user_id == actor.id:
        if actor.department is None or actor.kind != "staff":
            raise forbid("只有审批部门用户可以申请变更或注销审批账号")
        return actor
    return managed_user(actor, user_id)


@use_case
def request_change(actor: User, user_id: int, raw: dict[str, Any]) -> AccountRequest:
    """科室, 职位 and the item permissions as they should be afterwards (the form shows the current ones ticked):
    the request stores what is added and what removed."""
    user = _subject(actor, user_id)
    _no_open_request(user)
    errors: dict[str, str] = {}
    section = _clean_text(raw, "section", errors)
    position = _clean_text(raw, "position", errors)
    wanted = {(p["item_code"], ITEM_ROLES[k]) for p in _permissions(raw, user.department, errors)
              for k in ITEM_ROLES if p[k]}
    if errors:
        raise _invalid(errors)
    held = {(r.item_code, r.role) for r in db.session.scalars(select(UserItemRole)
                                                               .where(UserItemRole.user_id == user.id))}
    add, remove = sorted(wanted - held), sorted(held - wanted)
    head = _ticked(raw, "dept_head")
    head_change = None if head == (HEAD_ROLE in user.roles) else ("add" if head else "remove")
    if not add and not remove and not head_change and section == user.section and position == user.position:
        raise ServiceError("没有变更：科室、职位、事项权限和部门负责人与现在相同", 422, {"permissions": "请修改后再提交"})
    assert user.department is not None
    row = AccountRequest(kind="change", user_id=user.id, department_id=user.department.id,
                         region_code=user_region(user), submitted_by=actor.id,
                         payload={"section": section, "position": position,
                                  "add": [list(p) for p in add], "remove": [list(p) for p in remove],
                                  "dept_head": head_change})
    db.session.add(row)
    db.session.flush()
    return row


@use_case
def request_cancel(actor: User, user_id: int, raw_reason: Any) -> AccountRequest:
    user = _subject(actor, user_id)
    _no_open_request(user)
    if not user.active:
        raise ServiceError("该账号未启用或已注销", 409)
    reason = str(raw_reason or "").strip()
    if not reason:
        raise ServiceError("请填写「注销原因」", 422, {"reason": "请填写「注销原因」"})
    if len(reason) > REASON_MAX:
        raise ServiceError(f"「注销原因」不能超过{REASON_MAX}字", 422, {"reason": f"「注销原因」不能超过{REASON_MAX}字"})
    assert user.department is not None
    row = AccountRequest(kind="cancel", user_id=user.id, department_id=user.department.id,
                         region_code=user_region(user), submitted_by=actor.id, payload={"reason": reason})
    db.session.add(row)
    db.session.flush()
    return row


# ---- review ---------------------------------------------------------------------------------------------------
def _claimed(user: User, pairs: set[tuple[str, str]] | None = None) -> int:
    """Open tasks the user has claimed (all, or of these (item, role) pairs): nobody else could finish them."""
    query = select(HumanTask.scope, HumanTask.candidate_role).where(HumanTask.assignee == user.actor)
    rows = db.session.execute(query).all()
    return sum(1 for scope, role in rows if pairs is None or (scope, role) in pairs)


def _grant(user: User, pairs: list[tuple[str, str]]) -> None:
    items = {i.code: i for i in items_for(user.department)}
    for code, role in pairs:
        if code not in items:  # deactivated or re-typed since the request: say which, apply nothing
            raise ServiceError(f"事项「{code}」已停用或不属于该部门类型，请驳回后由申请人重新申请", 409)
        if role not in user.roles:
            user.role_rows.append(UserRole(role=role))
        if db.session.get(UserItemRole, (user.id, code, role)) is None:
            db.session.add(UserItemRole(user_id=user.id, item_code=code, role=role))


def _tell(user: User, text: str) -> None:
    """The outcome, by SMS (a new account cannot sign in to read a 待阅) and as a 待阅."""
    if user.phone:
        gateway().send(db.session, user.phone, f"{SIGNATURE}{text}", user.id)
    db.session.add(Notification(user_id=user.id, kind="result", title=text, link="/accounts/mine"))


def _apply(row: AccountRequest, now: Any) -> None:
    user = row.user
    payload = row.payload or {}
    if row.kind == "new":
        user.active = True
        for role in payload.get("roles", []):
            if role not in user.roles:
                user.role_rows.append(UserRole(role=role))
        _grant(user, [(p["item_code"], ITEM_ROLES[k]) for p in payload.get("permissions", [])
                      for k in ITEM_ROLES if p.get(k)])
    elif row.kind == "change":
        remove = {tuple(p) for p in payload.get("remove", [])}
        busy = _claimed(user, remove)  # type: ignore[arg-type]
        if busy:
            raise ServiceError(f"{user.display_name}还有{busy}件已签收的待办属于要撤销的事项权限，"
                               "请先办结、转办或退回签收后再审核", 409)
        for code, role in remove:
            permission = db.session.get(UserItemRole, (user.id, code, role))
            if permission is not None:
                db.session.delete(permission)
        # roles stay: 受理/办理 also serve 备案 and other steps without an item
        _grant(user, [tuple(p) for p in payload.get("add", [])])  # type: ignore[misc]
        if payload.get("dept_head") == "add" and HEAD_ROLE not in user.roles:
            user.role_rows.append(UserRole(role=HEAD_ROLE))
        elif payload.get("dept_head") == "remove":
            user.role_rows[:] = [r for r in user.role_rows if r.role != HEAD_ROLE]
        user.section, user.position = payload.get("section", user.section), payload.get("position", user.position)
    else:  # cancel
        busy = _claimed(user)
        if busy:
            raise ServiceError(f"{user.display_name}还有{busy}件已签收的待办，请先办结、转办或退回签收后再注销", 409)
        user.active = False
        user.cancelled_at = now
        # the item permissions go with the account (the 事项办理人员 lists must not name a cancelled person); the
        # request keeps what they were
        held = list(db.session.scalars(select(UserItemRole).where(UserItemRole.user_id == user.id)))
        row.payload = {**payload, "revoked": sorted([r.item_code, r.role] for r in held)}
        for permission in held:
            db.session.delete(permission)
        # every session of the account ends now, not at its next sign-in
        user.session_generation = (user.session_generation or 0) + 1


@use_case
def decide(admin: User, request_id: int, raw_decision: Any, raw_reason: Any) -> AccountRequest:
    """通过 applies the request; 驳回 needs a reason, shown to the applicant. One decision per request: the row is
    locked, and a second decision (another tab, another administrator) is told who decided."""
    row = reviewable_request(admin, request_id)
    db.session.execute(select(AccountRequest.id).where(AccountRequest.id == row.id).with_for_update())
    db.session.refresh(row)
    if row.user_id == admin.id:
        raise forbid("不能审核本人账号的申请")
    if row.submitted_by == admin.id:  # an administrator's own change or cancellation needs a second pair of eyes
        raise forbid("不能审核本人提交的申请，请由同级的另一位管理员审核")
    if row.status != "pending":
        raise ServiceError(f"该申请已由{decided_by(row)}，请勿重复操作", 409)
    decision = str(raw_decision or "")
    reason = str(raw_reason or "").strip()
    if decision not in ("approve", "reject"):
        raise ServiceError("请选择「审核结果」：通过或驳回", 422, {"decision": "请选择「审核结果」：通过或驳回"})
    if decision == "reject" and not reason:
        raise ServiceError("驳回须填写「驳回理由」", 422, {"reason": "驳回须填写「驳回理由」（申请人将看到）"})
    if len(reason) > REASON_MAX:
        raise ServiceError(f"「驳回理由」不能超过{REASON_MAX}字", 422, {"reason": f"「驳回理由」不能超过{REASON_MAX}字"})
    now = clock.utcnow_naive()
    what = ACCOUNT_REQUEST_KINDS[row.kind]
    if decision == "approve":
        _apply(row, now)
        row.status = "approved"
        _tell(row.user, f"您的审批账号{what}申请（用户名 {row.user.username}）已审核通过。")
    else:
        row.status, row.reason = "rejected", reason
        _tell(row.user, f"您的审批账号{what}申请（用户名 {row.user.username}）被驳回：{reason}")
    row.reviewed_by, row.reviewed_at = admin.id, now
    db.session.flush()
    return row


# ---- what the applicant sees ----------------------------------------------------------------------------------
def my_requests(user: User) -> list[AccountRequest]:
    return list(db.session.scalars(select(AccountRequest).where(AccountRequest.user_id == user.id)
                                   .order_by(AccountRequest.id.desc())))


def status_lookup(raw_username: Any, raw_phone: Any, raw_code: Any) -> tuple[User, list[AccountRequest]]:
    """An applicant who cannot sign in yet (pending or rejected) looks the request up with username and the phone's
    SMS code; the code is checked first, so the answer tells nothing to someone without the phone."""
    phone = identity.check_mobile(str(raw_phone or ""))
    identity.check_code(phone, "apply", str(raw_code or ""))
    db.session.commit()  # the code is spent
    user = db.session.scalar(select(User).where(User.username == str(raw_username or "").strip(),
                                                User.phone == phone))
    if user is None:
        raise ServiceError("未找到该用户名与手机号码对应的申请", 404, {"username": "「用户名」与「手机号码」不匹配"})
    return user, my_requests(user)


def decided_by(row: AccountRequest) -> str:
    """「梁管理于2026-03-10 10:00审核通过」: a second decision is told whose stands."""
    from .filing import visible_datetime

    who = db.session.get(User, row.reviewed_by) if row.reviewed_by else None
    verdict = ACCOUNT_REQUEST_STATUS.get(row.status, row.status)
    return f"{who.display_name if who else '管理员'}于{visible_datetime(row.reviewed_at)}审核{verdict}"


def reviewer_label(region_code: str) -> str:
    """Who reviews a request of this review region, as the applicant is told: 省级管理员 or 某市的市州管理员."""
    region = db.session.get(Region, region_code)
    if region is None or region.level == "province":
        return "省级管理员"
    city = city_of(region)  # a county's accounts are its city's to review
    return f"{(city or region).name}的市州管理员"


def unit_path(department: Department) -> str:
    """广东省江门市江海区 › 江门市江海区发展和改革局."""
    return f"{department.region.full_name} › {department.name}"


def reviewer_names(rows: list[AccountRequest]) -> dict[int, str]:
    ids = {r.reviewed_by for r in rows if r.reviewed_by} | {r.submitted_by for r in rows}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def items_by_code() -> dict[str, ApprovalItem]:
    return {i.code: i for i in db.session.scalars(select(ApprovalItem))}


# ---- the administrators' organisation page ---------------------------------------------------------------------
@dataclass(frozen=True)
class OrgView:
    roots: list[RegionNode]
    users: dict[int, int]  # department id → active accounts
    sections: dict[tuple[int, str], int]  # (department id, 科室) → active accounts
    matched: int  # departments shown


def org(admin: User, q: str = "") -> OrgView:
    """The region → department → 科室 tree in the administrator's scope with active-account counts; `q` keeps the
    departments whose name, 科室 or region name contains it (a region that matches keeps all its departments)."""
    if not is_admin(admin):
        raise forbid("只有管理员可以查看组织机构")
    q = q.strip()
    counts: dict[int, int] = {}
    sections: dict[tuple[int, str], int] = {}
    for department_id, section, n in db.session.execute(
            select(User.department_id, User.section, func.count(User.id))
            .where(User.department_id.is_not(None), User.active).group_by(User.department_id, User.section)):
        counts[department_id] = counts.get(department_id, 0) + n
        if section:
            sections[(department_id, section)] = n
    matched = 0
    codes = scope_regions(admin)
    # whose accounts the administrator reviews: the departments of the scope's regions; a 省级管理员 also the
    # departments where the 市州管理员 they review sit
    admins_at = set(db.session.scalars(select(User.department_id).join(UserRole, UserRole.user_id == User.id)
                                       .where(UserRole.role == "city_admin"))) if "province_admin" in admin.roles else set()

    def allowed(department: Department) -> bool:
        return codes is None or review_region(department) in codes or department.id in admins_at

    def prune(node: RegionNode) -> RegionNode | None:
        nonlocal matched
        children = [c for c in (prune(c) for c in node.children) if c is not None]
        departments = [d for d in node.departments if allowed(d)]
        if q and q not in node.region.name:
            departments = [d for d in departments if q in d.name or any(q in s for s in node.sections.get(d.id, []))]
        matched += len(departments)
        in_scope = codes is None or node.region.code in codes
        if not departments and not children and (q or not in_scope):
            return None
        return RegionNode(node.region, departments, children, node.sections)

    roots = [n for n in (prune(r) for r in tree()) if n is not None]
    return OrgView(roots, counts, sections, matched)


def request_permissions(row: AccountRequest) -> list[tuple[str, str, str]]:
    """What a request asks for, as (item name, 受理/办理, 新增/撤销) rows for the review page."""
    names = {code: item.name for code, item in items_by_code().items()}
    payload = row.payload or {}
    out: list[tuple[str, str, str]] = []
    for p in payload.get("permissions", []):
        for key, role in ITEM_ROLES.items():
            if p.get(key):
                out.append((names.get(p["item_code"], p["item_code"]), PERMISSION_LABELS[role], "申请"))
    for verb, key in (("新增", "add"), ("撤销", "remove"), ("随注销撤销", "revoked")):
        for code, role in payload.get(key, []):
            out.append((names.get(code, code), PERMISSION_LABELS.get(role, role), verb))
    head = payload.get("dept_head")
    if head:  # True on a new account's request, "add" or "remove" on a change
        out.append(("本部门全部在办任务（查看、转办）", "部门负责人", {"add": "新增", "remove": "撤销"}.get(head, "申请")))
    return out


def held_permissions(user: User) -> set[tuple[str, str]]:
    return {(r.item_code, r.role) for r in db.session.scalars(select(UserItemRole)
                                                              .where(UserItemRole.user_id == user.id))}
