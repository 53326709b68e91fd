"""Telling people: 待阅 (notifications), SMS through a pluggable gateway, and public notices.

Everything is written in the caller's transaction, so a notice never announces an act that rolled
back. The default SMS gateway only writes the outbox table (nothing leaves the platform); a province
plugs its own in with SMS_GATEWAY = "package.module:Class".
"""
from __future__ import annotations

import importlib
from datetime import date
from typing import Protocol

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Notification, PublicNotice, SmsMessage, User, UserRole


class SmsGateway(Protocol):
    name: str

    def send(self, session: Session, phone: str, text: str, user_id: int | None) -> None: ...


class OutboxGateway:
    """Writes each message to sms_outbox for the administrators to read (系统管理 → 短信发件箱)."""

    name = "outbox"

    def send(self, session: Session, phone: str, text: str, user_id: int | None) -> None:
        session.add(SmsMessage(phone=phone, text=text[:500], user_id=user_id, gateway=self.name))


_gateways: dict[str, SmsGateway] = {}


def gateway() -> SmsGateway:
    path = current_app.config["SMS_GATEWAY"]
    if path not in _gateways:
        module, _, name = path.partition(":")
        _gateways[path] = getattr(importlib.import_module(module), name)()
    return _gateways[path]


SIGNATURE = "【投资项目在线审批监管平台】"


def sms(session: Session, users: list[User], text: str) -> int:
    """One SMS per user with a phone number; returns how many were handed to the gateway."""
    sent = 0
    for user in users:
        if user.phone:
            gateway().send(session, user.phone, SIGNATURE + text, user.id)
            sent += 1
    return sent


def enterprise_users(session: Session, enterprise_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.enterprise_id == enterprise_id, User.active)
                                .order_by(User.id)).unique())


def department_staff(session: Session, department_id: int) -> list[User]:
    """The authority's 受理/办理 staff: who must learn that a permit of theirs ended."""
    return list(session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                                .where(User.department_id == department_id, User.active,
                                       UserRole.role.in_(["acceptor", "handler"]))
                                .order_by(User.id).distinct()).unique())


def to_read(session: Session, title: str, link: str, kind: str, *, user_id: int | None = None,
            department_id: int | None = None) -> Notification:
    """A 待阅 for one user, or for every member of a department."""
    # the model clips a long title with 「…」 (cutting it here would drop the mark)
    note = Notification(user_id=user_id, department_id=department_id, kind=kind, title=title, link=link)
    session.add(note)
    return note


def tell_enterprise(session: Session, enterprise_id: int, title: str, link: str, kind: str) -> None:
    """待阅 to each user of the enterprise plus an SMS."""
    users = enterprise_users(session, enterprise_id)
    for user in users:
        to_read(session, title, link, kind, user_id=user.id)
    sms(session, users, title)


def tell_department(session: Session, department_id: int, title: str, link: str, kind: str) -> None:
    """One 待阅 shared by the department plus an SMS to its staff."""
    to_read(session, title, link, kind, department_id=department_id)
    sms(session, department_staff(session, department_id), title)


def publish(session: Session, kind: str, *, project_code: str, project_name: str, authority: str,
            published_on: date, document_number: str = "", detail: str = "") -> PublicNotice:
    notice = PublicNotice(kind=kind, project_code=project_code, project_name=project_name, authority=authority,
                          published_on=published_on, document_number=document_number, detail=detail[:500])
    session.add(notice)
    return notice
