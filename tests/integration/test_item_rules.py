"""事项目录 → 触发条件: the rules of the item decision table that list an item, read in Chinese, and a rule added
from the item page into the table's shared studio draft (a new column for a new question, "-" for every other
rule), refused with a Chinese 422 naming the field, never overwriting another editor's draft."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from sqlalchemy import delete, select

from app.extensions import db
from app.models import ApprovalItem, Declaration, ItemCase, ItemMaterial, User
from app.services import ServiceError, catalogue_admin, item_rules, studio
from engine.tables import ProcessCurrent, ProcessDraft
from tests.conftest import login

SEA_QUESTION = ('      - {name: sea_use, label: 是否使用海域, type: radio, required: true, '
                'choices: [["yes", 是], ["no", 否]]}\n')
ANCHOR = "      - {name: flood_area,"


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def zhengce(ctx) -> Iterator[User]:
    """The policy officer; the current versions, drafts and the sea item as they were are restored afterwards."""
    current = {row.process_key: row.version_id for row in db.session.scalars(select(ProcessCurrent))}
    yield _user("zhengce")
    db.session.rollback()
    db.session.execute(delete(ProcessDraft))
    for key, version_id in current.items():
        db.session.get(ProcessCurrent, key).version_id = version_id
    db.session.execute(delete(ItemCase).where(ItemCase.item_code == "sea_area_use"))
    db.session.execute(delete(ItemMaterial).where(ItemMaterial.item_code == "sea_area_use"))
    db.session.execute(delete(ApprovalItem).where(ApprovalItem.code == "sea_area_use"))
    db.session.commit()


def _sea_item(user: User) -> None:
    land = catalogue_admin.item_values(db.session.get(ApprovalItem, "land_site"))
    catalogue_admin.save_item(user, {**land, "code": "sea_area_use", "name": "海域使用权审批", "materials": []})


def _ask_sea_question(user: User) -> None:
    """The question in the questionnaire's draft (not deployed)."""
    deployed, _ = studio.draft_of(user, item_rules.QUESTIONS_FILE)
    assert ANCHOR in deployed.content
    studio.save_draft(user, item_rules.QUESTIONS_FILE, deployed.content.replace(ANCHOR, SEA_QUESTION + ANCHOR, 1), None)


def _draft() -> ProcessDraft | None:
    db.session.expire_all()
    return db.session.scalar(select(ProcessDraft).where(ProcessDraft.filename == item_rules.TABLE_FILE))


def _refusal(call, *args) -> ServiceError:  # noqa: ANN001
    with pytest.raises(ServiceError) as caught:
        call(*args)
    return caught.value


def test_the_rules_listing_an_item_read_in_chinese(zhengce):
    energy = item_rules.rules_for(zhengce, "energy")
    assert energy.draft is None and energy.revision is None
    assert [(r.conditions, r.status) for r in energy.rules] == [
        (("年综合能源消费量（吨标准煤） ≥ 1000",), "deployed"), (("年电力消费量（万千瓦时） ≥ 500",), "deployed")]
    assert "节能审查" in energy.rules[0].description
    # a choice is shown by its label in the questionnaire, two conditions of one rule both listed
    assert [r.conditions for r in item_rules.rules_for(zhengce, "land_site").rules] == [
        ("是否新增建设用地 = 是",), ("供地方式 = 划拨", "是否新增建设用地 = 否")]
    assert item_rules.rules_for(zhengce, "eia").rules[0].conditions == (
        "环境影响评价类别 为环境影响报告书、环境影响报告表之一",)
    # the main item comes from the fallback rule's output expression: no condition, marked as such
    main = item_rules.rules_for(zhengce, "authorisation").rules
    assert len(main) == 1 and main[0].conditions == () and main[0].by_expression
    assert item_rules.rules_for(zhengce, "no_such_item").rules == []


def test_questions_offer_choices_and_numbers_from_the_questionnaire_draft(zhengce):
    asked = {q.name: q for q in item_rules.questions(zhengce)}
    assert asked["land_supply"].choices == (("allocated", "划拨"), ("transfer", "出让"),
                                            ("none", "不涉及新供地（利用自有土地或厂房）"))
    assert asked["energy_tce"].numeric and asked["energy_tce"].operators == tuple(item_rules.OPERATORS)
    assert asked["new_land"].operators == ("=", "!=") and "sea_use" not in asked
    _ask_sea_question(zhengce)
    sea = {q.name: q for q in item_rules.questions(zhengce)}["sea_use"]
    assert sea.label == "是否使用海域" and sea.draft_only and not asked["land_supply"].draft_only


