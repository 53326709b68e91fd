"""Policy staff maintain the item catalogue (事项目录): seed, list, edit, 子项, validation, access."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApprovalItem, ItemMaterial
from app.seed.items import seed_items
from app.services import catalogue_admin
from tests.conftest import login

CODES = ["proposal", "feasibility", "preliminary_design", "authorisation", "energy", "land_site", "eia", "soil_water",
         "water_permit", "flood", "forest_land", "heritage", "national_security", "land_use_planning", "works_planning",
         "construction_permit", "completion_filing"]
DEPT_TYPES = {"发改", "自然资源", "生态环境", "水利", "林业", "文物", "国家安全", "住建"}


def form_of(item_code: str, /, **overrides) -> dict[str, object]:
    """The edit form of an item as the page posts it (materials as rows), with overrides (None drops a field)."""
    values = catalogue_admin.item_values(db.session.get(ApprovalItem, item_code))
    data: dict[str, object] = {}
    for key, value in values.items():
        if key == "materials":
            for n, row in enumerate(value, start=1):
                for field, v in row.items():
                    if v is True:
                        data[f"materials-{n}-{field}"] = "on"
                    elif v is not False:
                        data[f"materials-{n}-{field}"] = v
        elif value is True:
            data[key] = "on"
        elif value is not False:
            data[key] = value
    data["change_reason"] = "依据测试文件（测试〔2026〕1号）调整"  # an edit names its reason (catalogue_history)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def snapshot(code: str) -> tuple:
    db.session.expire_all()
    item = db.session.get(ApprovalItem, code)
    return (item.name, item.promised_limit, item.statutory_limit, item.max_extension, item.active,
            [(m.name, m.required, m.condition) for m in item.materials])


def test_the_seed_holds_the_seventeen_items_each_with_its_basis_and_limit_source(ctx):
    rows = {item.code: item for item in db.session.scalars(select(ApprovalItem))}
    assert set(CODES) <= set(rows)
    for code in CODES:
        item = rows[code]
        assert item.legal_basis and item.limit_source and item.materials, code
        assert item.dept_type in DEPT_TYPES and item.level in ("county", "city", "province"), code
        assert 1 <= item.promised_limit <= (item.statutory_limit or 365), code
        assert all(m.pdf_only for m in item.materials), code
    authorisation = rows["authorisation"]
    assert (authorisation.statutory_limit, authorisation.max_extension, authorisation.level) == (20, 40, "city")
    assert "673" in authorisation.legal_basis and authorisation.has_intermediary
    assert {m.name for m in authorisation.materials} >= {"项目申请报告", "选址意见书", "用地（用海）预审意见"}
    assert "划拨" in next(m.condition for m in authorisation.materials if m.name == "选址意见书")
    assert (rows["eia"].unit, rows["eia"].promised_limit) == ("day", 60) and "30" in rows["eia"].limit_source
    assert (rows["construction_permit"].unit, rows["construction_permit"].promised_limit) == ("day", 7)
    assert rows["proposal"].statutory_limit is None and "地方做法" in rows["proposal"].limit_source
    assert rows["completion_filing"].max_extension == 0
    assert [rows[c].level for c in ("proposal", "feasibility", "preliminary_design")] == ["county"] * 3


def test_seeding_again_adds_nothing_and_keeps_what_staff_edited(ctx):
    item = db.session.get(ApprovalItem, "flood")
    before = item.promised_limit
    item.promised_limit = 15
    db.session.flush()
    try:
        assert seed_items() == 0
        assert db.session.get(ApprovalItem, "flood").promised_limit == 15
    finally:
        item.promised_limit = before
        db.session.commit()


def test_the_list_shows_every_item_by_stage_with_its_limit(client):
    login(client, "zhengce")
    page = client.get("/admin/items")
    html = page.data.decode()
    assert page.status_code == 200
    for code in CODES:
        assert f'id="item-{code}"' in html
    assert "立项用地规划许可阶段" in html and "竣工验收阶段" in html
    assert "（法定20个工作日）" in html and "（法律法规未规定时限）" in html and "（法定60日）" in html
    assert catalogue_admin.limit_text(db.session.get(ApprovalItem, "authorisation")) == "20个工作日（法定20个工作日）"
    assert catalogue_admin.limit_text(db.session.get(ApprovalItem, "proposal")) == "20个工作日（法律法规未规定时限）"
    assert catalogue_admin.extension_text(db.session.get(ApprovalItem, "authorisation")) == "40个工作日"


def test_editing_the_promised_limit_saves_it(client):
    login(client, "zhengce")
    before = snapshot("water_permit")
    try:
        assert "取水许可申请书" in client.get("/admin/items/water_permit").data.decode()
        response = client.post("/admin/items/water_permit", data=form_of("water_permit", promised_limit="30"))
        assert response.status_code == 302
        db.session.expire_all()
        item = db.session.get(ApprovalItem, "water_permit")
        assert item.promised_limit == 30 and item.statutory_limit == 45
        assert [m.name for m in item.materials] == [m[0] for m in before[5]]  # materials untouched
        assert "30个工作日" in client.get("/admin/items").data.decode()
        assert catalogue_admin.limit_text(item) == "30个工作日（法定45个工作日）"
    finally:
        client.post("/admin/items/water_permit", data=form_of("water_permit", promised_limit=str(before[1])))
    assert snapshot("water_permit") == before


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"promised_limit": "0"}, "promised_limit", "「承诺时限」须为1–365的整数"),
    ({"promised_limit": "25"}, "promised_limit", "「承诺时限」不得超过「法定时限」（法定20个工作日）"),
    ({"statutory_limit": "0"}, "statutory_limit", "「法定时限」"),
    ({"max_extension": "61"}, "max_extension", "「延长上限」"),
    ({"name": ""}, "name", "请填写「事项名称」"),
    ({"kinds": None}, "kinds", "「适用项目类别」"),
    ({"unit": "month"}, "unit", "「时限单位」"),
    ({"level": "town"}, "level", "「办理层级」"),
    ({"dept_type": " "}, "dept_type", "「主管部门类型」"),
    ({"materials-6-name": "", "materials-6-condition": "仅外商投资项目"}, "materials-6-name",
     "第6行材料：请填写「材料名称」"),
    ({"materials-1-name": ""}, "materials-1-name", "第1行材料：请填写「材料名称」"),
])
def test_invalid_input_is_refused_with_the_field_named_and_nothing_written(client, overrides, field, message):
    login(client, "zhengce")
    before = snapshot("authorisation")
    data = form_of("authorisation", name="改了名字", promised_limit="15", **{"materials-5-name": "新材料"})
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    response = client.post("/admin/items/authorisation", data=data, headers={"Accept": "text/html"})
    html = response.data.decode()
    assert response.status_code == 422
    assert message in html and f'id="field-{field}"' in html
    assert snapshot("authorisation") == before


def test_invalid_codes_are_refused_on_create(client):
    login(client, "zhengce")
    count = db.session.query(ApprovalItem).count()
    base = form_of("flood", name="测试事项")
    for bad in ("Flood", "1abc", "a", "new", "flood", "has-dash"):
        response = client.post("/admin/items/new", data={**base, "code": bad})
        assert response.status_code == 422, bad
        assert "「事项编码」" in response.data.decode()
    assert db.session.query(ApprovalItem).count() == count


def test_a_sub_item_under_authorisation_inherits_the_defaults_and_saves_with_a_local_material(client):
    login(client, "zhengce")
    code = f"authorisation_t{uuid.uuid4().hex[:8]}"
    page = client.get("/admin/items/new?parent=authorisation").data.decode()
    assert "新增子项" in page and 'name="parent_code" value="authorisation"' in page
    assert 'value="authorisation" checked' in page and 'value="立项用地规划许可" selected' in page
    assert ">项目申请报告</textarea>" in page  # the unified item's materials are offered as new rows
    data = form_of("authorisation", code=code, parent_code="authorisation",
                   name="企业投资项目核准-工业和信息化领域技术改造项目核准", dept_type="生态环境")
    data = {k: v for k, v in data.items() if not k.startswith("materials-")}
    data.update({"materials-1-name": "项目申请报告", "materials-1-required": "on", "materials-1-pdf_only": "on",
                 "materials-2-name": "技术改造项目能耗说明", "materials-2-pdf_only": "on",
                 "materials-2-local_basis": "某省技术改造条例（测试）", "materials-3-name": ""})
    response = client.post("/admin/items/new", data=data)
    assert response.status_code == 302, response.data.decode()
    item = db.session.get(ApprovalItem, code)
    assert item.parent_code == "authorisation" and item.kinds == ["authorisation"] and item.stage == "立项用地规划许可"
    assert item.dept_type == "生态环境" and item.max_extension == 40
    assert [(m.name, m.required) for m in item.materials] == [("项目申请报告", True), ("技术改造项目能耗说明", False)]
    listing = client.get("/admin/items").data.decode()
    assert code in listing and "地方1" in listing
    edit = client.get(f"/admin/items/{code}").data.decode()
    assert "地方性法规要求" in edit
    # delete a material row and deactivate the sub-item
    data = form_of(code, active=None, **{"materials-1-delete": "on"})
    assert client.post(f"/admin/items/{code}", data=data).status_code == 302
    db.session.expire_all()
    item = db.session.get(ApprovalItem, code)
    assert not item.active and [m.name for m in item.materials] == ["技术改造项目能耗说明"]
    assert code in client.get("/admin/items/authorisation").data.decode()  # listed under its unified item
    db.session.delete(item)
    db.session.commit()
    assert db.session.scalar(select(ItemMaterial.id).where(ItemMaterial.item_code == code)) is None


def test_a_sub_item_cannot_hang_under_another_sub_item(client):
    login(client, "zhengce")
    parent = f"flood_t{uuid.uuid4().hex[:8]}"
    data = form_of("flood", code=parent, parent_code="flood", name="洪水影响评价类审批-测试子项")
    assert client.post("/admin/items/new", data=data).status_code == 302
    try:
        nested = client.post("/admin/items/new", data={**data, "code": parent + "_x", "parent_code": parent})
        assert nested.status_code == 422 and "「上级事项」" in nested.data.decode()
        assert db.session.get(ApprovalItem, parent + "_x") is None
    finally:
        db.session.delete(db.session.get(ApprovalItem, parent))
        db.session.commit()


def test_enterprise_users_and_anonymous_visitors_are_refused(client):
    before = snapshot("flood")
    anonymous = client.get("/admin/items")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.post("/admin/items/flood", data=form_of("flood", promised_limit="5")).status_code == 302
    login(client, "qiye")
    assert client.get("/admin/items").status_code == 403
    assert client.get("/admin/items/flood").status_code == 403
    assert client.post("/admin/items/flood", data=form_of("flood", promised_limit="5")).status_code == 403
    assert client.post("/admin/items/new", data=form_of("flood", code="qiye_item")).status_code == 403
    assert snapshot("flood") == before and db.session.get(ApprovalItem, "qiye_item") is None


def test_the_item_page_posts_a_csrf_token(app, client):
    login(client, "zhengce")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert 'name="csrf_token"' in client.get("/admin/items/eia").data.decode()
        refused = client.post("/admin/items/eia", data=form_of("eia", promised_limit="30"))
        assert refused.status_code == 400 and "CSRF" in refused.data.decode()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(ApprovalItem, "eia").promised_limit == 60
