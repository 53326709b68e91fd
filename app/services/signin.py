"""Sign-in (002 §2.1, issue 13): password with an image captcha after a failure, SMS code, lockout counted from the
sign-in log, forced change of an initial or reset password, reset by SMS code, the real-person check of legacy
department accounts (002 §1.2), and the interface a province's CA-certificate or unified-identity sign-in plugs into.

Every attempt writes a SigninLog row in its own committed transaction, so a refused attempt is recorded although
the request fails, and lockout is counted from those rows: no separate counter can drift from the log.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from engine import clock

from ..extensions import db
from ..models import SigninLog, User
from . import ServiceError, forbid, identity, use_case
from .accounts import hash_password, verify_password
from .staff_accounts import is_admin, scope_join, scope_regions

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Results that count towards captcha and lockout. "locked" does not: attempts refused while locked must not
# extend the lock forever, and the password was not even looked at.
FAILURES = ("bad_password", "bad_code", "bad_captcha", "unknown", "inactive")
# Department accounts that 002 §1.2 sends to the real-person check at their next sign-in.
VERIFY_KINDS = ("staff", "policy", "admin")
WRONG = "用户名或密码错误"


@dataclass(frozen=True)
class Limits:
    account_failures: int
    source_failures: int
    window: timedelta
    lock: timedelta
    captcha_after: int

    @property
    def words(self) -> str:
        """The rule as the sign-in page and README say it."""
        return (f"同一账号{int(self.window.total_seconds() // 60)}分钟内登录失败{self.account_failures}次、"
                f"同一网络地址{int(self.window.total_seconds() // 60)}分钟内失败{self.source_failures}次，"
                f"将锁定{int(self.lock.total_seconds() // 60)}分钟（自最后一次失败起计）；失败一次后须填写图形验证码。")


def limits() -> Limits:
    c = current_app.config
    return Limits(c["SIGNIN_ACCOUNT_FAILURES"], c["SIGNIN_SOURCE_FAILURES"],
                  timedelta(minutes=c["SIGNIN_WINDOW_MINUTES"]), timedelta(minutes=c["SIGNIN_LOCK_MINUTES"]),
                  c["SIGNIN_CAPTCHA_AFTER"])


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from, as the log keeps it."""
    source: str
    user_agent: str = ""


class SigninRefused(ServiceError):
    """A refused attempt; `captcha`: the page must show the image captcha from now on."""

    def __init__(self, message: str, result: str, status: int = 401, errors: Mapping[str, str] | None = None):
        super().__init__(message, status, errors)
        self.result = result
        self.captcha = True


# ---- the log ------------------------------------------------------------------------------------------------
def record(client: Client, method: str, result: str, *, user: User | None = None, typed: str = "") -> None:
    """One attempt in its own committed transaction (whatever the request did so far is rolled back first: a
    refused attempt writes nothing else)."""
    db.session.rollback()
    db.session.add(_row(client, method, result, user, typed))
    db.session.commit()


def _row(client: Client, method: str, result: str, user: User | None, typed: str) -> SigninLog:
    return SigninLog(at=clock.utcnow_naive(), user_id=user.id if user else None,
                     username=(user.username if user and not typed else typed)[:50], source=client.source[:45],
                     method=method[:10], result=result, user_agent=client.user_agent[:200])


# ---- lockout and captcha --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Gate:
    locked_until: datetime | None = None  # UTC, naive
    whose: str = ""  # "account" | "source"
    captcha: bool = False


def _lock_until(failures: list[datetime], threshold: int, lim: Limits) -> datetime | None:
    """`failures`: the latest `threshold` failure times, newest first. Locked when that many fell within the window,
    until the lock time after the newest."""
    if len(failures) < threshold or failures[0] - failures[-1] > lim.window:
        return None
    until = failures[0] + lim.lock
    return until if until > clock.utcnow_naive() else None


