"""政策工作台 → 参考数据: add, change and delete with a reason and a field diff in the log; deletes refused while
something refers to the row; spreadsheet export and previewed, all-or-nothing import; access."""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal

import lxml.html
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import CapitalRatio, CatalogueEntry, Department, Industry, Region, StudioChange, User
from app.services import ServiceError, reference_tables, spreadsheet
from tests.conftest import login
from tests.integration.helpers import apply_code

REFERENCE_MODELS = (Department, Region, Industry, CapitalRatio, CatalogueEntry)  # children before parents


def _snapshot(model) -> dict:
    columns = [c.key for c in model.__table__.columns]
    return {tuple(getattr(r, k.key) for k in model.__table__.primary_key): {c: getattr(r, c) for c in columns}
            for r in db.session.scalars(select(model))}


@pytest.fixture(autouse=True)
def restored(ctx) -> Iterator[None]:
    """The tests share one database: put the reference tables back as the seed left them, drop their log rows."""
    before = {model: _snapshot(model) for model in REFERENCE_MODELS}
    last_change = db.session.scalar(select(func.max(StudioChange.id))) or 0
    yield
    db.session.rollback()
    db.session.execute(StudioChange.__table__.delete().where(StudioChange.id > last_change))
    for model in REFERENCE_MODELS:
        for key in _snapshot(model):
            if key not in before[model]:
                db.session.delete(db.session.get(model, key))
        db.session.flush()
    for model in reversed(REFERENCE_MODELS):
        for key, values in before[model].items():
            row = db.session.get(model, key)
            if row is None:
                db.session.add(model(**values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)
        db.session.flush()
    db.session.commit()


def changes(area: str, key: str | None = None) -> list[StudioChange]:
    db.session.expire_all()
    query = select(StudioChange).where(StudioChange.area == area).order_by(StudioChange.id)
    if key is not None:
        query = query.where(StudioChange.record_key == key)
    return list(db.session.scalars(query))


def diff_of(change: StudioChange) -> dict[str, tuple]:
    return {d["label"]: (d["before"], d["after"]) for d in change.diff}


def page_errors(body: str) -> dict[str, str]:
    """Messages shown beside the fields marked red, by field name (id="field-<name>")."""
    page = lxml.html.fromstring(body)
    return {div.get("id")[len("field-"):]: div.xpath("string(.//div[contains(@class, 'error-text')])").strip()
            for div in page.xpath("//div[contains(concat(' ', @class, ' '), ' has-error ')]")}


def xlsx(rows: list[list], headers: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, area: str, data: bytes, name: str = "导入.xlsx"):
    return client.post(f"/studio/tables/{area}/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def hidden(body: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', body).group(1)


def apply(client, area: str, preview_body: str, reason: str = "按2024年本更新"):
    return client.post(f"/studio/tables/{area}/import/apply", data={
        "token": hidden(preview_body, "token"), "digest": hidden(preview_body, "digest"), "reason": reason})


def text_of(body: str) -> str:
    return re.sub(r"\s+", " ", lxml.html.fromstring(body).text_content())


INDUSTRY_HEADERS = ["代码", "名称", "资本金行业类别"]


# --- add, change, delete with a reason and a diff ----------------------------------------------------------------

def test_an_industry_is_added_changed_and_deleted_each_with_its_reason_and_diff_in_the_log(client):
    login(client, "zhengce")
    response = client.post("/studio/tables/industries/new", data={
        "code": "c3999", "name": "其他测试设备制造", "capital_category": "other", "reason": "补充小类"})
    assert response.status_code == 302, response.data.decode()
    industry = db.session.get(Industry, "C3999")  # codes are kept in capitals, as GB/T 4754 writes them
    assert (industry.name, industry.capital_category) == ("其他测试设备制造", "other")
    [added] = changes("industries", "C3999")
    assert (added.action, added.reason, added.author.username) == ("add", "补充小类", "zhengce")
    assert diff_of(added) == {"代码": (None, "C3999"), "名称": (None, "其他测试设备制造"), "资本金行业类别": (None, "other")}

    response = client.post("/studio/tables/industries/C3999", data={
        "name": "其他专用设备制造", "capital_category": "steel_aluminium", "reason": "名称按标准原文改正"})
    assert response.status_code == 302
    change = changes("industries", "C3999")[-1]
    assert change.action == "change" and change.reason == "名称按标准原文改正"
    assert diff_of(change) == {"名称": ("其他测试设备制造", "其他专用设备制造"),
                               "资本金行业类别": ("other", "steel_aluminium")}

    history = text_of(client.get("/studio/tables/industries/history?key=C3999").data.decode())
    assert "名称按标准原文改正" in history and "其他测试设备制造 → 其他专用设备制造" in history and "孙政策" in history

    unchanged = client.post("/studio/tables/industries/C3999", data={
        "name": "其他专用设备制造", "capital_category": "steel_aluminium", "reason": "再次保存"})
    assert unchanged.status_code == 302 and len(changes("industries", "C3999")) == 2  # nothing changed: no entry

    assert client.post("/studio/tables/industries/C3999/delete", data={"reason": "误加"}).status_code == 302
    assert db.session.get(Industry, "C3999") is None
    deleted = changes("industries", "C3999")[-1]
    assert deleted.action == "delete" and deleted.reason == "误加"
    assert diff_of(deleted)["名称"] == ("其他专用设备制造", None)


@pytest.mark.parametrize(("area", "data", "field", "message"), [
    ("industries", {"code": "", "name": "x", "capital_category": "other"}, "code", "「代码」不能为空"),
    ("industries", {"code": "3011", "name": "x", "capital_category": "other"}, "code", "「代码」须为门类字母"),
    ("industries", {"code": "C3011", "name": "x", "capital_category": "other"}, "code", "「代码」C3011 已存在"),
    ("industries", {"code": "C3998", "name": "x", "capital_category": "nope"}, "capital_category",
     "「资本金行业类别」nope 不在项目资本金比例表中"),
    ("industries", {"code": "C3998", "name": "名" * 101, "capital_category": "other"}, "name", "「名称」不能超过100字"),
    ("industries", {"code": "C3998", "name": "x", "capital_category": "other", "reason": ""}, "reason",
     "请填写「修改原因」"),
    ("capital_ratios", {"code": "test_a", "name": "x", "min_ratio": "1.5", "source": "s"}, "min_ratio",
     "「最低比例」须为0到1之间的小数"),
    ("capital_ratios", {"code": "test_a", "name": "x", "min_ratio": "0", "source": "s"}, "min_ratio", "须为0到1之间"),
    ("capital_ratios", {"code": "test_a", "name": "x", "min_ratio": "0.12345", "source": "s"}, "min_ratio", "最多4位小数"),
    ("capital_ratios", {"code": "new", "name": "x", "min_ratio": "0.2", "source": "s"}, "code", "「代码」不能用 new"),
    ("catalogue", {"code": "2024-x", "category": "一般", "title": "t", "source": "s"}, "category",
     "「类别」只能是鼓励、限制、淘汰"),
    ("regions", {"code": "440799", "name": "测试区", "parent_code": "440099", "level": "county"}, "parent_code",
     "「上级代码」440099 不存在"),
    ("regions", {"code": "440799", "name": "测试区", "parent_code": "440000", "level": "county"}, "parent_code",
     "「上级代码」440000 是省级地区，县级地区的上级须为市级地区"),
    ("regions", {"code": "440799", "name": "测试区", "parent_code": "440700", "level": "province"}, "parent_code",
     "省级地区的「上级代码」须留空"),
    ("departments", {"name": "测试局", "dept_type": "发改", "level": "city", "region_code": "440704"}, "level",
     "「层级」须与所在地区一致"),
    ("departments", {"name": "江门市水利局", "dept_type": "水利", "level": "city", "region_code": "440700"}, "name",
     "部门名称不能重复"),
    ("departments", {"name": "测试局", "dept_type": "发改", "level": "city", "region_code": "449999"}, "region_code",
     "「所在地区代码」449999 不存在"),
])
def test_invalid_input_is_refused_with_the_field_named_and_nothing_written(client, area, data, field, message):
    login(client, "zhengce")
    t = reference_tables.table(area)
    count = db.session.scalar(select(func.count()).select_from(t.model))
    logged = len(changes(area))
    response = client.post(f"/studio/tables/{area}/new", data={"reason": "测试", **data})
    body = response.data.decode()
    assert response.status_code == 422
    assert message in page_errors(body).get(field, ""), page_errors(body)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(t.model)) == count and len(changes(area)) == logged


def test_a_ratio_may_be_typed_as_a_percentage_and_a_region_gets_its_full_name_from_its_parent(client):
    login(client, "zhengce")
    response = client.post("/studio/tables/capital_ratios/new", data={
        "code": "test_ratio", "name": "测试行业", "min_ratio": "25%", "source": "测试依据", "reason": "测试"})
    assert response.status_code == 302
    assert db.session.get(CapitalRatio, "test_ratio").min_ratio == Decimal("0.25")
    assert "25%" in client.get("/studio/tables/capital_ratios?q=test_ratio").data.decode()
    response = client.post("/studio/tables/regions/new", data={
        "code": "440785", "name": "恩平市", "parent_code": "440700", "level": "county", "reason": "补充县级市"})
    assert response.status_code == 302
    assert db.session.get(Region, "440785").full_name == "广东省江门市恩平市"


def test_a_department_is_added_as_a_filing_authority_and_offered_on_the_filing_form(client):
    login(client, "zhengce")
    response = client.post("/studio/tables/departments/new", data={
        "name": "江门市蓬江区发展和改革局", "dept_type": "发改", "level": "county", "region_code": "440703",
        "files_projects": "是", "reason": "蓬江区开通备案"})
    assert response.status_code == 302
    department = db.session.scalar(select(Department).where(Department.name == "江门市蓬江区发展和改革局"))
    assert department.files_projects and department.region_code == "440703"
    [added] = changes("departments", str(department.id))
    assert diff_of(added)["备案机关"] == (None, "是")
    from app.services.platform import choices

    assert (str(department.id), department.name) in choices("filing_authorities")


# --- deletes refused while something refers to the row -----------------------------------------------------------

@pytest.mark.parametrize(("area", "key", "named"), [
    ("regions", "440704", "个部门"),
    ("regions", "440700", "个下级地区"),
    ("departments", None, "名用户"),
    ("capital_ratios", "other", "个国民经济行业"),
    ("catalogue", "2024-elim-steel-01", "政策审查规则「市场准入负面清单 禁止准入类」"),
])
def test_a_referenced_row_cannot_be_deleted_and_the_refusal_names_what_refers_to_it(client, area, key, named):
    login(client, "zhengce")
    if key is None:
        key = str(db.session.scalar(select(Department.id).where(Department.name == "江门市江海区发展和改革局")))
    page = client.get(f"/studio/tables/{area}/{key}/delete").data.decode()
    assert named in page and "确认删除" not in page  # no delete button offered
    response = client.post(f"/studio/tables/{area}/{key}/delete", data={"reason": "清理"})
    assert response.status_code == 409
    assert "不能删除" in response.data.decode() and named in response.data.decode()
    assert reference_tables.get_row(reference_tables.table(area), key) is not None and changes(area, key) == []


def test_an_industry_a_project_uses_cannot_be_deleted(client):
    login(client, "qiye")
    apply_code(client)  # industry C3484
    client.post("/logout")
    login(client, "zhengce")
    response = client.post("/studio/tables/industries/C3484/delete", data={"reason": "清理"})
    assert response.status_code == 409 and "仍被1个项目引用" in response.data.decode()
    assert db.session.get(Industry, "C3484") is not None


def test_a_delete_needs_a_reason(client):
    login(client, "zhengce")
    client.post("/studio/tables/industries/new", data={"code": "C3997", "name": "待删", "capital_category": "other",
                                                        "reason": "测试"})
    response = client.post("/studio/tables/industries/C3997/delete", data={"reason": " "})
    assert response.status_code == 422 and "请填写「修改原因」" in page_errors(response.data.decode())["reason"]
    assert db.session.get(Industry, "C3997") is not None


def test_lists_search_and_page(client):
    login(client, "zhengce")
    for n in range(60):
        db.session.add(Industry(code=f"T{n:04d}", name=f"分页测试{n}", capital_category="other"))
    db.session.commit()
    first = client.get("/studio/tables/industries?q=分页测试").data.decode()
    assert "第 1 / 2 页，共 60 条" in first and first.count('id="row-T') == 50
    second = client.get("/studio/tables/industries?q=分页测试&page=2").data.decode()
    assert second.count('id="row-T') == 10
    assert client.get("/studio/tables/industries?page=99999999999").status_code == 200  # out of range: page 1
    assert 'id="row-C3011"' in client.get("/studio/tables/industries?q=水泥").data.decode()


# --- spreadsheet --------------------------------------------------------------------------------------------------

def test_export_has_chinese_headers_and_reimports_unchanged(client):
    login(client, "zhengce")
    db.session.get(CatalogueEntry, "2024-restr-agri-01").title = "=HYPERLINK(\"http://example.com\")"
    db.session.commit()
    for area, headers in [("industries", INDUSTRY_HEADERS), ("capital_ratios", ["代码", "行业类别", "最低比例", "依据"]),
                          ("regions", ["代码", "名称", "全称", "上级代码", "层级"]),
                          ("departments", ["编号", "名称", "部门类型", "层级", "所在地区代码", "备案机关"]),
                          ("catalogue", ["代码", "类别", "条目内容", "来源"])]:
        response = client.get(f"/studio/tables/{area}/export.xlsx")
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
        sheet = load_workbook(io.BytesIO(response.data)).active
        assert [c.value for c in sheet[1]] == headers
        t = reference_tables.table(area)
        assert sheet.max_row - 1 == db.session.scalar(select(func.count()).select_from(t.model))
        preview = upload(client, area, response.data)
        body = preview.data.decode()
        assert preview.status_code == 200, text_of(body)
        assert 'id="n-added">0<' in body and 'id="n-changed">0<' in body and 'id="n-invalid">0<' in body, area
        assert 'id="nothing"' in body and 'id="apply"' not in body
    sheet = load_workbook(io.BytesIO(client.get("/studio/tables/catalogue/export.xlsx").data)).active
    cell = next(row[2] for row in sheet.iter_rows(min_row=2) if row[0].value == "2024-restr-agri-01")
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")  # typed text never becomes a formula
    ratios = load_workbook(io.BytesIO(client.get("/studio/tables/capital_ratios/export.xlsx").data)).active
    assert {row[0].value: row[2].value for row in ratios.iter_rows(min_row=2)}["cement"] == pytest.approx(0.35)


def test_import_preview_then_apply_then_the_same_file_changes_nothing(client):
    login(client, "zhengce")
    data = xlsx([["C3997", "导入测试一", "other"], ["C3011", "水泥制造（熟料）", "cement"],
                 ["C3120", "炼钢", "steel_aluminium"], ["c3996", "导入测试二", "cement"]], INDUSTRY_HEADERS)
    preview = upload(client, "industries", data)
    body = preview.data.decode()
    assert preview.status_code == 200
    assert 'id="n-added">2<' in body and 'id="n-changed">1<' in body and 'id="n-unchanged">1<' in body
    plan = lxml.html.fromstring(body)
    assert plan.xpath("string(//table[@id='plan-changed'])").count("水泥制造 → 水泥制造（熟料）") == 1
    assert "C3996" in plan.xpath("string(//table[@id='plan-added'])")
    assert db.session.get(Industry, "C3997") is None  # a preview writes nothing

    missing_reason = apply(client, "industries", body, reason="")
    assert missing_reason.status_code == 422 and "请填写「修改原因」" in missing_reason.data.decode()
    assert db.session.get(Industry, "C3997") is None

    applied = apply(client, "industries", body, reason="按GB/T 4754-2017补充")
    assert applied.status_code == 302 and applied.headers["Location"].endswith("/studio/tables/industries/history")
    db.session.expire_all()
    assert db.session.get(Industry, "C3011").name == "水泥制造（熟料）"
    assert db.session.get(Industry, "C3996").capital_category == "cement"
    log = changes("industries")
    assert [(c.record_key, c.action) for c in log] == [("C3997", "import"), ("C3996", "import"), ("C3011", "import")]
    assert {c.reason for c in log} == {"按GB/T 4754-2017补充"}
    assert diff_of(log[2]) == {"名称": ("水泥制造", "水泥制造（熟料）")}

    again = upload(client, "industries", data).data.decode()
    assert 'id="n-added">0<' in again and 'id="n-changed">0<' in again and 'id="n-unchanged">4<' in again
    assert 'id="nothing"' in again
    stale = client.post("/studio/tables/industries/import/apply", data={
        "token": hidden(body, "token"), "digest": hidden(body, "digest"), "reason": "再导一次"})
    assert stale.status_code == 409 and "预览之后数据已有变化" in stale.data.decode()
    assert len(changes("industries")) == 3


def test_a_file_with_bad_rows_lists_each_with_its_row_number_and_applies_nothing(client):
    login(client, "zhengce")
    data = xlsx([["C3995", "好的一行", "other"],  # row 2
                 [None, "没有代码", "other"],  # row 3
                 ["C3994", "资本金类别不存在", "no_such"],  # row 4
                 ["C3995", "重复", "other"],  # row 5
                 ["C3993", "=1+1", "other"],  # row 6: a formula
                 ["C3992", "x" * 101, "other"]], INDUSTRY_HEADERS)  # row 7
    preview = upload(client, "industries", data)
    body = preview.data.decode()
    assert preview.status_code == 422 and 'id="apply"' not in body
    errors = text_of(body)
    for message in ("第3行「代码」不能为空", "第4行「资本金行业类别」no_such 不在项目资本金比例表中",
                    "第5行「代码」C3995 与第2行重复", "第6行「名称」是公式（=1+1），导入不计算公式",
                    "第7行「名称」不能超过100字"):
        assert message in errors, message
    assert 'id="n-invalid">5<' in body
    # Posting an apply anyway (a crafted request) is refused with nothing written.
    token = reference_tables.stash(data)
    refused = client.post("/studio/tables/industries/import/apply", data={"token": token, "digest": "x", "reason": "r"})
    assert refused.status_code == 422 and "未导入任何数据" in refused.data.decode()
    assert db.session.get(Industry, "C3995") is None and changes("industries") == []


def test_regions_import_a_parent_after_its_child_and_refuse_a_missing_parent(client):
    login(client, "zhengce")
    headers = ["代码", "名称", "上级代码", "层级"]  # 全称 left out: made from the parent's
    good = xlsx([["445301", "测试区", "445300", "县级"], [445300, "测试市", 440000, "市级"]], headers)
    body = upload(client, "regions", good).data.decode()
    assert 'id="n-added">2<' in body
    assert apply(client, "regions", body).status_code == 302
    assert db.session.get(Region, "445301").full_name == "广东省测试市测试区"
    bad = xlsx([["445302", "孤儿区", "449900", "县级"], ["445303", "错层区", "440000", "县级"],
                ["445304", "比例区", "445300", "镇级"]], headers)
    errors = text_of(upload(client, "regions", bad).data.decode())
    assert "第2行「上级代码」449900 不存在" in errors
    assert "第3行「上级代码」440000 是省级地区，县级地区的上级须为市级地区" in errors
    assert "第4行「层级」只能是省级、市级、县级" in errors


def test_capital_ratios_outside_zero_and_one_are_refused_on_import(client):
    login(client, "zhengce")
    source = db.session.get(CapitalRatio, "other").source
    data = xlsx([["cement", "水泥", 35, source], ["other", "电力等其他项目", 0.2, source],
                 ["airport", "机场", "30%", source]], ["代码", "行业类别", "最低比例", "依据"])
    body = upload(client, "capital_ratios", data).data.decode()
    assert "第2行「最低比例」须为0到1之间的小数（如 0.2 表示20%）" in text_of(body)
    assert 'id="n-invalid">1<' in body and 'id="n-unchanged">1<' in body and 'id="n-changed">1<' in body
    assert "最低比例0.25 → 0.3" in text_of(body)  # 机场 25% → 30%
    assert db.session.get(CapitalRatio, "cement").min_ratio == Decimal("0.35")


def test_departments_import_by_name_without_a_number_and_refuse_an_unknown_number(client):
    login(client, "zhengce")
    headers = ["编号", "名称", "部门类型", "层级", "所在地区代码", "备案机关"]
    data = xlsx([[None, "江门市水利局", "水利", "市级", "440700", "否"],
                 [None, "江门市蓬江区发展和改革局", "发改", "县级", "440703", "是"],
                 [99999, "不存在的局", "发改", "市级", "440700", "否"]], headers)
    body = upload(client, "departments", data).data.decode()
    assert "第4行「编号」99999 不存在（新增部门请留空编号）" in text_of(body)
    assert 'id="n-unchanged">1<' in body and 'id="n-added">1<' in body
    body = upload(client, "departments", xlsx([[None, "江门市蓬江区发展和改革局", "发改", "县级", "440703", "是"]],
                                               headers)).data.decode()
    assert apply(client, "departments", body, reason="蓬江区开通备案").status_code == 302
    department = db.session.scalar(select(Department).where(Department.name == "江门市蓬江区发展和改革局"))
    assert department.files_projects and department.level == "county"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "请选择要导入的「文件」"),
    (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "「文件」不是 Excel .xlsx 格式"),
    ("代码,名称\nC3011,水泥制造\n".encode(), "「文件」不是 Excel .xlsx 格式"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "「文件」不是 Excel .xlsx 格式"),  # an old .xls
    (b"PK\x03\x04not really a zip", "「文件」已损坏"),
    (None, "「文件」不是 Excel .xlsx 工作簿"),  # a real zip without a workbook
])
def test_an_upload_that_is_no_xlsx_is_refused(client, content, message):
    login(client, "zhengce")
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hi")
        content = buffer.getvalue()
    response = upload(client, "industries", content, name="industries.xlsx")
    assert response.status_code == 422
    assert message in page_errors(response.data.decode()).get("file", "")


