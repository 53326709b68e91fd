"""Applicants register themselves (000 §1.1): an individual (个人用户, who may later act as a 经办人) or a legal person
(法人用户: the enterprise with its 统一社会信用代码, business licence and the legal representative's ID card). Both
verify their mobile number by SMS code and their real name through the configured verifier. Also 企业信息: change
of mobile number (a code to the old number, then one to the new) and account cancellation (注销)."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from stdnum.cn import uscc as uscc_check
from stdnum.exceptions import ValidationError

from engine import clock

from ..extensions import db
from ..models import (
    FILING_STATUS,
    REQUEST_STATUS,
    AgentAuthorization,
    Declaration,
    Enterprise,
    FilingApplication,
    PostRequest,
    Project,
    Upload,
    User,
    UserRole,
)
from . import ServiceError, forbid, use_case
from . import uploads as upload_store
from .accounts import hash_password, verify_password
from .identity import (
    Verification,
    check_code,
    check_id_number,
    check_mobile,
    check_password,
    check_username,
    send_code,
    verifier,
)

SCAN_MAX = 10 * 1024 * 1024  # both scans fit in one request (MAX_CONTENT_LENGTH is 21 MB)
SCAN_KINDS = "PDF、JPG 或 PNG"
PHONE_CHANGE_WINDOW = timedelta(minutes=10)  # after the old number's code, the new number must follow within this


# ---- field checks, collected so the page names every wrong field at once ------------------------------------------
class Fields:
    def __init__(self, raw: dict[str, Any]):
        self.raw = raw
        self.errors: dict[str, str] = {}

    def text(self, name: str, label: str, limit: int, required: bool = True) -> str:
        value = (self.raw.get(name) or "").strip()
        if required and not value:
            self.errors[name] = f"请填写「{label}」"
        elif len(value) > limit:
            self.errors[name] = f"「{label}」不能超过{limit}字"
        return value

    def check(self, fn: Callable[..., Any], *args: Any, rename: dict[str, str] | None = None, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except ServiceError as exc:
            for field, message in (exc.errors or {"_": exc.message}).items():
                self.errors.setdefault((rename or {}).get(field, field), message)
            return None

    def done(self) -> None:
        if self.errors:
            raise ServiceError("注册信息有误，请按提示修改后重新提交", 422, self.errors)


def _username(fields: Fields) -> str:
    username = (fields.raw.get("username") or "").strip()
    fields.check(check_username, username)
    return username


def _password(fields: Fields, username: str, phone: str) -> str:
    password = fields.raw.get("password") or ""
    fields.check(check_password, password, username=username, phone=phone or "")
    if "password" not in fields.errors and password != (fields.raw.get("password2") or ""):
        fields.errors["password2"] = "两次输入的「密码」不一致"
    return password


def _phone_free(phone: str, except_user: int | None = None) -> bool:
    """One account per mobile number: SMS sign-in and password reset find the account by it (signin._phone_user
    offers neither for a number that two usable accounts share)."""
    query = select(User.id).where(User.phone == phone, User.active.is_(True), User.cancelled_at.is_(None))
    if except_user is not None:
        query = query.where(User.id != except_user)
    return db.session.scalar(query) is None


def _phone(fields: Fields, field: str = "phone", label: str = "手机号码") -> str:
    phone = fields.check(check_mobile, fields.raw.get(field, ""), field, label)
    if phone and not _phone_free(phone):
        fields.errors[field] = f"该「{label}」已注册账号，请直接登录（忘记密码可用短信找回）"
    return phone or ""


@use_case
def send_register_code(raw_phone: str, source: str | None) -> timedelta:
    phone = check_mobile(raw_phone)
    if not _phone_free(phone):
        raise ServiceError("该手机号码已注册", 409, {"phone": "该「手机号码」已注册账号，请直接登录"})
    return send_code(phone, "register", source=source)


def _new_user(kind: str, username: str, password: str, display_name: str, phone: str, id_number: str,
              verification: Verification) -> User:
    now = clock.utcnow_naive()
    user = User(username=username, password_hash=hash_password(password), display_name=display_name, kind=kind,
                phone=phone, id_number=id_number, realname_level=verification.level, realname_at=now,
                password_changed_at=now, created_at=now)
    user.role_rows = [UserRole(role="applicant")]
    db.session.add(user)
    return user


@dataclass(frozen=True)
class Registered:
    user: User
    verification: Verification


@use_case
def register_individual(raw: dict[str, Any]) -> Registered:
    fields = Fields(raw)
    name = fields.text("real_name", "真实姓名", 20)
    id_number = (raw.get("id_number") or "").strip().upper()
    verification = fields.check(verifier().verify, name, id_number) if name else None
    if not name:
        fields.check(check_id_number, id_number)
    elif verification and db.session.scalar(select(User.id).where(
            User.kind == "individual", User.id_number == id_number, User.active.is_(True))) is not None:
        fields.errors["id_number"] = "该「身份证号码」已注册个人账号，请直接登录"
    phone = _phone(fields)
    username = _username(fields)
    password = _password(fields, username, phone)
    fields.text("sms_code", "短信验证码", 6)
    fields.done()
    check_code(phone, "register", raw.get("sms_code", ""))  # before any write: a wrong code commits its attempt
    user = _new_user("individual", username, password, name, phone, id_number, verification)
    return Registered(user, verification)


# ---- scans of the business licence and the ID card --------------------------------------------------------------
def _scan_kind(content: bytes) -> str | None:
    """What the bytes are (never the file name): a PDF, or a JPEG or PNG image that is whole."""
    if content[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff") and content.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in content[-16:]:
        return "png"
    return None


def _check_scan(fields: Fields, field: str, label: str, content: bytes | None) -> str | None:
    if not content:
        fields.errors[field] = f"请上传「{label}」（{SCAN_KINDS}）"
        return None
    if len(content) > SCAN_MAX:
        fields.errors[field] = f"「{label}」超过{SCAN_MAX // (1024 * 1024)}MB上限，请压缩后上传"
        return None
    kind = _scan_kind(content)
    if kind is None:
        fields.errors[field] = f"「{label}」只接受{SCAN_KINDS}文件（文件内容不是这几种格式或不完整）"
    elif kind == "pdf":
        fields.check(upload_store.check_pdf, content, field)
    return kind


def _store_scan(content: bytes, kind: str) -> str:
    """Kept by content hash beside the other uploads (uploads.store checks and stores a PDF; an image, whose
    signature and end marker were checked, is written the same way)."""
    if kind == "pdf":
        return upload_store.store(content).sha256
    sha256 = hashlib.sha256(content).hexdigest()
    if db.session.get(Upload, sha256) is None:
        path = upload_store._blob_path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            os.replace(tmp, path)
        db.session.add(Upload(sha256=sha256, size=len(content), pages=None))
        db.session.flush()
    return sha256


@use_case
def register_enterprise(raw: dict[str, Any], licence: bytes | None, id_card: bytes | None) -> Registered:
    fields = Fields(raw)
    name = fields.text("enterprise_name", "企业名称", 200)
    code = (raw.get("uscc") or "").strip().upper()
    existing = None
    try:
        code = uscc_check.validate(code)
        existing = db.session.scalar(select(Enterprise).where(Enterprise.uscc == code))
    except ValidationError:
        fields.errors["uscc"] = "「统一社会信用代码」有误：须为18位，请核对校验位"
    if existing is not None and db.session.scalar(select(User.id).where(
            User.enterprise_id == existing.id, User.kind == "enterprise", User.active.is_(True))) is not None:
        fields.errors["uscc"] = ("该「统一社会信用代码」的企业已注册法人账号：一个企业只能注册一次。"
                                 "请法人直接登录；如需代企业办理，请注册个人用户并请法人授权为经办人")
    rep = fields.text("legal_rep", "法定代表人姓名", 20)
    rep_id = (raw.get("legal_rep_id") or "").strip().upper()
    verification = fields.check(verifier().verify, rep, rep_id, rename={"real_name": "legal_rep",
                                                                         "id_number": "legal_rep_id"})
    address = fields.text("address", "企业地址", 300)
    phone = _phone(fields)
    username = _username(fields)
    password = _password(fields, username, phone)
    fields.text("sms_code", "短信验证码", 6)
    licence_kind = _check_scan(fields, "licence", "营业执照", licence)
    id_kind = _check_scan(fields, "id_card", "法定代表人身份证", id_card)
    fields.done()
    check_code(phone, "register", raw.get("sms_code", ""))  # before any write
    enterprise = existing or Enterprise(uscc=code)  # an enterprise whose account was cancelled registers anew
    enterprise.name, enterprise.legal_rep, enterprise.legal_rep_id = name, rep, rep_id
    enterprise.address, enterprise.phone = address, phone
    enterprise.licence_sha256 = _store_scan(licence, licence_kind)
    enterprise.legal_rep_id_sha256 = _store_scan(id_card, id_kind)
    enterprise.registered_at = clock.utcnow_naive()
    db.session.add(enterprise)
    db.session.flush()
    user = _new_user("enterprise", username, password, rep, phone, rep_id, verification)
    user.enterprise_id = enterprise.id
    return Registered(user, verification)


def scan_of(user: User, which: str) -> tuple[bytes, str]:
    """The enterprise's licence or ID-card scan, for its own legal-person account only: (bytes, mimetype)."""
    enterprise = user.enterprise
    if user.kind != "enterprise" or enterprise is None:
        raise forbid("只有企业法人账号可以查看本企业的证照")
    sha = {"licence": enterprise.licence_sha256, "id_card": enterprise.legal_rep_id_sha256}.get(which)
    if not sha:
        raise ServiceError("未上传该证照", 404)
    content = upload_store.read_blob(sha)
    kind = _scan_kind(content)
    return content, {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}.get(kind or "",
                                                                                           "application/octet-stream")


