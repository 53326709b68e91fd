"""Bars every change keeps: configuration, CSRF, calendar maintenance, versions."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.config import ConfigError, load_config
from app.extensions import db
from app.models import CalendarDay
from app.services import calendar
from tests.conftest import login


def test_production_refuses_the_default_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()
    monkeypatch.setenv("SECRET_KEY", "a-real-secret")
    config = load_config()
    assert config["SESSION_COOKIE_SECURE"] and not config["DEV_TOOLS"]


def test_posts_without_csrf_token_are_refused(app, ctx):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = app.test_client().post("/login", data={"username": "qiye", "password": "Demo@2026"})
        assert response.status_code == 400 and "CSRF" in response.data.decode()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_passwords_are_argon2_hashes(ctx):
    from app.models import User

    assert db.session.query(User).filter_by(username="qiye").one().password_hash.startswith("$argon2")


@pytest.mark.clock("2026-12-30 10:00")  # the warning counts from today: in 2026, before 2027 is published
def test_policy_staff_edit_the_calendar_and_a_new_year_counts_weekdays_with_a_warning(client):
    login(client, "zhengce")
    assert "2025年例外日期" in client.get("/admin/calendar?year=2025").data.decode()
    cal = calendar.work_calendar()
    assert cal.add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 1)  # 2027 unpublished: Mon–Fri
    assert calendar.warning_for(datetime(2027, 1, 4, tzinfo=UTC)) and "2027" in calendar.warning_for(
        datetime(2027, 1, 4, tzinfo=UTC))
    response = client.post("/admin/calendar/day", data={"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert response.status_code == 302
    assert client.post("/admin/calendar/year", data={"year": "2027", "published": "1"}).status_code == 302
    assert client.post("/admin/calendar/day", data={"day": "2027-13-01", "kind": "holiday"}).status_code == 422
    cal = calendar.work_calendar()
    assert not cal.is_workday(date(2027, 1, 1)) and 2027 in cal.published_years
    assert cal.add_workdays(date(2026, 12, 30), 2) == date(2027, 1, 4)
    assert calendar.warning_for(datetime(2027, 1, 4, tzinfo=UTC)) is None
    db.session.query(CalendarDay).filter(CalendarDay.day == date(2027, 1, 1)).delete()
    client.post("/admin/calendar/year", data={"year": "2027", "published": "0"})
    calendar.invalidate()


def test_applicants_cannot_edit_the_calendar(client):
    login(client, "qiye")
    assert client.post("/admin/calendar/day", data={"day": "2027-01-01", "kind": "holiday"}).status_code == 403


def test_policy_staff_add_a_screening_rule_that_applies_at_once(client):
    from app.models import PolicyRuleRow
    from tests.integration.helpers import code_form

    login(client, "zhengce")
    assert "产能严重过剩" in client.get("/admin/policy-rules").data.decode()
    bad = client.post("/admin/policy-rules/new", data={"id": "x", "kind": "overcapacity", "title": ""})
    assert bad.status_code == 422 and "规则编号" in bad.data.decode() and "请填写「规则名称」" in bad.data.decode()
    rule = {"id": "test_machinery_ban", "kind": "regional_ban", "title": "测试：禁止新增通用零部件产能",
            "industry_prefixes": "C3484", "natures": "技术改造", "region_prefixes": "440704",
            "message": "江海区暂停受理通用零部件项目", "source": "测试文件〔2026〕1号", "active": "on"}
    assert client.post("/admin/policy-rules/new", data=rule).status_code == 302
    client.post("/logout")
    login(client, "qiye")
    refused = client.post("/enterprise/code/new", data=code_form())
    assert refused.status_code == 422 and "江海区暂停受理通用零部件项目" in refused.data.decode()
    assert "测试文件〔2026〕1号" in refused.data.decode()
    db.session.query(PolicyRuleRow).filter_by(id="test_machinery_ban").delete()
    db.session.commit()


def test_enterprises_cannot_edit_screening_rules(client):
    login(client, "qiye")
    assert client.get("/admin/policy-rules").status_code == 403
