"""Deleting a draft (issue 14 §5): a 备案 application never submitted, or a 事项申报 still 填报中 with nothing
submitted. The draft's rows go; its workflow instance is kept as a record, cancelled: no task or timer of it is
left, and the trail says who cancelled it and why (engine Runtime.cancel).
"""
from __future__ import annotations

from sqlalchemy import delete

from ..extensions import db
from ..models import Attachment, FilingApplication, ItemCase, User
from . import ServiceError, lock_project, use_case
from .access import own_declaration, owned
from .platform import runtime


def cancel_instance(instance_id: int | None, actor: str, reason: str) -> None:
    if instance_id is not None:
        runtime().cancel(db.session, instance_id, actor, reason)


@use_case
def delete_filing(user: User, application_id: int) -> str:
    """The owner deletes a 备案 draft never submitted; returns its number. A withdrawn application was seen by the
    authority and stays (it can be submitted again)."""
    application = owned(user, FilingApplication, application_id, "备案申请")
    lock_project(application.project_id)
    if application.status != "draft":
        raise ServiceError(f"备案申请 {application.number} 当前为「{application.status_label}」，只能删除草稿", 409)
    if application.rounds or application.submitted_at is not None:
        raise ServiceError(f"备案申请 {application.number} 曾提交备案机关（已撤回），办理记录须保留，不能删除；"
                           "可修改后重新提交", 409)
    number = application.number
    cancel_instance(application.instance_id, user.actor, f"企业删除备案草稿 {number}")
    db.session.delete(application)
    return number


@use_case
def delete_declaration(user: User, declaration_id: int) -> str:
    """The owner deletes a 事项申报 still 填报中 with nothing submitted; returns its number."""
    declaration = own_declaration(user, declaration_id)
    lock_project(declaration.project_id)
    if declaration.status != "declaring" or declaration.submitted_at is not None:
        raise ServiceError(f"事项申报 {declaration.number} 已提交（{declaration.status_label}），不能删除", 409)
    number = declaration.number
    cancel_instance(declaration.instance_id, user.actor, f"企业删除未提交的事项申报 {number}")
    db.session.execute(delete(Attachment).where(Attachment.declaration_id == declaration.id)
                       .execution_options(synchronize_session="fetch"))
    db.session.execute(delete(ItemCase).where(ItemCase.declaration_id == declaration.id)
                       .execution_options(synchronize_session="fetch"))
    db.session.delete(declaration)
    return number
