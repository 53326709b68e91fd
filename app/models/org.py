from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine import clock

from ..extensions import db


class Region(db.Model):
    """GB/T 2260 administrative division."""

    __tablename__ = "region"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    full_name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(10))  # province|city|county


class Department(db.Model):
    __tablename__ = "department"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    dept_type: Mapped[str] = mapped_column(String(20))  # 发改, 工信, 自然资源 ...
    level: Mapped[str] = mapped_column(String(10))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    files_projects: Mapped[bool] = mapped_column(Boolean, default=False)  # a 备案机关
    region: Mapped[Region] = relationship(lazy="joined")


class Enterprise(db.Model):
    __tablename__ = "enterprise"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    legal_rep: Mapped[str] = mapped_column(String(50))
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    # Registration (000 §1 法人用户): the legal representative's ID number, the business licence and the
    # representative's ID card as stored uploads (sha256 of upload), when and by whom it was registered.
    legal_rep_id: Mapped[str] = mapped_column(String(18), default="", server_default="")
    licence_sha256: Mapped[str | None] = mapped_column(ForeignKey("upload.sha256"))
    legal_rep_id_sha256: Mapped[str | None] = mapped_column(ForeignKey("upload.sha256"))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)


USER_KINDS = {"enterprise": "法人用户", "individual": "个人用户（经办人）", "staff": "审批部门用户", "policy": "政策人员",
              "admin": "系统管理员"}
REALNAME_LEVELS = {"none": "未核验", "offline": "已核验证件号码（未接入实名认证服务）", "verified": "已实名认证"}


class Role(db.Model):
    __tablename__ = "role"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class UserRole(db.Model):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(ForeignKey("role.code"), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20))  # USER_KINDS
    # A legal-person account: its enterprise. A 经办人 (kind individual): the enterprise they chose to act for now,
    # checked against an AgentAuthorization in force on every request (None: acting for nobody).
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    phone: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Part of the id flask-login keeps in the (client-side, unrevocable) session cookie: logout increments it, so
    # every cookie issued before, copied or not, no longer loads the user.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Real person (000 §1.1, 002 §1.2): the resident ID number and how far the name and number were verified
    # (REALNAME_LEVELS); a department account still "none" must verify at its next sign-in.
    id_number: Mapped[str] = mapped_column(String(18), default="", server_default="")
    realname_level: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    realname_at: Mapped[datetime | None] = mapped_column(DateTime)
    section: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 科室
    position: Mapped[str] = mapped_column(String(50), default="", server_default="")  # 职位
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)  # 注销: kept for the trail, never signs in

    enterprise: Mapped[Enterprise | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    # joined: every request loads its user with the roles in one statement
    role_rows: Mapped[list[UserRole]] = relationship(lazy="joined", cascade="all, delete-orphan")

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    @property
    def actor(self) -> str:
        """How the engine's trail and claims name this user."""
        return str(self.id)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    def get_id(self) -> str:  # flask-login: what the session cookie holds
        return f"{self.id}:{self.session_generation}"