def test_too_large_too_many_rows_and_wrong_headers_are_refused(client, monkeypatch):
    login(client, "zhengce")
    big = upload(client, "industries", b"PK\x03\x04" + b"0" * spreadsheet.MAX_BYTES)
    assert big.status_code == 422 and "「文件」不能超过2MB" in big.data.decode()
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 3)
    many = upload(client, "industries", xlsx([[f"C39{n:02d}", "x", "other"] for n in range(4)], INDUSTRY_HEADERS))
    assert many.status_code == 422 and "「文件」超过3行数据，请分批导入" in many.data.decode()
    wrong = upload(client, "industries", xlsx([["C3011", "水泥制造"]], ["代码", "行业名称"]))
    text = text_of(wrong.data.decode())
    assert wrong.status_code == 422 and "表头「行业名称」不是本表的列" in text and "表头缺少「名称」列" in text


def _with_external_entity(data: bytes) -> bytes:
    """The same workbook with its sheet's text replaced by an external entity reading a local file (XXE)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml":
                text = re.sub(r"<(worksheet|sst)\b", r'<!DOCTYPE \1 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><\1',
                              content.decode(), count=1)
                content = text.replace("PLACEHOLDER", "&xxe;").encode()
            target.writestr(info, content)
    return out.getvalue()


def test_a_workbook_with_an_external_entity_reads_no_file(client):
    login(client, "zhengce")
    response = upload(client, "industries", _with_external_entity(xlsx([["C3989", "PLACEHOLDER", "other"]],
                                                                        INDUSTRY_HEADERS)))
    body = response.data.decode()
    assert response.status_code == 422 and "root:" not in body
    assert "「文件」内容无法读取" in page_errors(body).get("file", "")
    assert db.session.get(Industry, "C3989") is None


def test_a_preview_left_unapplied_is_removed_after_a_day(client):
    import os

    login(client, "zhengce")
    old_token = reference_tables.stash(xlsx([["C3988", "旧的预览", "other"]], INDUSTRY_HEADERS))
    old_path = reference_tables._stash_dir() / f"{old_token}.xlsx"
    day_ago = old_path.stat().st_mtime - 25 * 3600
    os.utime(old_path, (day_ago, day_ago))
    upload(client, "industries", xlsx([["C3987", "新的预览", "other"]], INDUSTRY_HEADERS))
    assert not old_path.exists()
    stale = client.post("/studio/tables/industries/import/apply", data={"token": old_token, "digest": "", "reason": "r"})
    assert stale.status_code == 409 and "导入的文件已失效，请重新选择文件并预览" in stale.data.decode()


# --- access -------------------------------------------------------------------------------------------------------

GET_ROUTES = ["/studio/tables", "/studio/tables/industries", "/studio/tables/industries/new",
              "/studio/tables/industries/C3011", "/studio/tables/industries/C3011/delete",
              "/studio/tables/industries/history", "/studio/tables/industries/export.xlsx",
              "/studio/tables/industries/import", "/studio/tables/regions", "/studio/tables/departments",
              "/studio/tables/capital_ratios", "/studio/tables/catalogue", "/studio/tables/items",
              "/studio/tables/items/eia", "/studio/tables/item_roles/history"]
POST_ROUTES = [("/studio/tables/industries/new", {"code": "C3990", "name": "x", "capital_category": "other", "reason": "r"}),
               ("/studio/tables/industries/C3011", {"name": "改名", "capital_category": "cement", "reason": "r"}),
               ("/studio/tables/industries/C3011/delete", {"reason": "r"}),
               ("/studio/tables/industries/import", {}),
               ("/studio/tables/industries/import/apply", {"token": "0" * 64, "digest": "", "reason": "r"}),
               ("/studio/tables/items/eia/grant", {"user_id": "1", "role": "acceptor", "reason": "r"}),
               ("/studio/tables/items/eia/revoke", {"user_id": "1", "role": "acceptor", "reason": "r"})]


@pytest.mark.parametrize("url", GET_ROUTES)
def test_every_page_is_for_policy_staff_and_administrators_only(client, url):
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    for username in ("qiye", "shouli", "banli", "jiancha"):
        login(client, username)
        assert client.get(url).status_code == 403, username
        client.post("/logout")
    for username in ("zhengce", "admin"):
        login(client, username)
        assert client.get(url).status_code == 200, username
        client.post("/logout")


@pytest.mark.parametrize(("url", "data"), POST_ROUTES)
def test_no_change_is_possible_without_the_role(client, url, data):
    before = (db.session.get(Industry, "C3011").name, db.session.scalar(select(func.count()).select_from(StudioChange)))
    assert client.post(url, data=data).status_code == 302  # to the login page
    for username in ("qiye", "sfg_shouli", "hb_banli", "jiancha"):
        login(client, username)
        assert client.post(url, data=data).status_code == 403, username
        client.post("/logout")
    db.session.expire_all()
    after = (db.session.get(Industry, "C3011").name, db.session.scalar(select(func.count()).select_from(StudioChange)))
    assert after == before and db.session.get(Industry, "C3990") is None


def test_the_service_refuses_a_user_without_the_role_too(ctx):
    reviewer = db.session.scalar(select(User).where(User.username == "shouli"))
    with pytest.raises(ServiceError) as refused:
        reference_tables.save(reviewer, "industries", {"code": "C3990", "name": "x", "capital_category": "other",
                                                       "reason": "r"})
    assert refused.value.status == 403


def test_forms_carry_a_csrf_token_and_a_post_without_one_is_refused(app, client):
    login(client, "zhengce")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for url in ("/studio/tables/industries/new", "/studio/tables/industries/import", "/studio/tables/items/eia",
                    "/studio/tables/industries/C3011/delete"):
            assert 'name="csrf_token"' in client.get(url).data.decode(), url
        refused = client.post("/studio/tables/industries/C3011", data={"name": "改名", "capital_category": "cement",
                                                                       "reason": "r"})
        assert refused.status_code == 400 and "CSRF" in refused.data.decode()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(Industry, "C3011").name == "水泥制造"


def test_the_change_log_table_the_migration_builds_matches_the_model(ctx):
    """flask db upgrade built this database (tests/conftest.py): no difference for studio_change, on either backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def only_the_log(obj, name, kind, reflected, compare_to) -> bool:
        table = obj if kind == "table" else getattr(obj, "table", None)
        return getattr(table, "name", None) == "studio_change"

    context = MigrationContext.configure(db.session.connection(), opts={"include_object": only_the_log})
    assert compare_metadata(context, db.metadata) == []
