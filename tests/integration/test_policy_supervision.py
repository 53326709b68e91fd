"""Policy and supervision staff (issue 14 items 11, 12): the 事项目录 speaks plain words, takes a reason for every edit
and keeps a history; 主管部门类型 is chosen from the types departments have; policy staff land on the 事项目录;
电子监察 supervises 备案 (3 working days) beside the 审批事项, shows waiting time and 受理期限 of 待受理 rows, opens
each case read-only and exports the list, within the viewer's oversight regions.

The supervision tests start on Tuesday 2026-03-10 (Beijing): working days are counted, so the moment is named."""
from __future__ import annotations

import io
import re
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from app.extensions import db
from app.models import ApprovalItem, CalendarDay, CalendarYear, Department, StudioChange, User, UserRole
from app.seed import CALENDAR_SOURCE
from app.services import catalogue_history
from tests.conftest import at, login
from tests.integration.approval_helpers import case_of, declare, new_project, step
from tests.integration.helpers import apply_code, submit_filing
from tests.integration.test_catalogue_admin import form_of, snapshot


def _log(code: str) -> list[StudioChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(StudioChange).where(StudioChange.area == "items",
                                                              StudioChange.record_key == code)
                                   .order_by(StudioChange.id)))


# ---- 事项目录 -----------------------------------------------------------------------------------------------
def test_an_edit_is_kept_in_the_item_history_with_who_when_what_and_why(client):
    login(client, "zhengce")
    before, logged = snapshot("flood"), len(_log("flood"))
    reason = "依据《江门市投资项目审批提速办法》（江府〔2026〕5号）压减承诺时限"
    try:
        response = client.post("/admin/items/flood", data=form_of("flood", promised_limit="10",
                                                                  change_reason=reason))
        assert response.status_code == 302, response.data.decode()[:2000]
        entries = _log("flood")
        assert len(entries) == logged + 1
        entry = entries[-1]
        assert entry.action == "change" and entry.reason == reason and entry.author.username == "zhengce"
        unit = "个工作日" if db.session.get(ApprovalItem, "flood").unit == "workday" else "日"
        assert [(d["label"], d["before"], d["after"]) for d in entry.diff] == [
            ("承诺时限", f"{before[1]}{unit}", f"10{unit}")]  # only what changed
        page = client.get("/admin/items/flood").data.decode()
        history = page[page.index('id="history"'):]
        assert "修改记录" in history and reason in history and "承诺时限" in history
        assert f"{before[1]}{unit}" in history and f"10{unit}" in history and "孙政策" in history
        # saving again without a change records nothing
        assert client.post("/admin/items/flood", data=form_of("flood", change_reason="复核")).status_code == 302
        assert len(_log("flood")) == logged + 1
    finally:
        client.post("/admin/items/flood", data=form_of("flood", promised_limit=str(before[1]), change_reason="测试还原"))
    assert snapshot("flood") == before


def test_an_edit_without_a_reason_is_refused_naming_the_field_and_nothing_is_written(client):
    login(client, "zhengce")
    before, logged = snapshot("flood"), len(_log("flood"))
    for blank in (None, "   "):
        data = form_of("flood", promised_limit="12", change_reason=blank)
        response = client.post("/admin/items/flood", data=data, headers={"Accept": "text/html"})
        html = response.data.decode()
        assert response.status_code == 422
        assert "请填写「修改原因及文件依据」" in html and 'id="field-change_reason"' in html
    too_long = client.post("/admin/items/flood", data=form_of("flood", promised_limit="12", change_reason="因" * 501))
    assert too_long.status_code == 422 and "「修改原因及文件依据」不得超过500字" in too_long.data.decode()
    assert snapshot("flood") == before and len(_log("flood")) == logged


def test_the_department_type_is_chosen_from_the_types_departments_have(client):
    login(client, "zhengce")
    page = client.get("/admin/items/eia").data.decode()
    select_html = re.search(r'<select id="f_dept_type" name="dept_type">.*?</select>', page, re.S).group(0)
    types = set(db.session.scalars(select(Department.dept_type).distinct()))
    assert set(re.findall(r'<option value="([^"]+)"', select_html)) == types
    assert 'value="生态环境" selected' in select_html and 'list="dept-types"' not in page
    before, logged = snapshot("eia"), len(_log("eia"))
    for typo in ("生态 环境", "环保", "x" * 30):
        response = client.post("/admin/items/eia", data=form_of("eia", dept_type=typo, promised_limit="30"))
        html = response.data.decode()
        assert response.status_code == 422, typo
        assert "不是已登记部门的类型，请从列表中选择" in html and 'id="field-dept_type"' in html
    assert db.session.get(ApprovalItem, "eia").dept_type == "生态环境"
    assert snapshot("eia") == before and len(_log("eia")) == logged
    # a new item too: only a type some department has
    code = f"t_{uuid.uuid4().hex[:8]}"
    refused = client.post("/admin/items/new", data=form_of("flood", code=code, name="测试事项", dept_type="工信"))
    assert refused.status_code == 422 and db.session.get(ApprovalItem, code) is None