def test_a_rule_on_a_new_question_adds_a_column_and_the_draft_validates(zhengce):
    _sea_item(zhengce)
    _ask_sea_question(zhengce)
    deployed = studio.deployed_file(item_rules.TABLE_FILE).content
    draft = item_rules.add_rule(zhengce, "sea_area_use", [("sea_use", "=", "yes")],
                                "用海项目须办理海域使用权审批（《海域使用管理法》）", None)
    assert draft.revision == 1 and draft.author == zhengce.display_name
    assert studio.deployed_file(item_rules.TABLE_FILE).content == deployed  # nothing deployed

    root = etree.fromstring(draft.content.encode())
    ns = {"d": root.nsmap[None]}
    inputs = root.findall(".//d:input", ns)
    assert (inputs[-1].get("label"), inputs[-1].findtext("d:inputExpression/d:text", namespaces=ns)) == \
        ("是否使用海域", 'answers.get("sea_use", "")')
    rules = root.findall(".//d:rule", ns)
    assert all(len(r.findall("d:inputEntry", ns)) == len(inputs) for r in rules)
    assert [r.findall("d:inputEntry", ns)[-1].findtext("d:text", namespaces=ns) for r in rules] == \
        ["-"] * (len(rules) - 1) + ['"yes"']
    assert rules[-1].findtext("d:outputEntry/d:text", namespaces=ns) == '"sea_area_use"'
    ids = [n.get("id") for n in root.iter() if n.get("id")]
    assert len(ids) == len(set(ids))
    assert studio.validate(zhengce, item_rules.TABLE_FILE, draft.content) == []

    shown = item_rules.rules_for(zhengce, "sea_area_use")
    assert shown.revision == 1 and [(r.conditions, r.status) for r in shown.rules] == [
        (("是否使用海域 = 是",), "added")]
    assert [r.status for r in item_rules.rules_for(zhengce, "energy").rules] == ["deployed", "deployed"]

    # a second rule on questions already in the table adds no column; a number is compared
    again = item_rules.add_rule(zhengce, "sea_area_use", [("energy_tce", ">=", "5000"), ("eia_category", "!=", "none")],
                                "大型用海项目", 1)
    assert len(etree.fromstring(again.content.encode()).findall(".//d:input", ns)) == len(inputs)
    assert studio.validate(zhengce, item_rules.TABLE_FILE, again.content) == []
    second = item_rules.rules_for(zhengce, "sea_area_use").rules[1]
    assert second.conditions == ("年综合能源消费量（吨标准煤） ≥ 5000", "环境影响评价类别 ≠ 不纳入环评管理")

    # only a rule that exists only in the draft can be taken back here
    refused = _refusal(item_rules.remove_rule, zhengce, "energy", "item_determination_r2", 2)
    assert refused.status == 409 and "设计器" in refused.message
    item_rules.remove_rule(zhengce, "sea_area_use", second.id, 2)
    assert [r.id for r in item_rules.rules_for(zhengce, "sea_area_use").rules] == [shown.rules[0].id]


@pytest.mark.parametrize("conditions, field, words", [
    ([("sea_use", "=", "yes")], "conditions-1-question", "不在事项申报问卷中"),
    ([("new_land", "=", "maybe")], "conditions-1-value", "「是否新增建设用地」的「回答」须从选项中选择（是、否）"),
    ([("energy_tce", ">=", "很多")], "conditions-1-value", "「年综合能源消费量（吨标准煤）」的「数值」须为不小于0的数字"),
    ([("energy_tce", ">=", "-5")], "conditions-1-value", "「数值」"),
    ([("new_land", ">=", "yes")], "conditions-1-operator", "「是否新增建设用地」的「比较方式」只能是=、≠"),
    ([("new_land", "=", "yes"), ("new_land", "=", "no")], "conditions-2-question", "同一问题只能设一个条件"),
    ([], "conditions", "请至少设置一个「条件」"),
])
def test_bad_conditions_are_422_naming_the_field_and_write_nothing(zhengce, conditions, field, words):
    refused = _refusal(item_rules.add_rule, zhengce, "land_site", conditions, "依据", None)
    assert refused.status == 422 and words in refused.errors[field], refused.errors
    assert _draft() is None


def test_a_rule_needs_a_reason_and_an_active_item(zhengce):
    refused = _refusal(item_rules.add_rule, zhengce, "land_site", [("new_land", "=", "yes")], "  ", None)
    assert refused.status == 422 and "「依据/说明」" in refused.errors["description"]
    assert _refusal(item_rules.add_rule, zhengce, "no_such_item", [("new_land", "=", "yes")], "依据", None).status == 404
    _sea_item(zhengce)
    db.session.get(ApprovalItem, "sea_area_use").active = False
    db.session.commit()
    refused = _refusal(item_rules.add_rule, zhengce, "sea_area_use", [("new_land", "=", "yes")], "依据", None)
    assert refused.status == 409 and "已停用" in refused.message
    assert _refusal(item_rules.add_rule, _user("qiye"), "land_site", [("new_land", "=", "yes")], "依据",
                    None).status == 403
    assert _draft() is None


