"""Accounts beyond the seed (issue 13; 000 §1, 002): 经办人 authorisations, reviewer account requests reviewed by an
administrator in scope, SMS verification codes, and the sign-in log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock

from ..extensions import db
from .org import Department, Enterprise, User

AUTH_SCOPES = {"all": "全部项目", "projects": "指定项目"}


class AgentAuthorization(db.Model):
    """The legal person (法人用户) authorises an individual (经办人) to act for the enterprise: on all its projects or
    on the ones listed, until `expires_at` (None: until revoked). A 经办人 may hold several, one per enterprise, and
    acts for one at a time (User.enterprise_id is the one chosen); a revoked or expired one stops the next request."""

    __tablename__ = "agent_authorization"
    __table_args__ = (Index("ix_agent_authorization_agent", "agent_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    scope: Mapped[str] = mapped_column(String(10), default="all")  # AUTH_SCOPES
    project_ids: Mapped[list] = mapped_column(JSON, default=list)  # scope "projects": the project ids
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC, naive
    granted_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    agent: Mapped[User] = relationship(foreign_keys=[agent_id], lazy="selectin")

    def in_force(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


ACCOUNT_REQUEST_KINDS = {"new": "新增账号", "change": "变更账号", "cancel": "注销账号"}
ACCOUNT_REQUEST_STATUS = {"pending": "待审核", "approved": "通过", "rejected": "驳回"}


class AccountRequest(db.Model):
    """A department user's request (002 §2.3, §2.4): a new account with the item permissions asked for, a change of
    unit, 科室, 职位 or permissions, or a cancellation. The administrator whose scope holds the unit's region reviews
    it: 通过 applies it, 驳回 needs a reason. `payload` is what was asked ({department_id, section, position,
    permissions: [{item_code, accept, handle}], …}); the account of a new request stays inactive until approved."""

    __tablename__ = "account_request"
    __table_args__ = (Index("ix_account_request_scope", "status", "region_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # ACCOUNT_REQUEST_KINDS
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    region_code: Mapped[str] = mapped_column(String(12))  # the unit's region: whose administrators review it
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # ACCOUNT_REQUEST_STATUS
    reason: Mapped[str] = mapped_column(String(500), default="")  # why rejected
    submitted_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="selectin")
    department: Mapped[Department] = relationship(lazy="joined")


SMS_PURPOSES = {"register": "注册", "signin": "登录", "reset": "找回密码", "phone": "更换手机号", "apply": "审批账号申请",
                "verify": "实名核验"}


class SmsCode(db.Model):
    """A one-time code sent by SMS: kept as a keyed hash, valid a few minutes, a few tries, used once."""

    __tablename__ = "sms_code"
    __table_args__ = (Index("ix_sms_code_phone", "phone", "purpose", "created_at"),
                      Index("ix_sms_code_source", "source", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(10))  # SMS_PURPOSES
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the client address that asked (IPv6 fits): codes per source and hour are limited; None when no network asked
    source: Mapped[str | None] = mapped_column(String(45))


SIGNIN_RESULTS = {"ok": "成功", "bad_password": "密码错误", "bad_code": "验证码错误", "bad_captcha": "图形验证码错误",
                  "locked": "账号或地址已锁定", "inactive": "账号未启用或已注销", "unknown": "账号不存在"}


class SigninLog(db.Model):
    """Every sign-in attempt (002 §2.1): who (the account, or the name typed), when, from where, how, the result.
    Lockout counts the recent failures here, per account and per source address."""

    __tablename__ = "signin_log"
    __table_args__ = (Index("ix_signin_log_user", "user_id", "at"), Index("ix_signin_log_name", "username", "at"),
                      Index("ix_signin_log_source", "source", "at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(50))  # as typed (truncated), or the phone number of an SMS sign-in
    source: Mapped[str] = mapped_column(String(45))  # the client address (IPv6 fits)
    method: Mapped[str] = mapped_column(String(10))  # password | sms
    result: Mapped[str] = mapped_column(String(15))  # SIGNIN_RESULTS
    user_agent: Mapped[str] = mapped_column(String(200), default="")
