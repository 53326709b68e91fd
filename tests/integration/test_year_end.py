"""The year in the numbers and dates the platform hands out is the Beijing year: the last half hour of
31 December (15:30 UTC) still belongs to the old year, the first of 1 January (16:30 UTC the day before)
to the new one, whatever UTC says."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from app.extensions import db
from app.models import FilingCertificate, PendingTimer, Permit
from tests.conftest import at, login
from tests.integration.helpers import act, apply_code, submit_filing
from tests.integration.lifecycle_helpers import applicant_tasks, fire_timers


@pytest.mark.parametrize(("moment", "yymm", "valid_until"), [
    ("2026-12-31 23:30", "2612", date(2028, 12, 31)),
    ("2027-01-01 00:30", "2701", date(2029, 1, 1)),
])
def test_numbers_and_dates_carry_the_beijing_year(client, app, moment, yymm, valid_until):
    year = 2000 + int(yymm[:2])
    at(moment)
    login(client, "qiye")
    code = apply_code(client)
    assert code.startswith(f"{yymm}-")  # 项目代码: year and month of 赋码
    application = submit_filing(client, code)
    assert re.fullmatch(rf"440704-03-{year}\d{{4}}XMBA", application.number)  # 办件单号
    assert act(client, "shouli", application, "accept", {"decision": "accept"}).status_code == 302
    assert act(client, "banli", application, "review", {"decision": "pass"}).status_code == 302
    assert act(client, "banli", application, "issue", {"confirm": "on"}).status_code == 302
    db.session.expire_all()
    assert db.session.query(FilingCertificate).one().number.startswith(f"{yymm[:2]}440704")  # 备案证号
    permit = db.session.query(Permit).one()
    assert (permit.issued_on, permit.valid_until) == (date.fromisoformat(moment[:10]), valid_until)

    # The yearly report is asked for the Beijing year of issue, from 1 December 09:00 Beijing (01:00 UTC).
    timers = {t.due_at for t in db.session.query(PendingTimer).filter_by(instance_id=permit.progress_instance_id)}
    if year == 2027:
        assert datetime(2027, 12, 1, 1, 0) in timers and applicant_tasks(permit) == []
    else:  # issued in December: that December's reminder is already due and fires at the next tick
        fire_timers(app)
        assert [(t.bpmn_id, t.scope) for t in applicant_tasks(permit)] == [("yearly_report", "2026")]