def test_another_editors_draft_is_not_overwritten(zhengce):
    other = _user("admin")
    deployed = studio.deployed_file(item_rules.TABLE_FILE).content
    theirs = deployed.replace("须节能审查（同上）", "须节能审查（同上，管理员修改）")
    studio.save_draft(other, item_rules.TABLE_FILE, theirs, None)
    # the page showed the deployed table (no revision): the draft saved since is not overwritten
    refused = _refusal(item_rules.add_rule, zhengce, "land_site", [("new_land", "=", "yes")], "依据", None)
    assert refused.status == 409 and "系统管理员" in refused.message
    assert _draft().content == theirs
    # on the draft as it is, the rule goes in; the other editor's change is kept
    item_rules.add_rule(zhengce, "land_site", [("forest_land", "=", "yes")], "占用林地的也须用地预审", 1)
    assert "管理员修改" in _draft().content and _draft().revision == 2
    # a page showing revision 1 is stale now
    refused = _refusal(item_rules.add_rule, zhengce, "land_site", [("heritage_site", "=", "yes")], "依据", 1)
    assert refused.status == 409 and _draft().revision == 2
    assert _refusal(item_rules.remove_rule, zhengce, "land_site", "item_determination_r14", 1).status == 409


def test_the_item_page_lists_the_rules_and_adds_one(client, zhengce):
    login(client, "zhengce")
    page = client.get("/admin/items/energy").data.decode()
    assert "触发条件（并联审批事项决策表）" in page and "「年综合能源消费量（吨标准煤） ≥ 1000」" in page
    assert "/studio/files/declaration_questions.yaml" in page and 'name="csrf_token"' in page

    picked = client.post("/admin/items/land_site/rules", data={"action": "pick", "new_question": "forest_land",
                                                               "revision": ""})
    body = picked.data.decode()
    assert picked.status_code == 200 and 'name="question" value="forest_land"' in body and "条件1" in body
    assert _draft() is None  # choosing a question writes nothing

    bad = client.post("/admin/items/land_site/rules", data={"action": "add", "question": "forest_land",
                                                            "operator": "=", "value": "", "description": "依据"})
    assert bad.status_code == 422 and "「是否占用或征收林地」的「回答」须从选项中选择" in bad.data.decode()
    added = client.post("/admin/items/land_site/rules", data={
        "action": "add", "question": "forest_land", "operator": "=", "value": "yes", "revision": "",
        "description": "占用林地的须用地预审"})
    assert added.status_code == 302 and added.headers["Location"].endswith("/admin/items/land_site#triggers")
    page = client.get("/admin/items/land_site").data.decode()
    assert "「是否占用林地 = 是」" in page  # the column's label in the table and "仅在草稿中（未部署）" in page
    assert "决策表有未部署的草稿" in page and 'name="revision" value="1"' in page
    rule_id = item_rules.rules_for(zhengce, "land_site").rules[-1].id
    assert client.post(f"/admin/items/land_site/rules/{rule_id}/remove", data={"revision": "1"}).status_code == 302
    assert "占用林地的须用地预审" not in client.get("/admin/items/land_site").data.decode()

    client.post("/logout")
    login(client, "qiye")
    assert client.get("/admin/items/land_site").status_code == 403
    assert client.post("/admin/items/land_site/rules", data={"action": "add"}).status_code == 403


def test_a_rule_added_on_the_item_page_adds_the_item_to_new_declarations_only(client, zhengce):
    """The issue's scenario over HTTP (the browser test drives the same pages)."""
    from tests.integration.approval_helpers import FOUR_ITEMS, declare, new_project, start_declaration

    _sea_item(zhengce)
    older = new_project(client, name="江门市示范港口物流核准项目")
    old_id = start_declaration(client, older)
    assert client.post(f"/enterprise/declarations/{old_id}/answers", data=FOUR_ITEMS).status_code == 302
    old_items = list(db.session.get(Declaration, old_id).item_codes)

    _ask_sea_question(zhengce)
    studio.deploy_draft(zhengce, item_rules.QUESTIONS_FILE, "问卷增加用海问题")
    item_rules.add_rule(zhengce, "sea_area_use", [("sea_use", "=", "yes")], "用海项目须办理海域使用权审批", None)
    studio.deploy_draft(zhengce, item_rules.TABLE_FILE, "用海项目增加海域使用权审批")
    assert [r.status for r in item_rules.rules_for(zhengce, "sea_area_use").rules] == ["deployed"]

    newer = new_project(client, name="江门市示范海上风电核准项目")
    declaration = declare(client, newer, {**FOUR_ITEMS, "sea_use": "yes"})
    db.session.expire_all()
    declaration = db.session.get(Declaration, declaration.id)
    assert "sea_area_use" in declaration.item_codes
    case = db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                    ItemCase.item_code == "sea_area_use"))
    assert case.department.name == "江门市自然资源局"
    unused = declare(client, new_project(client, name="江门市示范陆上物流核准项目"), {**FOUR_ITEMS, "sea_use": "no"})
    assert "sea_area_use" not in db.session.get(Declaration, unused.id).item_codes
    assert db.session.get(Declaration, old_id).item_codes == old_items and "sea_area_use" not in old_items


def test_a_questionnaire_draft_that_does_not_parse_leaves_the_deployed_questions(zhengce):
    studio.save_draft(zhengce, item_rules.QUESTIONS_FILE, "key: declaration_questions\nsections: [\n", None)
    asked = {q.name for q in item_rules.questions(zhengce)}
    assert "land_supply" in asked and "sea_use" not in asked
