from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from .. import case_kinds
from ..extensions import db
from ..services import (
    ServiceError,
    access,
    code_check,
    filing,
    inbox,
    permits,
    post_requests,
    sticky,
    task_kinds,
    task_transfer,
)
from ..services.platform import choices, forms_of_instance
from . import role_required

bp = Blueprint("reviewer", __name__, url_prefix="/reviewer")
REVIEWER_ROLES = ("acceptor", "handler")


@bp.route("/")
@role_required(*REVIEWER_ROLES)
def todo():
    """待办 for volume: search, filters, sort and pages are query parameters (works without JS, shareable)."""
    page = inbox.todo_page(current_user, inbox.TodoFilters.from_args(request.args))
    tasks = page.tasks
    apps = inbox.applications_by_instance([t.instance_id for t in tasks])
    return render_template("reviewer/todo.html", page=page, f=page.filters, tasks=tasks, apps=apps,
                           cases=access.cases_for_tasks(tasks),
                           requests={t.id: post_requests.request_of_task(t) for t in tasks if (t.business_key or "")
                                     .startswith("post:")},
                           notes=[n for n in inbox.unread(current_user, 20) if n.kind != sticky.NEW_TASK_KIND][:10],
                           statuses=inbox.STATUSES, deadlines=inbox.DEADLINES, sorts=inbox.SORTS,
                           bulk_max=filing.BULK_CLAIM_MAX)


@bp.app_context_processor
def _todo_badge():
    """The 待办 nav badge for reviewers: one COUNT on the inbox index."""
    if not current_user.is_authenticated or not current_user.roles & set(REVIEWER_ROLES):
        return {"todo_count": 0}
    try:
        return {"todo_count": inbox.todo_count(current_user)}
    except SQLAlchemyError:  # an error page rendered after a failed statement must still render
        db.session.rollback()
        return {"todo_count": 0}