def _failures(where, since: datetime, limit: int) -> list[datetime]:
    return list(db.session.scalars(select(SigninLog.at).where(where, SigninLog.result.in_(FAILURES),
                                                              SigninLog.at > since)
                                   .order_by(SigninLog.at.desc()).limit(limit)))


def _account_where(user: User | None, typed: str):
    # Unknown names are counted by the name typed, so they lock exactly as a real account does (no enumeration).
    return SigninLog.user_id == user.id if user else and_(SigninLog.user_id.is_(None), SigninLog.username == typed)


def gate(user: User | None, typed: str, source: str) -> Gate:
    lim = limits()
    now = clock.utcnow_naive()
    since = now - lim.window - lim.lock
    account_since = since
    if user is not None:
        # a sign-in or a new password (reset by SMS) starts the account's count again
        last_ok = db.session.scalar(select(func.max(SigninLog.at)).where(SigninLog.user_id == user.id,
                                                                         SigninLog.result == "ok"))
        account_since = max(t for t in (since, last_ok, user.password_changed_at) if t is not None)
    account = _failures(_account_where(user, typed[:50]), account_since, lim.account_failures)
    by_source = _failures(SigninLog.source == source[:45], since, lim.source_failures)
    if until := _lock_until(by_source, lim.source_failures, lim):
        return Gate(until, "source", True)
    if until := _lock_until(account, lim.account_failures, lim):
        return Gate(until, "account", True)
    recent = now - lim.window
    captcha = (sum(t > recent for t in account) >= lim.captcha_after
               or sum(t > recent for t in by_source) >= lim.captcha_after)
    return Gate(captcha=captcha)


def source_needs_captcha(source: str) -> bool:
    return gate(None, "", source).captcha


def beijing_minute(value: datetime) -> str:
    """A UTC moment as the Beijing minute at or after it ("11:45"; with the date when not today), so a person who
    comes back at the time shown is let in."""
    local = value.replace(tzinfo=UTC).astimezone(SHANGHAI)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    today = clock.utcnow_naive().replace(tzinfo=UTC).astimezone(SHANGHAI).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")


def _locked(g: Gate) -> SigninRefused:
    when = beijing_minute(g.locked_until)
    if g.whose == "source":
        return SigninRefused(f"当前网络地址登录失败次数过多，已暂时锁定，请于 {when} 后再试", "locked", 429)
    return SigninRefused(f"账号已锁定，请于 {when} 后再试或通过短信验证码找回密码", "locked", 429)


# ---- image captcha ----------------------------------------------------------------------------------------------
CAPTCHA_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: people misread them
CAPTCHA_TTL = timedelta(minutes=5)


def captcha_text() -> str:
    return "".join(secrets.choice(CAPTCHA_ALPHABET) for _ in range(4))


def captcha_digest(answer: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"captcha:" + answer.strip().upper().encode(), hashlib.sha256).hexdigest()


def new_captcha() -> tuple[bytes, dict]:
    """A PNG and what the session keeps of it: the keyed hash of the answer (never the answer) and when it was
    made. The session cookie is readable by its holder, so only the hash may be there."""
    from captcha.image import ImageCaptcha

    text = captcha_text()
    image: BytesIO = ImageCaptcha(width=160, height=60).generate(text)
    return image.getvalue(), {"h": captcha_digest(text), "t": clock.utcnow_naive().isoformat()}


def captcha_matches(stored: dict | None, answer: str) -> bool:
    """The caller pops `stored` from the session first: an answer is checked once, right or wrong."""
    if not stored or not answer or not isinstance(stored, dict):
        return False
    try:
        made = datetime.fromisoformat(stored["t"])
    except (KeyError, TypeError, ValueError):
        return False
    if clock.utcnow_naive() - made > CAPTCHA_TTL:
        return False
    return hmac.compare_digest(str(stored.get("h", "")), captcha_digest(answer))