def test_an_item_keeps_a_type_no_department_has_any_more_and_the_page_says_so(client):
    login(client, "zhengce")
    item = db.session.get(ApprovalItem, "heritage")
    before = item.dept_type
    item.dept_type = "文物保护（旧）"
    db.session.commit()
    try:
        page = client.get("/admin/items/heritage").data.decode()
        assert "文物保护（旧）（暂无此类部门，新的申报找不到办理部门）" in page
        response = client.post("/admin/items/heritage", data=form_of("heritage", max_extension="5",
                                                                      change_reason="测试"))
        assert response.status_code == 302, response.data.decode()[:2000]
    finally:
        db.session.expire_all()
        item = db.session.get(ApprovalItem, "heritage")
        item.dept_type = before
        db.session.commit()
        client.post("/admin/items/heritage", data=form_of("heritage", max_extension="10", change_reason="测试还原"))


def test_policy_pages_show_names_not_codes_and_no_developer_words(client):
    login(client, "zhengce")
    assert client.get("/").headers["Location"].endswith("/admin/items")  # lands on the 事项目录
    listing = client.get("/admin/items").data.decode()
    assert ">energy<" not in listing and ">编码<" not in listing and "节能审查" in listing
    page = client.get("/admin/items/energy").data.decode()
    assert "节能审查" in page and 'value="energy"' not in page and "编码由并联审批决策表" not in page
    sub = client.get("/admin/items/new?parent=authorisation").data.decode()
    assert "（authorisation）" not in sub and "「事项编码」" not in sub and "事项编码" in sub  # needed only to create
    calendar = client.get("/admin/calendar?year=2026").data.decode()
    assert "chinese-calendar" not in calendar and "已发布&#34;标记" not in calendar and '"已发布"' not in calendar
    assert "本年安排尚未录入完毕" in calendar and "（系统内置）" in calendar
    assert "chinese-calendar" not in CALENDAR_SOURCE
    assert not db.session.scalar(select(CalendarDay.day).where(CalendarDay.source.contains("chinese-calendar")))
    assert not db.session.scalar(select(CalendarYear.year).where(CalendarYear.source.contains("chinese-calendar")))


def test_the_history_labels_every_item_field_the_form_edits():
    assert set(catalogue_history.FIELD_LABELS) == {
        "name", "kinds", "stage", "dept_type", "level", "statutory_limit", "promised_limit", "unit", "max_extension",
        "has_intermediary", "has_expert_review", "limit_source", "legal_basis", "active"}


# ---- 电子监察 -----------------------------------------------------------------------------------------------
@pytest.fixture
def staff(ctx):
    """Two more oversight users: a county's (江海区发改局) and another city's (广州市发改局); removed afterwards."""
    made = []
    password = db.session.scalar(select(User.password_hash).where(User.username == "jiancha"))
    for department in ("江门市江海区发展和改革局", "广州市发展和改革局"):
        name = f"sv_{uuid.uuid4().hex[:8]}"
        user = User(username=name, display_name=f"测监察{name[-3:]}", kind="staff", password_hash=password,
                    phone=f"139{uuid.uuid4().int % 10**8:08d}", realname_level="verified",
                    department_id=db.session.scalar(select(Department.id).where(Department.name == department)))
        user.role_rows = [UserRole(role="supervisor")]
        db.session.add(user)
        made.append(name)
    db.session.commit()
    yield {"county": made[0], "other_city": made[1]}
    db.session.rollback()
    ids = list(db.session.scalars(select(User.id).where(User.username.in_(made))))
    db.session.execute(delete(UserRole).where(UserRole.user_id.in_(ids)))
    db.session.execute(delete(User).where(User.id.in_(ids)))
    db.session.commit()


def _row(page: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}".*?</tr>', page, re.S)
    assert match, f"{row_id} not listed"
    return match.group(0)