# ---- change of mobile number: the old number first, then the new one ----------------------------------------------
@use_case
def send_phone_code(user: User, raw_phone: str | None, source: str | None) -> tuple[str, timedelta]:
    """A code to the account's own number (raw_phone None) or to the new one."""
    if raw_phone is None:
        if not user.phone:
            raise ServiceError("账号未登记手机号码", 409)
        return user.phone, send_code(user.phone, "phone", user.id, source=source)
    phone = check_mobile(raw_phone, "new_phone", "新手机号码")
    if phone == user.phone:
        raise ServiceError("新号码与原号码相同", 422, {"new_phone": "「新手机号码」与原号码相同"})
    if not _phone_free(phone, user.id):
        raise ServiceError("该号码已注册", 409, {"new_phone": "该「新手机号码」已注册其他账号"})
    return phone, send_code(phone, "phone", user.id, source=source)


@use_case
def confirm_old_phone(user: User, code: str) -> None:
    check_code(user.phone, "phone", code, "old_code")


def old_phone_confirmed(confirmed_at: float | None) -> bool:
    """Whether the old number was confirmed recently enough (the moment is kept in the signed session)."""
    if confirmed_at is None:
        return False
    return clock.now().timestamp() - confirmed_at <= PHONE_CHANGE_WINDOW.total_seconds()


