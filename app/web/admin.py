import math
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine import clock
from engine.runtime import TIMER_MAX_ATTEMPTS

from ..domain.screening import NATURES
from ..services import ServiceError, calendar_admin, notices, policy_admin
from ..services import calendar as calendar_service
from ..services.filing import visible_datetime
from ..services.platform import runtime
from . import role_required
from .guard import db_int

bp = Blueprint("admin", __name__, url_prefix="/admin")


# The calendar years an administrator may open (publish_year accepts the same range).
YEARS = (2004, 2100)
# The development clock moves within these bounds of the real time: far enough for every statutory
# period (validity 3 years, reminders, year ends), near enough that dates stay printable and ordered.
CLOCK_BACK, CLOCK_AHEAD = timedelta(days=366), timedelta(days=3660)


def _clock_offset(raw: str) -> timedelta:
    """The clock's new offset after moving it `raw` hours; ServiceError (422, Chinese) if it is no finite
    number of hours or would leave the platform more than a year behind or ten years ahead of the real time."""
    message = "「小时数」须为数字，例如 24 或 -12"
    try:
        hours = float((raw or "").strip() or "0")
    except ValueError:
        raise ServiceError("小时数不正确", 422, {"hours": message}) from None
    limit = "「小时数」调整后，平台时间须在真实时间之前一年至之后十年之内"
    if not math.isfinite(hours):
        raise ServiceError("小时数不正确", 422, {"hours": message})
    if abs(hours) > (CLOCK_BACK + CLOCK_AHEAD).total_seconds() / 3600:
        raise ServiceError("超出可调整范围", 422, {"hours": limit})
    offset = clock.offset() + timedelta(hours=hours)
    if not -CLOCK_BACK <= offset <= CLOCK_AHEAD:
        raise ServiceError("超出可调整范围", 422, {"hours": limit})
    return offset


@bp.route("/calendar")
@role_required("policy", "admin")
def calendar():
    year = request.args.get("year", type=db_int)
    if year is None or not YEARS[0] <= year <= YEARS[1]:  # a bad link shows this year, not a 500
        year = calendar_service.today().year
    cal = calendar_service.work_calendar()
    return render_template("admin/calendar.html", year=year, days=calendar_service.year_days(year),
                           published=year in cal.published_years, years=calendar_service.published_years())



@bp.route("/calendar/day", methods=["POST"])
@role_required("policy", "admin")
def calendar_day():
    row = calendar_admin.set_day(current_user, request.form.get("day", ""), request.form.get("kind", ""),
                                 request.form.get("name", ""))
    flash("已保存", "success")
    return redirect(url_for("admin.calendar", year=row.day.year if row else None))


@bp.route("/calendar/year", methods=["POST"])
@role_required("policy", "admin")
def calendar_year():
    year = request.form.get("year", type=db_int) or 0
    calendar_admin.publish_year(current_user, year, request.form.get("published") == "1")
    flash("已保存", "success")
    return redirect(url_for("admin.calendar", year=year))


def _clock_page(errors: dict | None = None, hours: str = "", status: int = 200):
    from ..extensions import db

    return render_template("admin/clock.html", now=clock.now(), offset=clock.offset(),
                           next_due=runtime().next_due(db.session), errors=errors, hours=hours), status


@bp.route("/clock", methods=["GET", "POST"])
@role_required("admin", "policy")
def dev_clock():
    """Development only: move the shared clock so timers can be shown without waiting days."""
    if not current_app.config["DEV_TOOLS"]:
        abort(404)
    if request.method == "POST":
        if request.form.get("reset"):
            clock.reset()
        else:
            try:
                offset = _clock_offset(request.form.get("hours", ""))
            except ServiceError as exc:
                return _clock_page(exc.errors, request.form.get("hours", ""), exc.status)
            clock.set_offset(offset)
        flash(f"平台时间已调整为北京时间 {visible_datetime(clock.utcnow_naive())}", "success")
        return redirect(url_for("admin.dev_clock"))
    return _clock_page()


@bp.route("/policy-rules")
@role_required("policy", "admin")
def policy_rules():
    return render_template("admin/policy_rules.html", rules=policy_admin.rules(), labels=policy_admin.KIND_LABELS)


@bp.route("/policy-rules/new", methods=["GET", "POST"])
@bp.route("/policy-rules/<rule_id>", methods=["GET", "POST"])
@role_required("policy", "admin")
def policy_rule(rule_id: str | None = None):
    row = next((r for r in policy_admin.rules() if r.id == rule_id), None) if rule_id else None
    if rule_id and row is None:
        abort(404)
    if request.method == "POST":
        try:
            policy_admin.save_rule(current_user, request.form.to_dict(), rule_id)
        except ServiceError as exc:
            return render_template("admin/policy_rule.html", rule=row, values=request.form, errors=exc.errors,
                                   labels=policy_admin.KIND_LABELS, natures=NATURES), exc.status
        flash("规则已保存，新提交的申报即按此规则审查", "success")
        return redirect(url_for("admin.policy_rules"))
    values = {} if row is None else {
        "id": row.id, "kind": row.kind, "title": row.title, "industry_prefixes": "、".join(row.industry_prefixes),
        "catalogue_codes": "、".join(row.catalogue_codes), "natures": "、".join(row.natures),
        "region_prefixes": "、".join(row.region_prefixes), "message": row.message, "source": row.source,
        "active": "on" if row.active else ""}
    return render_template("admin/policy_rule.html", rule=row, values=values, errors={},
                           labels=policy_admin.KIND_LABELS, natures=NATURES)


@bp.route("/sms")
@role_required("admin")
def sms_outbox():
    """短信发件箱: what the SMS gateway recorded; the default gateway only records, it sends nothing."""
    rows = [(m, notices.mask_phone(m.phone)) for m in notices.sms_outbox(200)]
    return render_template("admin/sms.html", rows=rows, gateway=current_app.config.get("SMS_GATEWAY", ""))


@bp.route("/timers")
@role_required("admin")
def failed_timers():
    """定时任务故障: timers whose firing failed (logged each time); stopped ones wait for 重新尝试 here."""
    from ..extensions import db

    return render_template("admin/timers.html", rows=runtime().failed_timers(db.session),
                           max_attempts=TIMER_MAX_ATTEMPTS)


@bp.route("/timers/<int:instance_id>/retry", methods=["POST"])
@role_required("admin")
def retry_timers(instance_id: int):
    from ..extensions import db

    count = runtime().retry_timers(db.session, instance_id, current_user.actor)
    db.session.commit()
    if count:
        flash(f"已重新安排流程实例 {instance_id} 的 {count} 个定时任务，调度器将在下一轮尝试触发", "success")
    else:
        flash("该流程实例没有需要重新尝试的定时任务", "error")
    return redirect(url_for("admin.failed_timers"))