def _check_captcha(g: Gate, captcha_ok: bool | None, client: Client, method: str, user: User | None,
                   typed: str) -> None:
    if not g.captcha or captcha_ok:
        return
    record(client, method, "bad_captcha", user=user, typed=typed)
    if captcha_ok is None:
        raise SigninRefused("请输入图形验证码", "bad_captcha", 401, {"captcha": "请输入图中的4位字符"})
    raise SigninRefused("图形验证码不正确，请重新输入", "bad_captcha", 401, {"captcha": "图形验证码不正确（不区分大小写）"})


# ---- signing in ----------------------------------------------------------------------------------------------
def usable(user: User | None) -> bool:
    return user is not None and user.active and user.cancelled_at is None


def _succeed(client: Client, method: str, user: User, typed: str) -> User:
    user.last_login_at = clock.utcnow_naive()
    db.session.add(_row(client, method, "ok", user, typed))
    db.session.commit()
    return user


def password_signin(username: str, password: str, captcha_ok: bool | None, client: Client) -> User:
    """`captcha_ok`: None when no answer was given, else whether it matched."""
    typed = (username or "").strip()[:50]
    if not typed or not password:  # nothing was tried: not a failure to count (nor a pseudo-account "" to lock)
        errors = {k: f"请填写「{label}」" for k, label, v in (("username", "用户名", typed), ("password", "密码", password))
                  if not v}
        raise SigninRefused("；".join(errors.values()), "empty", 422, errors)
    user = db.session.scalars(select(User).where(User.username == typed)).unique().first()
    g = gate(user, typed, client.source)
    if g.locked_until:
        record(client, "password", "locked", user=user, typed=typed)
        raise _locked(g)
    _check_captcha(g, captcha_ok, client, "password", user, typed)
    if not verify_password(user, password):
        record(client, "password", "bad_password" if user else "unknown", user=user, typed=typed)
        raise SigninRefused(WRONG, "bad_password")
    if not usable(user):
        # the password was right, so saying why is no enumeration
        record(client, "password", "inactive", user=user, typed=typed)
        raise SigninRefused("该账号未启用（待审核）或已注销，请联系管理员", "inactive", 403)
    return _succeed(client, "password", user, typed)


def _phone_user(phone: str) -> User | None:
    """The one usable account with this phone number (None when none or several: then SMS sign-in is not offered
    for it and the person signs in with the username)."""
    rows = list(db.session.scalars(select(User).where(User.phone == phone, User.active.is_(True),
                                                      User.cancelled_at.is_(None)).limit(2)).unique())
    return rows[0] if len(rows) == 1 else None


SENT = "如{who}，验证码已发送，{minutes}分钟内有效；{resend}秒后可重新获取"


