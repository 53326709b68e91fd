"""政策工作台 over HTTP: a policy officer changes the 备案 time limit in a draft, validates, deploys with a
reason; filings submitted before keep the old version, later ones get the new limit; roll back restores it.
Refusals name the element and deploy nothing."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import FilingApplication, Instance, ProcessVersion, StudioChange
from app.services.filing import visible_deadline
from engine.tables import ProcessCurrent, ProcessDraft, TrailEntry
from tests.conftest import login
from tests.integration.helpers import apply_code, submit_filing

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FILING = (PROCESSES / "filing.bpmn").read_text()
THREE_DAYS = "time_limit = 3\n"


@pytest.fixture
def studio(client) -> Iterator:
    """zhengce signed in; the current versions and drafts as they were are restored afterwards."""
    current = {row.process_key: row.version_id for row in db.session.scalars(select(ProcessCurrent))}
    login(client, "zhengce")
    yield client
    db.session.rollback()
    db.session.execute(delete(ProcessDraft))
    db.session.execute(delete(StudioChange).where(StudioChange.area == "processes"))
    for key, version_id in current.items():
        db.session.get(ProcessCurrent, key).version_id = version_id
    db.session.commit()


def _post_json(client, url: str, body: dict):
    return client.post(url, json=body)


def _as(client, username: str) -> None:
    client.post("/logout")
    login(client, username)


def _versions(key: str) -> int:
    return db.session.scalar(select(func.count(ProcessVersion.id)).where(ProcessVersion.process_key == key))


def _filing(client) -> FilingApplication:
    _as(client, "qiye")
    application = submit_filing(client, apply_code(client))
    _as(client, "zhengce")
    db.session.expire_all()
    return db.session.get(FilingApplication, application.id)


def _version_of(application: FilingApplication) -> int:
    return db.session.get(ProcessVersion, db.session.get(Instance, application.instance_id).process_version_id).version


@pytest.mark.clock("2026-03-10 10:00")  # a Tuesday: 3 working days end on Friday the 13th, 2 on Thursday
def test_time_limit_changed_in_a_draft_applies_to_new_filings_only_and_rolls_back(studio):
    client = studio
    listed = client.get("/studio/processes").data.decode()
    assert "企业投资项目备案" in listed and "filing.bpmn" in listed
    assert "<title>流程与决策表 · 政策工作台</title>" in listed  # the title is the title, nothing more
    before = _filing(client)
    assert visible_deadline(before.due_at) == "2026-03-13 23:59"
    old_version = _version_of(before)

    assert THREE_DAYS in FILING
    two_days = FILING.replace(THREE_DAYS, "time_limit = 2\n", 1)
    checked = _post_json(client, "/studio/files/filing.bpmn/validate", {"content": two_days}).get_json()
    assert checked == {"ok": True, "findings": []}
    saved = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": two_days, "revision": None})
    assert saved.status_code == 200 and saved.get_json()["revision"] == 1
    editor = client.get("/studio/files/filing.bpmn").data.decode()
    assert "正在编辑草稿" in editor and "which=draft" in editor

    count = _versions("filing")
    refused = client.post("/studio/files/filing.bpmn/deploy", data={"reason": "  "})
    assert refused.status_code == 422 and "请填写「部署原因」" in refused.data.decode()
    assert _versions("filing") == count and db.session.scalar(select(func.count(ProcessDraft.id))) == 1

    reason = "依据省发改委通知，备案办理时限由3个工作日缩短为2个工作日"
    deployed = client.post("/studio/files/filing.bpmn/deploy", data={"reason": reason})
    assert deployed.status_code == 302, deployed.data.decode()
    new = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_key == "filing")
                            .order_by(ProcessVersion.version.desc()))
    assert new.version == old_version + 1 and new.reason == reason and new.deployed_by != "system"
    assert db.session.get(ProcessCurrent, "filing").version_id == new.id
    assert db.session.scalar(select(func.count(ProcessDraft.id))) == 0

    after = _filing(client)
    assert visible_deadline(after.due_at) == "2026-03-12 23:59" and _version_of(after) == new.version
    db.session.expire_all()
    kept = db.session.get(FilingApplication, before.id)
    assert visible_deadline(kept.due_at) == "2026-03-13 23:59" and _version_of(kept) == old_version

    page = client.get("/studio/processes/filing").data.decode()
    assert reason in page and f"v{new.version}" in page and "当前版本" in page
    # the change log keeps who, when, why and what: the script line that changed, by element
    logged = db.session.scalar(select(StudioChange).where(StudioChange.area == "processes")
                               .order_by(StudioChange.id.desc()))
    assert (logged.action, logged.record_key, logged.reason) == ("deploy", "filing.bpmn", reason)
    assert logged.author.username == "zhengce"
    assert {"file": "filing.bpmn", "field": "stamp", "label": "脚本任务「计算办理时限」 · 脚本",
            "before": "第1行 time_limit = 3", "after": "第1行 time_limit = 2"} in logged.diff
    assert logged.diff[-1]["after"] == f"filing v{new.version}"
    shown = client.get(f"/studio/processes/filing/versions/{new.version}/changes").data.decode()
    assert "time_limit = 3" in shown and "time_limit = 2" in shown and "计算办理时限" in shown

    rolled = client.post(f"/studio/processes/filing/versions/{old_version}/current",
                         data={"reason": "新时限待正式文件印发后再执行"})
    assert rolled.status_code == 302
    again = _filing(client)
    assert visible_deadline(again.due_at) == "2026-03-13 23:59" and _version_of(again) == old_version
    assert _version_of(after) == new.version  # running instances keep theirs
    trail = db.session.scalar(select(TrailEntry).where(TrailEntry.action == "make_current")
                              .order_by(TrailEntry.id.desc()))
    assert trail.detail == {"process_key": "filing", "version": old_version, "from_version": new.version,
                            "reason": "新时限待正式文件印发后再执行"}
    rollback = db.session.scalar(select(StudioChange).where(StudioChange.action == "rollback"))
    assert rollback.record_key == "filing" and rollback.diff[0]["before"] == f"v{new.version}"
    assert {"file": "filing.bpmn", "field": "stamp", "label": "脚本任务「计算办理时限」 · 脚本",
            "before": "第1行 time_limit = 2", "after": "第1行 time_limit = 3"} in rollback.diff
    log = client.get("/studio/changes").data.decode()
    assert log.count("依据省发改委通知") == 1 and "新时限待正式文件印发后再执行" in log and "设为当前版本" in log


@pytest.mark.parametrize("change, element, words", [
    ((THREE_DAYS, "time_limit = 3\n__import__('os').system('id')\n"), "stamp", "沙箱"),
    (('emit("submitted", due_at=due_at)', 'emit("teleported", due_at=due_at)'), "stamp", "事件 teleported 未在"),
    (('<spiffworkflow:property name="formKey" value="filing_accept" />', ""), "accept", "用户任务没有表单"),
    (("<bpmn:timeDate>remind_at</bpmn:timeDate>", "<bpmn:timeDuration>\"P3X\"</bpmn:timeDuration>"), "remind",
     "不是有效的 ISO 8601 时长"),
])
def test_validation_pins_each_refusal_to_its_element_and_deploy_refuses_it(studio, change, element, words):
    client = studio
    assert change[0] in FILING
    broken = FILING.replace(change[0], change[1], 1)
    result = _post_json(client, "/studio/files/filing.bpmn/validate", {"content": broken}).get_json()
    assert result["ok"] is False
    assert [(f["element"], words in f["message"]) for f in result["findings"]] == [(element, True)], result
    assert _post_json(client, "/studio/files/filing.bpmn/draft", {"content": broken, "revision": None}).status_code == 200
    count = _versions("filing")
    refused = client.post("/studio/files/filing.bpmn/deploy", data={"reason": "试图部署有误的流程"})
    assert refused.status_code == 422 and f"元素 {element}" in refused.data.decode()
    assert _versions("filing") == count


def test_an_external_entity_is_refused_before_anything_is_read(studio):
    client = studio
    xxe = '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + FILING.split("?>", 1)[1]
    result = _post_json(client, "/studio/files/filing.bpmn/validate", {"content": xxe}).get_json()
    assert result["ok"] is False and "DOCTYPE" in result["findings"][0]["message"]
    saved = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": xxe, "revision": None})
    assert saved.status_code == 422 and "root:" not in saved.data.decode()


def test_two_editors_never_overwrite_each_other_unseen(studio):
    client = studio
    first = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": FILING, "revision": None}).get_json()
    second = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": FILING, "revision": first["revision"]})
    assert second.status_code == 200
    stale = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": FILING, "revision": first["revision"]})
    assert stale.status_code == 409 and "请重新打开" in stale.get_json()["message"]
    fresh_start = _post_json(client, "/studio/files/filing.bpmn/draft", {"content": FILING, "revision": None})
    assert fresh_start.status_code == 409


def test_a_shared_file_deploys_a_new_version_of_every_process_holding_it(studio):
    client = studio
    source = (PROCESSES / "item.bpmn").read_text()
    holders = ("approval", "authorisation", "stage_application", "construction_application", "item_handling")
    counts = {key: _versions(key) for key in holders}
    marker = 'name="受理"'
    assert marker in source
    changed = source.replace(marker, 'name="受理（窗口）"', 1)
    assert _post_json(client, "/studio/files/item.bpmn/draft", {"content": changed, "revision": None}).status_code == 200
    assert client.post("/studio/files/item.bpmn/deploy", data={"reason": "环节名称调整"}).status_code == 302
    assert {key: _versions(key) for key in holders} == {key: n + 1 for key, n in counts.items()}


@pytest.mark.parametrize("username, status", [("qiye", 403), ("shouli", 403), ("jiancha", 403)])
def test_only_policy_staff_and_administrators_use_the_studio(client, username, status):
    for url in ["/studio/", "/studio/processes", "/studio/processes/filing", "/studio/files/filing.bpmn",
                "/studio/files/filing.bpmn/source"]:
        assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    login(client, username)
    for url in ["/studio/", "/studio/processes", "/studio/processes/filing", "/studio/files/filing.bpmn"]:
        assert client.get(url).status_code == status, url
    assert client.post("/studio/files/filing.bpmn/draft", json={"content": FILING}).status_code == status
    assert client.post("/studio/processes/filing/versions/1/current", data={"reason": "x"}).status_code == status


def _tryrun(client, filename: str, process: str, content: str, change=None):
    sample = client.get(f"/studio/files/{filename}/sample?process={process}").get_json()
    if change:
        change(sample)
    response = _post_json(client, f"/studio/files/{filename}/tryrun", {"content": content, "process": process,
                                                                       "sample": sample})
    assert response.status_code == 200, response.data.decode()
    return response.get_json()


@pytest.mark.clock("2026-03-10 10:00")
def test_try_run_shows_path_tasks_timers_and_events_and_touches_nothing(studio):
    client = studio
    instances = db.session.scalar(select(func.count(Instance.id)))
    run = _tryrun(client, "filing.bpmn", "filing", FILING.replace(THREE_DAYS, "time_limit = 2\n", 1))
    assert run["finished"] is True
    tasks = [(s["element"], s["detail"]["form"], s["detail"]["role"]) for s in run["steps"] if s["kind"] == "task"]
    assert tasks == [("fill", "filing", "applicant"), ("accept", "filing_accept", "acceptor"),
                     ("review", "filing_review", "handler"), ("issue", "filing_issue", "handler")]
    events = [s for s in run["steps"] if s["kind"] == "event"]
    assert [e["name"] for e in events] == ["submitted", "accepted", "issued"]
    assert events[0]["detail"]["due_at"] == "2026-03-12T16:00:00+00:00"  # 2 working days: Beijing midnight after Thursday
    assert {"fill", "stamp", "accept", "review", "issue"} <= set(run["path"])
    assert db.session.scalar(select(func.count(Instance.id))) == instances  # nothing was written

    def correction(sample):
        sample["answers"]["filing_accept"]["decision"] = "correction"
    looping = _tryrun(client, "filing.bpmn", "filing", FILING, correction)
    assert looping["finished"] is False and "可能在循环" in looping["stopped"]


@pytest.mark.clock("2026-03-10 10:00")
def test_try_run_fires_timers_in_order_and_reports_waiting_messages(studio):
    run = _tryrun(studio, "validity.bpmn", "validity", (PROCESSES / "validity.bpmn").read_text())
    timers = [s for s in run["steps"] if s["kind"] == "timer"]
    assert [t["detail"]["due"] for t in timers] == ["2028-03-10 00:00"]  # the sample's lapse_at, Beijing time
    assert [s["name"] for s in run["steps"] if s["kind"] == "event"] == ["lapsed"]
    assert run["finished"] is True


def test_try_run_refuses_an_invalid_diagram(studio):
    broken = FILING.replace('emit("submitted", due_at=due_at)', 'emit("teleported", due_at=due_at)', 1)
    sample = studio.get("/studio/files/filing.bpmn/sample?process=filing").get_json()
    refused = _post_json(studio, "/studio/files/filing.bpmn/tryrun", {"content": broken, "process": "filing",
                                                                     "sample": sample})
    assert refused.status_code == 422 and "teleported" in refused.get_json()["message"]


@pytest.mark.clock("2026-03-10 10:00")
def test_migration_dry_run_then_moves_what_can_move_and_nothing_else(studio):
    from tests.integration.helpers import act

    client = studio
    waiting = _filing(client)  # at 受理
    reviewing = _filing(client)
    assert act(client, "shouli", reviewing, "accept", {"decision": "accept"}).status_code == 302
    _as(client, "zhengce")
    old = _version_of(waiting)
    # v+1: 2 working days, and 审核 takes another form: the case waiting at 审核 cannot keep its open form.
    changed = FILING.replace(THREE_DAYS, "time_limit = 2\n", 1).replace(
        '<spiffworkflow:property name="formKey" value="filing_review" />',
        '<spiffworkflow:property name="formKey" value="filing_issue" />', 1)
    assert _post_json(client, "/studio/files/filing.bpmn/draft", {"content": changed, "revision": None}).status_code == 200
    assert client.post("/studio/files/filing.bpmn/deploy", data={"reason": "时限与表单调整"}).status_code == 302
    new = db.session.get(ProcessVersion, db.session.get(ProcessCurrent, "filing").version_id).version
    assert new > old

    preview = client.get(f"/studio/processes/filing/migrate?from={old}&to={new}")
    assert preview.status_code == 200
    page = preview.data.decode()
    assert f'id="instance-{waiting.instance_id}" class="movable"' in page
    assert f'id="instance-{reviewing.instance_id}" class="blocked"' in page and "待办「审核」" in page
    assert _version_of(waiting) == old  # a dry run changes nothing

    blocked_state = db.session.get(Instance, reviewing.instance_id).state
    assert client.post("/studio/processes/filing/migrate",
                       data={"from": old, "to": new, "reason": ""}).status_code == 422
    moved = client.post("/studio/processes/filing/migrate", data={"from": old, "to": new, "reason": "按新时限办理"})
    assert moved.status_code == 302
    db.session.expire_all()
    assert _version_of(waiting) == new and _version_of(reviewing) == old
    assert db.session.get(Instance, reviewing.instance_id).state == blocked_state
    trail = db.session.scalars(select(TrailEntry).where(TrailEntry.action == "migrate")).all()
    assert [(t.instance_id, t.detail["from_version"], t.detail["to_version"], t.detail["reason"]) for t in trail] == [
        (waiting.instance_id, old, new, "按新时限办理")]
    logged = db.session.scalar(select(StudioChange).where(StudioChange.action == "migrate"))
    assert (logged.record_key, logged.reason) == ("filing", "按新时限办理")
    assert [(d["field"], d["before"], d["after"]) for d in logged.diff][0] == (
        str(waiting.instance_id), f"v{old}", f"v{new}")
    assert logged.diff[1]["label"] == "未迁移" and logged.diff[1]["after"] is None

    # The moved case goes on under the new version: after 受理 its 审核 uses the new form.
    assert act(client, "shouli", waiting, "accept", {"decision": "accept"}).status_code == 302
    from tests.integration.helpers import task_for
    assert task_for(waiting, "review").form_key == "filing_issue"


def test_a_form_edit_applies_to_new_cases_while_open_tasks_keep_their_form(studio):
    from tests.integration.helpers import claim_as, task_for

    client = studio
    listed = client.get("/studio/processes").data.decode()
    assert 'id="form-filing_accept.yaml"' in listed
    source = client.get("/studio/files/filing_accept.yaml/source").data.decode()
    assert "label: 受理结果" in source
    changed = source.replace("label: 受理结果", "label: 受理结论", 1)
    preview = _post_json(client, "/studio/files/filing_accept.yaml/preview", {"content": changed}).get_json()
    assert "受理结论" in preview["html"] and "<script" not in preview["html"]
    broken = changed.replace("type: radio", "type: slider", 1)
    result = _post_json(client, "/studio/files/filing_accept.yaml/validate", {"content": broken}).get_json()
    assert [(f["file"], f["element"]) for f in result["findings"]] == [("filing_accept.yaml", "decision")]
    assert "slider" in result["findings"][0]["message"]

    before = _filing(client)
    saved = _post_json(client, "/studio/files/filing_accept.yaml/draft", {"content": changed, "revision": None})
    assert saved.status_code == 200
    assert client.post("/studio/files/filing_accept.yaml/deploy", data={"reason": "措辞调整"}).status_code == 302
    after = _filing(client)

    for application, label in ((before, "受理结果"), (after, "受理结论")):
        task = task_for(application, "accept")
        claim_as(client, "shouli", task)
        page = client.get(f"/reviewer/tasks/{task.id}").data.decode()
        assert label in page, label
    # the open task of the earlier case still validates against its own form
    assert client.post(f"/reviewer/tasks/{task_for(before, 'accept').id}/complete",
                       data={"decision": "accept"}).status_code == 302


def _with_sea_question(dmn: str) -> str:
    """item_determination.dmn with a new input (answers["sea_use"]) and a rule: 用海 → 海域使用权审批."""
    from lxml import etree

    root = etree.fromstring(dmn.encode())
    ns = {"d": root.nsmap[None]}
    table = root.find(".//d:decisionTable", ns)
    inputs = table.findall("d:input", ns)
    new_input = etree.fromstring(
        f'<input xmlns="{ns["d"]}" id="item_determination_in_sea" label="是否使用海域">'
        f'<inputExpression id="item_determination_in_sea_expr"><text>answers.get("sea_use", "no")</text>'
        f'</inputExpression></input>')
    inputs[-1].addnext(new_input)
    for n, rule in enumerate(table.findall("d:rule", ns)):
        entries = rule.findall("d:inputEntry", ns)
        entries[-1].addnext(etree.fromstring(f'<inputEntry xmlns="{ns["d"]}" id="sea_r{n}"><text>-</text></inputEntry>'))
    cells = "".join(f'<inputEntry id="sea_rule_i{i}"><text>-</text></inputEntry>' for i in range(len(inputs)))
    table.append(etree.fromstring(
        f'<rule xmlns="{ns["d"]}" id="sea_rule"><description>用海项目须办理海域使用权审批</description>{cells}'
        f'<inputEntry id="sea_rule_sea"><text>"yes"</text></inputEntry>'
        f'<outputEntry id="sea_rule_out"><text>"sea_area_use"</text></outputEntry></rule>'))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


@pytest.fixture
def sea_item() -> Iterator[None]:
    """The catalogue item the test creates is removed afterwards (the catalogue outlives a test)."""
    from app.models import ApprovalItem, ItemCase, ItemMaterial

    yield
    db.session.rollback()
    db.session.execute(delete(ItemCase).where(ItemCase.item_code == "sea_area_use"))
    db.session.execute(delete(ItemMaterial).where(ItemMaterial.item_code == "sea_area_use"))
    db.session.execute(delete(ApprovalItem).where(ApprovalItem.code == "sea_area_use"))
    db.session.commit()


def test_a_new_question_and_rule_add_an_item_to_new_declarations_only(studio, sea_item):
    from app.models import ApprovalItem, Declaration, ItemCase, User
    from app.services import catalogue_admin
    from tests.integration.approval_helpers import FOUR_ITEMS, declare, new_project

    client = studio
    zhengce = db.session.scalar(select(User).where(User.username == "zhengce"))
    land = catalogue_admin.item_values(db.session.get(ApprovalItem, "land_site"))
    catalogue_admin.save_item(zhengce, {**land, "code": "sea_area_use", "name": "海域使用权审批", "materials": []})

    older = new_project(client, name="江门市示范港口物流核准项目")
    response = client.post(f"/enterprise/declarations/start/{older.id}")
    old_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/enterprise/declarations/{old_id}/answers", data=FOUR_ITEMS).status_code == 302
    old_items = list(db.session.get(Declaration, old_id).item_codes)
    _as(client, "zhengce")

    questions = client.get("/studio/files/declaration_questions.yaml/source").data.decode()
    anchor = "      - {name: flood_area,"
    assert anchor in questions
    asked = questions.replace(anchor, '      - {name: sea_use, label: 是否使用海域, type: radio, required: true, '
                                      'choices: [["yes", 是], ["no", 否]]}\n' + anchor, 1)
    table = _with_sea_question(client.get("/studio/files/item_determination.dmn/source").data.decode())
    for filename, content, reason in (("declaration_questions.yaml", asked, "问卷增加用海问题"),
                                      ("item_determination.dmn", table, "用海项目增加海域使用权审批")):
        checked = _post_json(client, f"/studio/files/{filename}/validate", {"content": content}).get_json()
        assert checked["ok"], checked
        saved = _post_json(client, f"/studio/files/{filename}/draft", {"content": content, "revision": None})
        assert saved.status_code == 200
        assert client.post(f"/studio/files/{filename}/deploy", data={"reason": reason}).status_code == 302

    newer = new_project(client, name="江门市示范海上风电核准项目")
    response = client.post(f"/enterprise/declarations/start/{newer.id}")
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/enterprise/declarations/{new_id}").data.decode()
    assert "是否使用海域" in page  # the new question is asked
    declaration = declare(client, newer, {**FOUR_ITEMS, "sea_use": "yes"}, new_id)  # answer, upload, submit
    db.session.expire_all()
    declaration = db.session.get(Declaration, new_id)
    assert "sea_area_use" in declaration.item_codes
    case = db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == new_id,
                                                    ItemCase.item_code == "sea_area_use"))
    assert case.item_name == "海域使用权审批" and case.department.name == "江门市自然资源局"
    assert "海域使用权审批" in client.get(f"/enterprise/declarations/{new_id}").data.decode()
    # the older declaration keeps its items, its questions and its decision table
    assert db.session.get(Declaration, old_id).item_codes == old_items and "sea_area_use" not in old_items
    assert "是否使用海域" not in client.get(f"/enterprise/declarations/{old_id}").data.decode()


@pytest.mark.parametrize("filename, old, new, field, label", [
    ("filing.bpmn", THREE_DAYS, "time_limit = 2\n", "stamp", "脚本任务「计算办理时限」 · 脚本"),
    ("item_determination.dmn", "<text>>= 1000</text>", "<text>>= 900</text>", "item_determination_r2_i3", None),
    ("item_decide.yaml", "label: 文号", "label: 决定文号", "doc_number", "字段「决定文号」 · 显示名称"),
])
def test_compare_lists_each_change_against_the_deployed_file(studio, filename, old, new, field, label):
    client = studio
    deployed = client.get(f"/studio/files/{filename}/source").data.decode()
    assert old in deployed
    response = _post_json(client, f"/studio/files/{filename}/compare", {"content": deployed.replace(old, new, 1)})
    assert response.status_code == 200
    [change] = response.get_json()["changes"]
    assert change["field"] == field and change["file"] == filename
    assert label is None or change["label"] == label
    assert _post_json(client, f"/studio/files/{filename}/compare", {"content": deployed}).get_json() == {"changes": []}
    empty = _post_json(client, f"/studio/files/{filename}/compare", {"content": " "})
    assert empty.status_code == 422 and "不能为空" in empty.get_json()["message"] + str(empty.get_json())
    _as(client, "qiye")
    assert _post_json(client, f"/studio/files/{filename}/compare", {"content": deployed}).status_code == 403
