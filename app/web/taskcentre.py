"""任务中心: 待办 / 已办 / 待阅 / 已阅 for every signed-in user, with counts and mark-as-read."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from .. import case_kinds
from ..extensions import db
from ..services import inbox

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

TABS = {"todo": "待办", "done": "已办", "unread": "待阅", "read": "已阅"}
ACTION_LABELS = {"complete": "办理", "refuse": "不予受理/不予同意", "submit": "提交", "report": "报告",
                 "withdraw": "撤回", "transfer": "转办"}


@bp.app_context_processor
def _unread_badge():
    """The nav badge: one COUNT, only for signed-in users."""
    if not current_user.is_authenticated:
        return {"unread_count": 0}
    try:
        return {"unread_count": inbox.unread_count(current_user)}
    except SQLAlchemyError:  # an error page rendered after a failed statement must still render
        db.session.rollback()
        return {"unread_count": 0}


def task_link(task) -> str:
    """The page of the task's kind (the registry's); a reviewer's step opens its task page first."""
    kind = case_kinds.task_kind(task)
    if kind is None:
        return url_for("tasks.index")
    if kind.reviewer:
        return url_for("reviewer.task", task_id=task.id)
    return url_for(kind.page, **kind.page_args(task))


def case_link(ref: case_kinds.CaseRef | None) -> str | None:
    """Where a 已办 row opens: the applicant's or the reviewer's page of that case."""
    if ref is None:
        return None
    page = ref.applicant_page if "applicant" in current_user.roles else ref.reviewer_page
    return url_for(page[0], **page[1]) if page else None


@bp.route("/")
@login_required
def index():
    tab = request.args.get("tab", "todo")
    if tab not in TABS:
        tab = "todo"
    counts = inbox.counts(current_user)
    rows: list = []
    apps: dict = {}
    if tab == "todo":
        rows = inbox.my_todo(current_user)
        apps = inbox.applications_by_instance([t.instance_id for t in rows])
    elif tab == "done":
        rows = inbox.my_done(current_user)
        apps = case_kinds.case_refs((process, key, (entry.detail or {}).get("scope")) for entry, process, key in rows)
    elif tab == "unread":
        rows = inbox.unread(current_user)
    else:
        rows = inbox.read(current_user)
    return render_template("tasks/index.html", tab=tab, tabs=TABS, counts=counts, rows=rows, apps=apps,
                           task_link=task_link, case_link=case_link, action_labels=ACTION_LABELS)


@bp.route("/notes/<int:note_id>/read", methods=["POST"])
@login_required
def mark_read(note_id: int):
    inbox.mark_read(current_user, note_id)
    flash("已标为已阅", "success")
    return redirect(url_for("tasks.index", tab="unread"))


@bp.route("/notes/read-all", methods=["POST"])
@login_required
def mark_all_read():
    n = inbox.mark_all_read(current_user)
    flash(f"已将 {n} 条消息标为已阅" if n else "没有待阅消息", "success")
    return redirect(url_for("tasks.index", tab="unread"))