def _sent(who: str) -> str:
    return SENT.format(who=who, minutes=int(identity.CODE_TTL.total_seconds() // 60),
                       resend=int(identity.CODE_RESEND.total_seconds()))


@use_case
def send_signin_code(phone: str, source: str | None) -> str:
    """The same answer whether or not the number has an account (no enumeration): an unbound number is checked,
    refused and counted exactly as a bound one (resend wait, daily cap, per-source cap), but gets no SMS."""
    phone = identity.check_mobile(phone)
    user = _phone_user(phone)
    identity.send_code(phone, "signin", user.id if user else None, source=source, deliver=user is not None)
    return _sent("该手机号已登记在本平台账号上")


def sms_signin(phone: str, code: str, captcha_ok: bool | None, client: Client) -> User:
    typed = (phone or "").strip()[:50]
    try:
        phone = identity.check_mobile(phone)
    except ServiceError as exc:
        record(client, "sms", "unknown", typed=typed)
        raise SigninRefused(exc.message, "unknown", 422, exc.errors) from None
    user = _phone_user(phone)
    g = gate(user, phone, client.source)
    if g.locked_until:
        record(client, "sms", "locked", user=user, typed=phone)
        raise _locked(g)
    _check_captcha(g, captcha_ok, client, "sms", user, phone)
    if user is None:
        record(client, "sms", "unknown", typed=phone)
        # what check_code says when no code was sent: an unbound number reads like a bound one
        raise SigninRefused("短信验证码已失效，请重新获取", "unknown", 401, {"sms_code": "短信验证码已失效，请重新获取"})
    try:
        identity.check_code(phone, "signin", code)  # commits a wrong try itself, before anything else is written
    except ServiceError as exc:
        record(client, "sms", "bad_code", user=user, typed=phone)
        raise SigninRefused(exc.message, "bad_code", 401, exc.errors) from None
    return _succeed(client, "sms", user, phone)


# ---- after sign-in: forced change and the real-person check -------------------------------------------------------
def needs_verification(user: User) -> bool:
    return user.kind in VERIFY_KINDS and user.realname_level == "none"


def _new_password(user: User, new: str, confirm: str) -> str:
    identity.check_password(new, username=user.username, phone=user.phone, field="new_password", label="新密码")
    if new != confirm:
        raise ServiceError("两次输入的新密码不一致", 422, {"confirm": "两次输入的新密码不一致"})
    return hash_password(new)


@use_case
def change_password(user: User, old: str, new: str, confirm: str) -> None:
    """With the old password. Every other session of the user ends (a new generation); the caller signs this
    browser in again with the new one."""
    if not verify_password(user, old):
        raise ServiceError("原密码不正确", 422, {"old_password": "原密码不正确"})
    if old == new:
        raise ServiceError("新密码不能与原密码相同", 422, {"new_password": "新密码不能与原密码相同"})
    user.password_hash = _new_password(user, new, confirm)
    user.must_change_password = False
    user.password_changed_at = clock.utcnow_naive()
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    db.session.flush()
    db.session.refresh(user)


def _reset_user(username: str, phone: str) -> User | None:
    user = db.session.scalars(select(User).where(User.username == (username or "").strip()[:50])).unique().first()
    return user if usable(user) and user.phone and user.phone == phone else None


@use_case
def send_reset_code(username: str, phone: str, source: str | None) -> str:
    """As send_signin_code: a pair that does not match is refused and counted like one that does, and gets no SMS."""
    phone = identity.check_mobile(phone)
    user = _reset_user(username, phone)
    identity.send_code(phone, "reset", user.id if user else None, source=source, deliver=user is not None)
    return _sent("用户名与手机号匹配")


@use_case
def reset_password(username: str, phone: str, code: str, new: str, confirm: str) -> User:
    """找回密码: username + the phone on the account + its SMS code → a new password; every session ends."""
    phone = identity.check_mobile(phone)
    user = _reset_user(username, phone)
    if user is None:
        # no code was sent for a pair that does not match: say what check_code says then
        raise ServiceError("短信验证码已失效，请重新获取", 422, {"sms_code": "短信验证码已失效，请重新获取"})
    new_hash = _new_password(user, new, confirm)  # refused before the code is spent
    identity.check_code(phone, "reset", code)
    user.password_hash = new_hash
    user.must_change_password = False  # chosen by the person, not handed out
    user.password_changed_at = clock.utcnow_naive()  # also restarts the account's lockout count
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    return user


@use_case
def send_verify_code(user: User, source: str | None) -> str:
    if not user.phone:
        raise ServiceError("账号未登记手机号，无法发送验证码，请联系管理员", 422, {"sms_code": "账号未登记手机号"})
    identity.send_code(user.phone, "verify", user.id, source=source)
    return f"验证码已发送至 {mask_phone(user.phone)}，{int(identity.CODE_TTL.total_seconds() // 60)}分钟内有效"


@use_case
def verify_person(user: User, real_name: str, id_number: str, code: str) -> identity.Verification:
    """002 §1.2: a legacy department account confirms the real person (name + ID number through the configured
    verifier) and that it holds the phone on the account (SMS code)."""
    if not needs_verification(user):
        raise ServiceError("该账号无需进行实名核验", 409)
    real_name = (real_name or "").strip()
    result = identity.verifier().verify(real_name, id_number)  # refusals before the code is spent
    number, _ = identity.check_id_number(id_number)
    if not user.phone:
        raise ServiceError("账号未登记手机号，请联系管理员", 422, {"sms_code": "账号未登记手机号"})
    identity.check_code(user.phone, "verify", code)
    user.display_name = real_name[:50]  # the verified real name is the account's name, as registration keeps it
    user.id_number = number
    user.realname_level = result.level
    user.realname_at = clock.utcnow_naive()
    return result


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else phone


# ---- sign-in logs ------------------------------------------------------------------------------------------------
PER_PAGE = 30


@dataclass
class LogPage:
    rows: list[tuple[SigninLog, User | None]]
    page: int
    has_next: bool


def log_page(viewer: User, *, own: bool, q: str = "", result: str = "", page: int = 1,
             per_page: int = PER_PAGE) -> LogPage:
    """The viewer's own attempts, or (an administrator) the attempts on accounts in their scope; the system
    administrator also sees attempts on names that match no account. Newest first, one bounded page."""
    page = max(1, min(page, 10_000))
    stmt = select(SigninLog, User).outerjoin(User, User.id == SigninLog.user_id)
    if own:
        stmt = stmt.where(SigninLog.user_id == viewer.id)
    else:
        if not is_admin(viewer):
            raise forbid("只有管理员可以查看登录日志")
        codes = scope_regions(viewer)
        if codes is not None:
            stmt = scope_join(stmt, codes)  # the accounts whose review region is in the scope
        if q := (q or "").strip()[:50]:
            like = f"%{q}%"
            stmt = stmt.where(or_(SigninLog.username.ilike(like, escape="\\"), User.display_name.ilike(like)))
    if result in FAILURES + ("ok", "locked"):
        stmt = stmt.where(SigninLog.result == result)
    rows = list(db.session.execute(stmt.order_by(SigninLog.id.desc()).offset((page - 1) * per_page)
                                   .limit(per_page + 1)).unique())
    return LogPage([(r[0], r[1]) for r in rows[:per_page]], page, len(rows) > per_page)


# ---- other sign-in methods (CA certificate, provincial unified identity) ----------------------------------------
class SigninProvider(Protocol):
    """A sign-in the platform does not do itself (002 方式二 数字证书, 000 §1.2 省统一身份认证). A province
    lists its classes in SIGNIN_PROVIDERS ("package.module:Class"); each gets a button on the sign-in page."""

    key: str  # in the URL (/login/with/<key>) and the log's method, ≤ 10 characters
    label: str  # the button, e.g. 「CA数字证书登录」

    def start(self, callback_url: str) -> str:
        """Where to send the browser (the provider's page, which comes back to callback_url)."""
        ...

    def finish(self, args: Mapping[str, str]) -> str | None:
        """The platform username the provider vouches for, from the callback's query; None when it refused."""
        ...


_providers: dict[str, SigninProvider] = {}


def providers() -> list[SigninProvider]:
    out = []
    for path in current_app.config.get("SIGNIN_PROVIDERS", []):
        if path not in _providers:
            module, _, name = path.partition(":")
            _providers[path] = getattr(importlib.import_module(module), name)()
        out.append(_providers[path])
    return out


def provider(key: str) -> SigninProvider | None:
    return next((p for p in providers() if p.key == key), None)


def provider_signin(p: SigninProvider, args: Mapping[str, str], client: Client) -> User:
    username = p.finish(args)
    method = p.key[:10]
    if not username:
        record(client, method, "unknown", typed=f"({p.key})")
        raise SigninRefused(f"{p.label}未通过，请重试或使用账号密码登录", "unknown")
    user = db.session.scalars(select(User).where(User.username == username[:50])).unique().first()
    g = gate(user, username, client.source)
    if g.locked_until:
        record(client, method, "locked", user=user, typed=username)
        raise _locked(g)
    if not usable(user):
        record(client, method, "inactive" if user else "unknown", user=user, typed=username)
        raise SigninRefused("该证书或身份对应的账号不存在、未启用或已注销，请联系管理员", "inactive", 403)
    return _succeed(client, method, user, username)