@use_case
def change_phone(user: User, raw_phone: str, code: str, confirmed_at: float | None) -> str:
    if not old_phone_confirmed(confirmed_at):
        raise ServiceError("请先验证原手机号码", 409, {"old_code": "请先用发送到原手机号码的验证码完成验证（10分钟内有效）"})
    phone = check_mobile(raw_phone, "new_phone", "新手机号码")
    if not _phone_free(phone, user.id):
        raise ServiceError("该号码已注册", 409, {"new_phone": "该「新手机号码」已注册其他账号"})
    check_code(phone, "phone", code, "new_code")
    user.phone = phone
    if user.kind == "enterprise" and user.enterprise is not None:
        user.enterprise.phone = phone
    return phone


# ---- account cancellation (注销) -------------------------------------------------------------------------------
OPEN_FILING = ("submitted", "accepted", "reviewed", "correction")
OPEN_REQUEST = ("submitted", "accepted", "reviewed")


def open_cases(enterprise_id: int) -> list[str]:
    """The enterprise's cases still with a department, named for the refusal."""
    rows: list[str] = []
    for app, project in db.session.execute(select(FilingApplication, Project).join(
            Project, Project.id == FilingApplication.project_id).where(
            FilingApplication.enterprise_id == enterprise_id, FilingApplication.status.in_(OPEN_FILING))):
        rows.append(f"{project.name}（{project.code}）的备案申请：{FILING_STATUS.get(app.status, app.status)}")
    for _, project in db.session.execute(select(Declaration, Project).join(
            Project, Project.id == Declaration.project_id).where(
            Declaration.enterprise_id == enterprise_id, Declaration.status == "handling")):
        rows.append(f"{project.name}（{project.code}）的审批事项：办理中")
    for request, project in db.session.execute(select(PostRequest, Project).join(
            Project, Project.id == PostRequest.project_id).where(
            PostRequest.enterprise_id == enterprise_id, PostRequest.status.in_(OPEN_REQUEST))):
        kind = {"change": "变更", "extension": "延期"}.get(request.kind, request.kind)
        rows.append(f"{project.name}（{project.code}）的{kind}申请：{REQUEST_STATUS.get(request.status, request.status)}")
    return rows


@use_case
def cancel_account(user: User, password: str) -> int:
    """注销: the password again; a legal person's cancellation is refused while its cases are with a department, and
    revokes its 经办人; the account never signs in again and every session ends. Returns the authorisations revoked."""
    if not verify_password(user, password):
        raise ServiceError("密码不正确", 422, {"password": "「登录密码」不正确"})
    if user.kind not in ("enterprise", "individual"):
        raise forbid("审批部门账号的注销须由管理员审核，请在账号管理中申请")
    now = clock.utcnow_naive()
    revoke = update(AgentAuthorization).where(AgentAuthorization.revoked_at.is_(None)).values(
        revoked_at=now, revoked_by=user.id).execution_options(synchronize_session=False)
    if user.kind == "enterprise" and user.enterprise_id is not None:
        pending = open_cases(user.enterprise_id)
        if pending:
            raise ServiceError("企业尚有办理中的业务，不能注销：" + "；".join(pending)
                               + "。请待办结或撤回后再注销", 409)
        revoked = db.session.execute(revoke.where(AgentAuthorization.enterprise_id == user.enterprise_id)).rowcount
    else:
        revoked = db.session.execute(revoke.where(AgentAuthorization.agent_id == user.id)).rowcount
        user.enterprise_id = None
    user.active, user.cancelled_at = False, now
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    return revoked or 0
