"""政策工作台 → 参考数据: the reference tables (目录条目, 行业, 资本金比例, 行政区划, 部门) with spreadsheet import and
export, and who may handle each approval item. Policy staff and administrators only."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..services import ServiceError, calendar, item_reviewers, spreadsheet, studio_log
from ..services import reference_tables as tables
from . import role_required
from .guard import db_int

bp = Blueprint("reference", __name__, url_prefix="/studio/tables")
ROLES = tuple(tables.EDITOR_ROLES)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AREA_TITLES = {**{t.area: t.title for t in tables.TABLES.values()}, item_reviewers.AREA: "事项办理人员"}


def _page() -> int:
    return request.args.get("page", 1, type=db_int)


def _form(t: tables.Table, row: Any, values: dict[str, Any], errors: dict[str, str], status: int = 200):
    # A short table is a select; regions (hundreds, once the official list is loaded) an input with suggestions.
    selects = {"capital_category": tables.capital_choices()} if t.area == "industries" else {}
    datalists = {"parent_code": tables.region_choices() if t.area == "regions" else [],
                 "region_code": tables.region_choices() if t.area == "departments" else []}
    return render_template("studio/tables/form.html", t=t, row=row, values=values, errors=errors, selects=selects,
                           datalists=datalists, area_titles=AREA_TITLES), status


@bp.route("")
@role_required(*ROLES)
def index():
    return render_template("studio/tables/index.html", tables=tables.TABLES.values(), counts=tables.counts(),
                           area_titles=AREA_TITLES, item_count=len(item_reviewers.items()))


@bp.route("/<area>")
@role_required(*ROLES)
def rows(area: str):
    t = tables.table(area)
    q = request.args.get("q", "")
    return render_template("studio/tables/list.html", t=t, q=q, listing=tables.rows_page(t, q, _page()),
                           shown=tables.shown, percent=tables.percent, area_titles=AREA_TITLES)


@bp.route("/<area>/new", methods=["GET", "POST"], defaults={"key": None}, endpoint="new_row")
@bp.route("/<area>/<key>", methods=["GET", "POST"])
@role_required(*ROLES)
def edit_row(area: str, key: str | None):
    """Add (no key) or change one record; the form comes back with its errors on a 422."""
    t = tables.table(area)
    row = tables.get_row(t, key) if key is not None else None
    if request.method == "GET":
        return _form(t, row, tables.form_values(t, row), {})
    try:
        row, diff = tables.save(current_user, area, request.form, key)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        return _form(t, tables.get_row(t, key) if key is not None else None, request.form.to_dict(), exc.errors, 422)
    if key is None:
        flash(f"已新增{t.noun}「{t.describe(row)}」", "success")
    elif diff:
        flash(f"已保存{t.noun}「{t.describe(row)}」：" + "；".join(
            f"{d['label']} {d['before'] or '（空）'} → {d['after'] or '（空）'}" for d in diff), "success")
    else:
        flash(f"{t.noun}「{t.describe(row)}」没有任何修改，未记录", "info")
    return redirect(url_for("reference.rows", area=area, q=t.key_of(row) if t.key.kind != "id" else row.name))


@bp.route("/<area>/<key>/delete", methods=["GET", "POST"])
@role_required(*ROLES)
def delete_row(area: str, key: str):
    t = tables.table(area)
    row = tables.get_row(t, key)
    if request.method == "POST":
        try:
            described = tables.delete(current_user, area, key, request.form.get("reason"))
        except ServiceError as exc:
            if exc.status not in (409, 422):
                raise
            return render_template("studio/tables/delete.html", t=t, row=tables.get_row(t, key),
                                   refs=tables.references(area, key), errors=exc.errors, message=exc.message,
                                   reason=request.form.get("reason", ""), shown=tables.shown,
                                   area_titles=AREA_TITLES), exc.status
        flash(f"已删除{t.noun}「{described}」", "success")
        return redirect(url_for("reference.rows", area=area))
    return render_template("studio/tables/delete.html", t=t, row=row, refs=tables.references(area, key), errors={},
                           message="", reason="", shown=tables.shown, area_titles=AREA_TITLES)


@bp.route("/<area>/history")
@role_required(*ROLES)
def history(area: str):
    if area != item_reviewers.AREA:
        tables.table(area)  # 404 for an unknown table
    key = request.args.get("key", "").strip()
    return render_template("studio/tables/history.html", area=area, title=AREA_TITLES[area], key=key,
                           log=studio_log.history(area, key or None, _page()), area_titles=AREA_TITLES,
                           is_table=area in tables.TABLES)


@bp.route("/<area>/export.xlsx")
@role_required(*ROLES)
def export(area: str):
    t = tables.table(area)
    name = f"{t.title.replace('/', '')}-{calendar.today():%Y%m%d}.xlsx"
    return send_file(io.BytesIO(tables.export(area)), mimetype=XLSX, as_attachment=True, download_name=name)


def _import_page(t: tables.Table, status: int = 200, **context: Any):
    context.setdefault("plan", None)
    context.setdefault("errors", {})
    context.setdefault("message", "")
    return render_template("studio/tables/import.html", t=t, max_mb=spreadsheet.MAX_BYTES // (1024 * 1024),
                           max_rows=spreadsheet.MAX_ROWS, area_titles=AREA_TITLES, **context), status


@bp.route("/<area>/import", methods=["GET", "POST"])
@role_required(*ROLES)
def import_rows(area: str):
    t = tables.table(area)
    if request.method == "GET":
        return _import_page(t)
    upload = request.files.get("file")
    data = upload.read(spreadsheet.MAX_BYTES + 1) if upload is not None else b""
    try:
        plan = tables.plan_import(area, data)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        return _import_page(t, 422, errors=exc.errors, message=exc.message)
    token = tables.stash(data)
    status = 422 if plan.invalid or plan.header_errors else 200
    return _import_page(t, status, plan=plan, token=token, filename=upload.filename if upload else "")


@bp.route("/<area>/import/apply", methods=["POST"])
@role_required(*ROLES)
def apply_import(area: str):
    t = tables.table(area)
    token, digest = request.form.get("token", ""), request.form.get("digest", "")
    filename = request.form.get("filename", "")
    try:
        plan = tables.apply_import(current_user, area, token, digest, request.form.get("reason"))
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        try:  # show the file's preview as it stands now, with what stopped the import
            fresh = tables.plan_import(area, tables.stashed(token))
        except ServiceError:
            return _import_page(t, exc.status, errors=exc.errors, message=exc.message)
        return _import_page(t, exc.status, plan=fresh, token=token, filename=filename, errors=exc.errors,
                            message=exc.message, reason=request.form.get("reason", ""))
    tables.discard(token)
    flash(f"已导入{t.title}：新增{len(plan.added)}行，修改{len(plan.changed)}行，"
          f"{len(plan.unchanged)}行无变化；修改记录如下", "success")
    return redirect(url_for("reference.history", area=area))


# ---- who may handle each item ---------------------------------------------------------------------------------------
@bp.route("/items")
@role_required(*ROLES)
def items():
    q = request.args.get("q", "")
    return render_template("studio/tables/items.html", rows=item_reviewers.items(q), q=q, area_titles=AREA_TITLES)


def _item_page(code: str, status: int = 200, errors: dict[str, str] | None = None, message: str = ""):
    item = item_reviewers.get_item(code)
    return render_template(
        "studio/tables/item.html", item=item, holders=item_reviewers.holders(code),
        candidates=item_reviewers.candidates(item), departments=item_reviewers.departments(item),
        labels=item_reviewers.PERMISSION_LABELS, log=studio_log.history(item_reviewers.AREA, code),
        errors=errors or {}, message=message, form=request.form if request.method == "POST" else {},
        area_titles=AREA_TITLES), status


@bp.route("/items/<code>")
@role_required(*ROLES)
def item(code: str):
    return _item_page(code)


def _change_permission(code: str, change: Any, done: str):
    try:
        user, role = change(current_user, code, request.form.get("user_id"), request.form.get("role"),
                            request.form.get("reason"))
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return _item_page(code, exc.status, exc.errors, exc.message)
    flash(f"已{done}{user.display_name}的{item_reviewers.PERMISSION_LABELS[role]}权限", "success")
    return redirect(url_for("reference.item", code=code))


@bp.route("/items/<code>/grant", methods=["POST"])
@role_required(*ROLES)
def grant(code: str):
    return _change_permission(code, item_reviewers.grant, "授予")


@bp.route("/items/<code>/revoke", methods=["POST"])
@role_required(*ROLES)
def revoke(code: str):
    return _change_permission(code, item_reviewers.revoke, "撤销")
