"""The checks every account use case shares (issue 13): password rules, mobile numbers, resident ID numbers,
SMS verification codes, and the real-name verifier a province plugs in.

Registration, sign-in, password reset, phone change and reviewer applications all go through these, so a rule
(a code's lifetime, the password length) is written once.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import func, select, update
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from engine import clock

from ..extensions import db
from ..models import SMS_PURPOSES, SmsCode, User
from . import ServiceError
from .notify import SIGNATURE, gateway

# ---- user names ----------------------------------------------------------------------------------------------
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,29}")
USERNAME_RULE = "4–30位，以字母开头，可含字母、数字、下划线"


def check_username(username: str, field: str = "username") -> str:
    """A new account's user name: the pattern, and not taken by any account in any letter case (so「Qiye」cannot
    pose as「qiye」); a 422 naming the field otherwise. The unique index still decides a race."""
    username = username.strip()
    problem = None
    if not USERNAME.fullmatch(username):
        problem = f"「用户名」须为{USERNAME_RULE}"
    elif db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        problem = "该「用户名」已被使用，请换一个"
    if problem:
        raise ServiceError(problem, 422, {field: problem})
    return username


# ---- passwords --------------------------------------------------------------------------------------------
PASSWORD_MIN, PASSWORD_MAX = 8, 64
PASSWORD_RULE = f"{PASSWORD_MIN}–{PASSWORD_MAX}位，含大写字母、小写字母、数字、符号中的至少三类，不含用户名或手机号"


def check_password(password: str, *, username: str = "", phone: str = "", field: str = "password",
                   label: str = "密码") -> str:
    """A new password that keeps the rules (等保 2.0 三级 asks for complexity and no personal data), or a 422."""
    problem = None
    classes = sum(bool(re.search(p, password)) for p in (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]"))
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        problem = f"「{label}」须为{PASSWORD_MIN}–{PASSWORD_MAX}位"
    elif classes < 3:
        problem = f"「{label}」须含大写字母、小写字母、数字、符号中的至少三类"
    elif any(part and len(part) >= 4 and part.lower() in password.lower() for part in (username, phone)):
        problem = f"「{label}」不能包含用户名或手机号"
    if problem:
        raise ServiceError(problem, 422, {field: problem})
    return password


# ---- mobile numbers and ID numbers -----------------------------------------------------------------------
MOBILE = re.compile(r"1[3-9]\d{9}")


def check_mobile(phone: str, field: str = "phone", label: str = "手机号码") -> str:
    phone = (phone or "").strip().replace(" ", "").replace("-", "")
    if not MOBILE.fullmatch(phone):
        message = f"「{label}」须为11位中国大陆手机号码"
        raise ServiceError(message, 422, {field: message})
    return phone


def check_id_number(value: str, field: str = "id_number", label: str = "身份证号码") -> tuple[str, date]:
    """A resident ID number (GB 11643) with a valid check digit and birth date: (normalised, birth date)."""
    number = (value or "").strip().upper()
    try:
        number = ric.validate(number)
        born = ric.get_birth_date(number)
    except ValidationError:
        message = f"「{label}」有误：请核对18位号码（校验位或出生日期不正确）"
        raise ServiceError(message, 422, {field: message}) from None
    if born > clock.now().date():
        message = f"「{label}」的出生日期晚于今天"
        raise ServiceError(message, 422, {field: message})
    return number, born


# ---- SMS verification codes -------------------------------------------------------------------------------
CODE_TTL = timedelta(minutes=5)
CODE_RESEND = timedelta(seconds=60)  # one code per number and purpose per minute
CODE_DAILY = 10  # codes per number per day, all purposes
CODE_TRIES = 5  # wrong answers before a code is spent


def _digest(phone: str, purpose: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


# A code hash no answer can match (a digest is 64 hex digits): the row an unbound number gets, so it is refused and
# counted exactly as a bound one (no enumeration) while nothing is sent.
NO_CODE = "-" * 64


def send_code(phone: str, purpose: str, user_id: int | None = None, *, source: str | None,
              deliver: bool = True) -> timedelta:
    """Send a six-digit code for `purpose` (SMS_PURPOSES); returns how long it is valid. Call inside a use case:
    the code and the outbox row commit together. 429 when asked again too soon or too often for this number, or
    too often from this source address (`source`: the client address; None only where no network asked).
    `deliver=False`: every check and the row as for a real code, but a hash that never matches and no SMS — what a
    number that must not be told apart from a registered one gets."""
    assert purpose in SMS_PURPOSES, purpose
    now = clock.utcnow_naive()
    source = source[:45] if source else None
    if source is not None:
        per_hour = current_app.config["SMS_PER_SOURCE_HOUR"]
        asked = db.session.scalar(select(func.count(SmsCode.id)).where(SmsCode.source == source,
                                                                      SmsCode.created_at > now - timedelta(hours=1)))
        if asked >= per_hour:
            message = "本网络地址获取验证码过于频繁，请一小时后再试"
            raise ServiceError(message, 429, {"sms_code": message})
    last = db.session.scalar(select(func.max(SmsCode.created_at)).where(SmsCode.phone == phone,
                                                                      SmsCode.purpose == purpose))
    if last is not None and now - last < CODE_RESEND:
        wait = int((CODE_RESEND - (now - last)).total_seconds()) + 1
        raise ServiceError(f"验证码已发送，请{wait}秒后再获取", 429, {"sms_code": f"请{wait}秒后再获取验证码"})
    today = db.session.scalar(select(func.count(SmsCode.id)).where(SmsCode.phone == phone,
                                                                  SmsCode.created_at > now - timedelta(days=1)))
    if today >= CODE_DAILY:
        raise ServiceError("该手机号今日获取验证码次数过多，请明天再试", 429, {"sms_code": "今日获取次数已达上限"})
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(SmsCode(phone=phone, purpose=purpose, code_hash=_digest(phone, purpose, code) if deliver else NO_CODE,
                           created_at=now, expires_at=now + CODE_TTL, source=source))
    if deliver:
        minutes = int(CODE_TTL.total_seconds() // 60)
        gateway().send(db.session, phone, f"{SIGNATURE}您的{SMS_PURPOSES[purpose]}验证码为 {code}，{minutes}分钟内有效。"
                                          "如非本人操作请忽略。", user_id)
    return CODE_TTL


def check_code(phone: str, purpose: str, code: str, field: str = "sms_code") -> None:
    """The latest code sent to `phone` for `purpose` matches, is unexpired and unused; it is then spent. A wrong
    answer is counted and committed at once (the caller's rollback does not undo it), so guessing stops after
    CODE_TRIES: call it before the use case writes anything else."""
    now = clock.utcnow_naive()
    # a NO_CODE row (asked with a number or pair that has no account) does not replace a real code: whoever asked
    # for it cannot spoil the owner's code, and learns nothing either way
    row = db.session.scalars(select(SmsCode).where(SmsCode.phone == phone, SmsCode.purpose == purpose,
                                                   SmsCode.code_hash != NO_CODE)
                             .order_by(SmsCode.id.desc()).limit(1)).first()
    if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= CODE_TRIES:
        raise ServiceError("短信验证码已失效，请重新获取", 422, {field: "短信验证码已失效，请重新获取"})
    if not hmac.compare_digest(row.code_hash, _digest(phone, purpose, (code or "").strip())):
        left = CODE_TRIES - row.attempts - 1
        # committed before the refusal rolls the use case back (it has written nothing yet: see above)
        db.session.execute(update(SmsCode).where(SmsCode.id == row.id).values(attempts=SmsCode.attempts + 1))
        db.session.commit()
        message = f"短信验证码不正确，还可尝试{left}次" if left > 0 else "短信验证码错误次数过多，请重新获取"
        raise ServiceError(message, 422, {field: message})
    row.used_at = now


# ---- real-name verification ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verification:
    level: str  # REALNAME_LEVELS: "offline" (what can be checked here) or "verified" (a real-name service said yes)
    message: str  # what the page tells the person, honestly


class RealNameVerifier(Protocol):
    def verify(self, name: str, id_number: str) -> Verification: ...


class OfflineVerifier:
    """What can be checked without the province's real-name service: the ID number's check digit and birth date
    (check_id_number) and the name's form. It says so: name and number are not known to belong together."""

    def verify(self, name: str, id_number: str) -> Verification:
        check_id_number(id_number)
        if not re.fullmatch(r"[\u4e00-\u9fff·]{2,20}|[A-Za-z][A-Za-z .·-]{1,48}", (name or "").strip()):
            raise ServiceError("姓名有误", 422, {"real_name": "「真实姓名」须为2–20个汉字（可含间隔号·）或证件上的外文姓名"})
        return Verification("offline", "已核验身份证号码的校验位和出生日期。本平台尚未接入省实名认证服务，"
                                       "姓名与身份证号码是否一致未经核验。")


_verifiers: dict[str, RealNameVerifier] = {}


def verifier() -> RealNameVerifier:
    """REALNAME_VERIFIER = "package.module:Class" (default OfflineVerifier), as SMS_GATEWAY."""
    path = current_app.config.get("REALNAME_VERIFIER", "app.services.identity:OfflineVerifier")
    if path not in _verifiers:
        module, _, name = path.partition(":")
        _verifiers[path] = getattr(importlib.import_module(module), name)()
    return _verifiers[path]
