"""Steps of a 审批/核准 declaration over HTTP, shared by the approval tests and the bench."""
from __future__ import annotations

import io
import re

from reportlab.pdfgen.canvas import Canvas

from app.extensions import db
from app.models import Declaration, HumanTask, ItemCase, Project
from tests.conftest import login
from tests.integration.helpers import code_form

# 核准 project with four items in four departments: 核准 (市发改), 用地预审 (市自然资源), 环评 (市生态环境),
# 水保 (市水利); state-controlled with a 5,000万 construction contract, so it must tender.
FOUR_ITEMS = {
    "land_supply": "transfer", "new_land": "yes", "forest_land": "no", "heritage_site": "no", "national_security": "no",
    "energy_tce": "200", "power_10k_kwh": "50", "eia_category": "table", "soil_disturbance": "yes",
    "water_abstraction": "no", "flood_area": "no", "total_investment": "50000", "state_funds": "0",
    "state_controlled": "yes", "foreign_loan": "no", "construction_contract": "5000", "goods_contract": "0",
    "services_contract": "0",
}
REVIEWERS = {"authorisation": ("sfg_shouli", "sfg_banli"), "land_site": ("zr_shouli", "zr_banli"),
             "eia": ("hb_shouli", "hb_banli"), "soil_water": ("sl_shouli", "sl_banli"),
             "energy": ("sfg_shouli", "sfg_banli"), "proposal": ("shouli", "banli"),
             "feasibility": ("shouli", "banli"), "preliminary_design": ("shouli", "banli"),
             "works_planning": ("zr_shouli", "zr_banli"), "land_use_planning": ("zr_shouli", "zr_banli"),
             "construction_permit": ("zj_shouli", "zj_banli"), "completion_filing": ("zj_shouli", "zj_banli")}
TENDER = {f"tender_{k}_{p}": v for k in ("survey", "design", "supervision", "goods")
          for p, v in (("scope", "不招标"), ("method", "—"), ("org", "—"))}
TENDER.update(tender_works_scope="全部招标", tender_works_method="公开招标", tender_works_org="委托招标")


def pdf_bytes(text: str = "material") -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def new_project(client, kind: str = "authorisation", name: str = "江门市示范新材料产业园核准项目") -> Project:
    client.post("/logout")
    login(client, "qiye")
    response = client.post("/enterprise/code/new", data=code_form(kind=kind, name=name, type_code="01", nature="新建",
                                                                 total_investment="50000"))
    assert response.status_code == 302, response.data.decode()
    return db.session.query(Project).order_by(Project.id.desc()).first()


def start_declaration(client, project: Project) -> int:
    response = client.post(f"/enterprise/declarations/start/{project.id}")
    assert response.status_code == 302, response.data.decode()
    return int(re.search(r"/declarations/(\d+)", response.headers["Location"]).group(1))


def declare(client, project: Project, answers: dict | None = None, declaration_id: int | None = None) -> Declaration:
    """As the enterprise: start (unless started), answer, upload every required material, submit."""
    if declaration_id is None:
        declaration_id = start_declaration(client, project)
    response = client.post(f"/enterprise/declarations/{declaration_id}/answers", data=answers or FOUR_ITEMS)
    assert response.status_code == 302, response.data.decode()
    upload_required(client, declaration_id)
    response = client.post(f"/enterprise/declarations/{declaration_id}/submit", data={"action": "submit", "pledge": "on"})
    assert response.status_code == 302, response.data.decode()
    return db.session.get(Declaration, declaration_id)


def upload_required(client, declaration_id: int) -> None:
    """Every material the declaration's answers make required (app.services.approval.materials_for)."""
    from app.services import approval

    db.session.expire_all()
    for row in approval.materials_for(db.session.get(Declaration, declaration_id)):
        for view in row.materials:
            if view.outcome.demanded:
                upload(client, declaration_id, row.case.item_code, view.material.id,
                       f"{row.case.item_code}-{view.material.id}")


def upload(client, declaration_id: int, item_code: str, material_id: int, text: str = "x", content: bytes | None = None,
           filename: str = "材料.pdf"):
    response = client.post(f"/enterprise/declarations/{declaration_id}/attachments", data={
        "item_code": item_code, "material_id": str(material_id),
        "file": (io.BytesIO(content if content is not None else pdf_bytes(text)), filename)},
        content_type="multipart/form-data")
    return response


def item_task(declaration: Declaration, item_code: str) -> HumanTask:
    db.session.expire_all()
    return db.session.query(HumanTask).filter_by(instance_id=declaration.instance_id, scope=item_code).one()


def case_of(declaration: Declaration, item_code: str) -> ItemCase:
    db.session.expire_all()
    return db.session.query(ItemCase).filter_by(declaration_id=declaration.id, item_code=item_code).one()


def step(client, username: str, declaration: Declaration, item_code: str, data: dict, expect: int = 302):
    """As a reviewer: claim the item's current step and complete it."""
    client.post("/logout")
    login(client, username)
    task = item_task(declaration, item_code)
    if task.assignee is None:  # still mine after a refused (422) attempt
        assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
    case = case_of(declaration, item_code)
    response = client.post(f"/reviewer/cases/{case.id}/tasks/{task.id}/complete", data=data)
    assert response.status_code == expect, response.data.decode()[:2000]
    return response


def approve_item(client, declaration: Declaration, item_code: str, result: str = "approve") -> None:
    acceptor, handler = REVIEWERS[item_code]
    step(client, acceptor, declaration, item_code, {"decision": "accept", "code_verified": "on"})
    step(client, handler, declaration, item_code, {"decision": "decide", "opinion": "材料齐全，符合要求"})
    form = {"result": result, "doc_number": f"江{item_code}〔2026〕1号", "doc_title": f"关于{item_code}的批复",
            "opinion": "同意。" if result == "approve" else "不符合要求，不予许可。"}
    if declaration.must_tender and item_code in ("authorisation", "feasibility"):
        form.update(TENDER)
    step(client, handler, declaration, item_code, form)
