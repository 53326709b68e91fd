"""Issue 14 §2, item side (needs approval-sms-resolve.diff): an item's 补正 reaches the applicant by 待阅 and SMS,
and the 待阅 is marked read once that item's 补正 is submitted (another item's stays)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Notification, SmsMessage, User
from tests.conftest import login
from tests.integration.approval_helpers import case_of, declare, new_project, step, upload

pytestmark = pytest.mark.clock("2026-12-01 10:00")


def test_item_correction_is_texted_and_its_note_resolved_by_the_supplement(client):
    project = new_project(client)
    declaration = declare(client, project)
    eia, soil = case_of(declaration, "eia"), case_of(declaration, "soil_water")
    for username, case in (("hb_shouli", eia), ("sl_shouli", soil)):
        step(client, username, declaration, case.item_code,
             {"decision": "correction", "opinion": "材料不全", "missing_material": [str(case.item.materials[0].id)]})
    qiye = db.session.query(User).filter_by(username="qiye").one()
    texts = [m.text for m in db.session.query(SmsMessage).filter_by(user_id=qiye.id)]
    assert any(eia.item_name in t and "需要补正" in t for t in texts)
    link = f"/enterprise/declarations/{declaration.id}"
    client.post("/logout")
    login(client, "qiye")
    assert upload(client, declaration.id, "eia", eia.item.materials[0].id, "补正").status_code == 302
    assert client.post(f"{link}/items/eia/supplement", data={"note": "已补充"}).status_code == 302
    db.session.expire_all()
    notes = {n.title.split("」")[0] + "」": n for n in db.session.query(Notification).filter_by(user_id=qiye.id, link=link)
             if "需要补正" in n.title}
    assert notes[f"「{eia.item_name}」"].read_at is not None
    assert notes[f"「{soil.item_name}」"].read_at is None