@pytest.mark.clock("2026-03-10 10:00")
def test_filings_are_supervised_by_working_days_beside_the_items(client):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))  # Tuesday 3-10: due at the end of Friday 3-13
    declaration = declare(client, new_project(client))  # four items 待受理: 受理期限 the end of Tuesday 3-17
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    land = case_of(declaration, "land_site")
    client.post("/logout")
    login(client, "jiancha")

    page = client.get("/supervision/").data.decode()
    row = _row(page, f"filing-{application.id}")
    assert "备案" in row and application.number in row and "待受理" in row
    assert "剩余 3 个工作日" in row and "截止 2026-03-13 23:59" in row and "已等待 0 个工作日" in row
    assert f'href="/supervision/filings/{application.id}"' in row
    waiting = _row(page, f"item-{land.id}")
    assert "受理期限 2026-03-17 23:59" in waiting and "已等待 0 个工作日" in waiting and "收件 2026-03-10" in waiting
    assert f'href="/supervision/cases/{land.id}"' in waiting
    handling = _row(page, f"item-{case_of(declaration, 'authorisation').id}")
    assert "受理 2026-03-10" in handling and "剩余 20 个工作日" in handling

    at("2026-03-12 10:00")  # Thursday: one working day left of three → yellow
    page = client.get("/supervision/?kind=filing&light=waiting").data.decode()
    row = _row(page, f"filing-{application.id}")
    assert "light-yellow" in row and "剩余 1 个工作日" in row and "已等待 2 个工作日" in row
    assert f"item-{land.id}" not in page  # kind=filing lists 备案 only

    at("2026-03-16 10:00")  # Monday after the Friday deadline: red, counted in 红灯
    page = client.get("/supervision/?light=red").data.decode()
    row = _row(page, f"filing-{application.id}")
    assert "light-red" in row and "已超期" in row
    summary = re.search(r'<table class="list sv-summary" id="summary">.*?</table>', page, re.S).group(0)
    jianghai = re.search(r"<tr>\s*<td><a [^>]*>江门市江海区发展和改革局</a>.*?</tr>", summary, re.S).group(0)
    assert re.search(r'data-label="红灯"><a href="[^"]*light=red[^"]*"[^>]*>\d+</a>', jianghai)

    at("2026-03-18 10:00")  # Wednesday: the item's 受理期限 (5 working days) has passed
    page = client.get("/supervision/?light=waiting").data.decode()
    assert "受理期限 2026-03-17 23:59（已超期）" in _row(page, f"item-{land.id}")
    assert "受理超期" in page

    # each row opens its case, read-only
    case_page = client.get(f"/supervision/cases/{land.id}").data.decode()
    assert land.item_name in case_page and declaration.number in case_page and "办理记录" in case_page
    assert "/reviewer/" not in case_page and "签收" not in case_page  # nothing to act on
    filing_page = client.get(f"/supervision/filings/{application.id}").data.decode()
    assert application.number in filing_page and "已超期" in filing_page and "3个工作日" in filing_page

    # the export holds the listed rows
    export = client.get("/supervision/export.xlsx?kind=filing")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][:3] == ["类别", "办件单号", "项目"]
    mine = next(r for r in rows if r[1] == application.number)
    assert mine[0] == "备案" and mine[4] == "企业投资项目备案" and mine[7] == "红灯（超期）"
    assert all(r[0] == "备案" for r in rows[1:])


@pytest.mark.clock("2026-03-10 10:00")
def test_oversight_staff_see_their_regions_only(client, staff):
    login(client, "qiye")
    application = submit_filing(client, apply_code(client))  # 江海区发改局 (county)
    declaration = declare(client, new_project(client))
    land = case_of(declaration, "land_site")  # 江门市自然资源局 (city)
    client.post("/logout")

    login(client, "jiancha")  # the city's: the city and its counties
    page = client.get("/supervision/").data.decode()
    assert f"filing-{application.id}" in page and f"item-{land.id}" in page
    assert client.get(f"/supervision/cases/{land.id}").status_code == 200
    assert client.get(f"/supervision/filings/{application.id}").status_code == 200
    client.post("/logout")

    login(client, staff["county"])  # 江海区's: its own county's departments only
    page = client.get("/supervision/").data.decode()
    assert f"filing-{application.id}" in page and f"item-{land.id}" not in page
    assert client.get(f"/supervision/cases/{land.id}").status_code == 403
    assert client.get(f"/supervision/filings/{application.id}").status_code == 200
    client.post("/logout")

    login(client, staff["other_city"])  # 广州's: nothing of 江门
    page = client.get("/supervision/").data.decode()
    assert application.number not in page and declaration.number not in page
    export = client.get("/supervision/export.xlsx")
    numbers = [c.value for c in load_workbook(io.BytesIO(export.data)).active["B"]]
    assert application.number not in numbers and declaration.number not in numbers
    assert client.get(f"/supervision/cases/{land.id}").status_code == 403
    assert client.get(f"/supervision/filings/{application.id}").status_code == 403
    client.post("/logout")

    login(client, "qiye")  # no oversight role at all
    assert client.get(f"/supervision/filings/{application.id}").status_code == 403
    assert client.get("/supervision/export.xlsx").status_code == 403


@pytest.mark.clock("2026-12-21 10:00")
def test_the_page_warns_when_running_clocks_reach_a_year_whose_holidays_are_not_entered(client):
    declaration = declare(client, new_project(client))
    step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
    client.post("/logout")
    login(client, "jiancha")
    page = client.get("/supervision/").data.decode()  # 20 working days from 12-21 end in January 2027
    warning = re.search(r'<div class="flash warn calendar-warning" id="calendar-warning">(.*?)</div>', page, re.S)
    assert warning and "2027年" in warning.group(1) and "工作日历" in warning.group(1)