@bp.route("/claim", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def claim_many():
    """批量签收: the ticked rows in one POST; says which were claimed and which a colleague had taken first."""
    ids = [int(v) for v in request.form.getlist("task_ids") if v.isdigit()]
    try:
        result = filing.claim_many(current_user, ids)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        flash(exc.message, "error")
        return redirect(_todo_back())
    if result["claimed"]:
        flash(f"已签收{len(result['claimed'])}件", "success")
    if result["mine"]:
        flash(f"{len(result['mine'])}件已在您的签收中", "info")
    if result["taken"]:
        names = inbox.actor_names(result["taken"])
        taken = "；".join(f"{t.title or t.name}（{t.name}，{names.get(t.assignee or '', '同事')}）"
                         for t in result["taken"])
        flash(f"{len(result['taken'])}件已被他人签收，未签收：{taken}", "warn")
    if result["missing"]:
        flash(f"{len(result['missing'])}件已办理或不在您的待办中", "warn")
    return redirect(_todo_back())


def _todo_back() -> str:
    """Back to the 待办 list with the filters the form carried."""
    filters = inbox.TodoFilters.from_args(request.form)
    return url_for("reviewer.todo", **filters.args(page=filters.page))


@bp.route("/done")
@role_required(*REVIEWER_ROLES)
def done():
    """One 已办 list for every kind of case: the task centre's."""
    return redirect(url_for("tasks.index", tab="done"))


def _task_page(task_id: int, errors: dict | None = None, values: dict | None = None, status: int = 200):
    task = access.reviewer_task(current_user, task_id)
    kind = case_kinds.TASK_KINDS[task_kinds.reviewer_kind(task)]
    forms = forms_of_instance(task.instance_id)  # an open task keeps the form its version was deployed with
    if kind.page != "reviewer.task":  # an approval item: its own page shows materials, clock and history
        return redirect(url_for(kind.page, **kind.page_args(task)))
    if kind.key == task_kinds.REQUEST:  # a 变更 or 延期 application
        request_ = post_requests.request_of_task(task)
        return render_template("reviewer/request.html", task=task, req=request_, form=forms.get(task.form_key),
                               choices=choices, values=values or {}, errors=errors or {},
                               history=inbox.history(task.instance_id),
                               progress=permits.progress_of(request_.project_id)[0]), status
    application = filing.application_for_task(task)
    verification = code_check.of_application(application) if task.form_key == "filing_accept" else None
    return render_template("reviewer/task.html", task=task, application=application, verification=verification,
                           form=forms.get(task.form_key), filing_form=forms.get("filing"), choices=choices,
                           values=values or {}, errors=errors or {}, history=inbox.history(task.instance_id),
                           certificate=filing.certificate_of(application)), status


@bp.route("/tasks/<int:task_id>")
@role_required(*REVIEWER_ROLES)
def task(task_id: int):
    return _task_page(task_id)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def claim(task_id: int):
    """签收 serves every reviewer's task (备案, 变更/延期, 审批事项); an applicant's is not found."""
    task = filing.claim(current_user, task_id)
    flash("已签收，请办理", "success")
    kind = case_kinds.TASK_KINDS[task_kinds.reviewer_kind(task)]
    return redirect(url_for(kind.page, **kind.page_args(task)))


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def unclaim(task_id: int):
    filing.unclaim(current_user, task_id)
    flash("已退回待签收", "success")
    return redirect(url_for("reviewer.todo"))


def _back_from(task) -> str:
    """Where 转办 returns to: the case page for whoever may open it, else the list they came from."""
    if not access.may_handle(current_user, task):
        return url_for("reviewer.department")
    kind = case_kinds.TASK_KINDS[task_kinds.reviewer_kind(task)]
    try:
        return url_for(kind.page, **kind.page_args(task))
    except ServiceError:  # the case behind it is gone: back to the list
        return url_for("reviewer.todo")


def _transfer_page(task_id: int, errors: dict | None = None, message: str = "", status: int = 200):
    task = task_transfer.transferable_task(current_user, task_id)
    by_head = task.assignee not in (None, current_user.actor) and access.heads(current_user, task)
    return render_template("reviewer/transfer.html", task=task, back=_back_from(task), by_head=by_head,
                           holder=task_transfer.holder_of(task) if by_head else None,
                           colleagues=task_transfer.colleagues(current_user, task), errors=errors or {},
                           message=message, form=request.form, note_max=task_transfer.NOTE_MAX), status


@bp.route("/department")
@role_required("dept_head")
def department():
    """本部门在办 for the department head: every open reviewer task of the department, who holds it, how long
    it has left, and 转办 for the claimed ones."""
    tasks = inbox.department_tasks(current_user)
    return render_template("reviewer/department.html", tasks=tasks, holders=inbox.actor_names(tasks),
                           cases=access.cases_for_tasks(tasks))


@bp.route("/tasks/<int:task_id>/transfer", methods=["GET", "POST"])
@role_required(*REVIEWER_ROLES, "dept_head")
def transfer(task_id: int):
    """转办: the holder of the claim hands the task to a colleague who could claim it, with a note."""
    if request.method == "GET":
        return _transfer_page(task_id)
    try:
        task, colleague = task_transfer.transfer(current_user, task_id, request.form.get("to_user_id"),
                                                 request.form.get("note"))
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return _transfer_page(task_id, exc.errors, exc.message, exc.status)
    flash(f"已将「{task.title or task.name}」（{task.name}）转办给{colleague.display_name}", "success")
    return redirect(url_for("reviewer.todo" if current_user.roles & set(REVIEWER_ROLES) else "reviewer.department"))


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@role_required(*REVIEWER_ROLES)
def complete(task_id: int):
    """备案 and 变更/延期 steps; an approval item's step is done on its case page (cases.complete)."""
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    task = access.reviewer_task(current_user, task_id)
    kind = case_kinds.served_by(task, "reviewer.complete")
    instance_id = task.instance_id
    try:
        done = kind.complete(current_user, task_id, raw)
    except ServiceError as exc:
        if exc.status == 422:
            return _task_page(task_id, exc.errors, raw, 422)
        raise
    following = inbox.next_held(current_user, instance_id)
    if following is not None:  # e.g. 审核 → 签发 by the same person: straight on, no detour through 待办
        flash(f"已办理：{done.number}（当前状态：{done.status_label}）。下一环节「{following.name}」已在您名下，请继续办理",
              "success")
        return redirect(url_for("reviewer.task", task_id=following.id))
    flash(f"已办理：{done.number}（当前状态：{done.status_label}）", "success")
    return redirect(url_for("reviewer.todo"))



@bp.route("/applications/<int:application_id>")
@role_required(*REVIEWER_ROLES)
def application(application_id: int):
    """Where a reminder or a 已办 row links to: the application's current step if it is in my hands, else the
    filing read only (cases.filing_show, which refuses another department's)."""
    task = filing.current_reviewer_task(current_user, application_id)
    if task is not None:
        return redirect(url_for("reviewer.task", task_id=task.id))
    return redirect(url_for("cases.filing_show", application_id=application_id))
