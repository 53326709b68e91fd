"""engine/diff.py: what changed between two versions, element by element, in the words the studio shows."""
from __future__ import annotations

import re
from pathlib import Path

from engine.diff import ENTRY_LIMIT, bundle_changes, file_changes

ROOT = Path(__file__).resolve().parents[2]
FILING = (ROOT / "processes" / "filing.bpmn").read_text()
ITEMS = (ROOT / "processes" / "item_determination.dmn").read_text()
DECIDE = (ROOT / "forms" / "item_decide.yaml").read_text()


def _rows(changes) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.where, c.label, c.before, c.after) for c in changes]


def test_identical_files_have_no_changes():
    assert bundle_changes({"filing.bpmn": FILING}, {"filing.bpmn": FILING}) == []


def test_a_script_change_shows_only_the_lines_that_differ():
    changed = FILING.replace("time_limit = 3\n", "time_limit = 2\n", 1)
    assert _rows(file_changes("filing.bpmn", FILING, changed)) == [
        ("stamp", "脚本任务「计算办理时限」 · 脚本", "第1行 time_limit = 3", "第1行 time_limit = 2")]


def test_a_renamed_task_is_one_change_and_moved_shapes_one_line():
    renamed = FILING.replace('name="受理"', 'name="受理审查"', 1)
    moved = re.sub(r'(<dc:Bounds x=")(\d+)', lambda m: m[1] + str(int(m[2]) + 40), renamed, count=1)
    rows = _rows(file_changes("filing.bpmn", FILING, moved))
    assert ("accept", "用户任务「受理审查」 · 名称", "受理", "受理审查") in rows
    assert rows[-1][1] == "图形布局" and rows[-1][3].startswith("1 个图形")
    assert len(rows) == 2


def test_a_property_of_a_user_task_is_named():
    changed = FILING.replace('name="formKey" value="filing_accept"', 'name="formKey" value="filing_review"', 1)
    assert _rows(file_changes("filing.bpmn", FILING, changed)) == [
        ("accept", "用户任务「受理」 · 表单", "filing_accept", "filing_review")]


def test_added_and_removed_elements():
    flow = re.search(r'<bpmn:sequenceFlow id="([^"]+)"[^>]*/>', FILING)
    assert flow, "filing.bpmn has a self-closing sequence flow"
    without = FILING.replace(flow[0], "", 1)
    removed = _rows(file_changes("filing.bpmn", FILING, without))
    assert removed[0][0] == flow[1] and removed[0][1].startswith("删除连线") and removed[0][3] is None
    added = _rows(file_changes("filing.bpmn", without, FILING))
    assert added[0][0] == flow[1] and added[0][1].startswith("新增连线") and added[0][2] is None
    assert "起点" in added[0][3] and "终点" in added[0][3]


def test_a_decision_table_cell_names_its_rule_and_column():
    changed = ITEMS.replace("<text>>= 1000</text>", "<text>>= 900</text>", 1)
    [row] = _rows(file_changes("item_determination.dmn", ITEMS, changed))
    assert row[0] == "item_determination_r2_i3"
    assert row[1].startswith("规则 2「年综合能源消费量1000吨标准煤")
    assert row[1].endswith("条件「年综合能源消费量（吨标准煤）」")
    assert row[2:] == (">= 1000", ">= 900")


def test_form_fields_are_compared_by_name():
    changed = DECIDE.replace("label: 文号", "label: 决定文号").replace("max_length: 150", "max_length: 200")
    changed = changed.replace("      - {name: doc_title", "      - {name: signer, label: 签发人, type: string}\n"
                                                         "      - {name: doc_title", 1)
    rows = _rows(file_changes("item_decide.yaml", DECIDE, changed))
    assert ("doc_number", "字段「决定文号」 · 显示名称", "文号", "决定文号") in rows
    assert ("doc_title", "字段「文件标题」 · 最多字数", "150", "200") in rows
    assert ("signer", "新增字段「签发人」", None, "类型：单行文字（string）；所在分组：决定") in rows
    back = _rows(file_changes("item_decide.yaml", changed, DECIDE))
    assert ("signer", "删除字段「签发人」", "单行文字（string）", None) in back


def test_an_unreadable_file_is_reported_not_raised():
    [row] = _rows(file_changes("filing.bpmn", FILING, "<not xml"))
    assert row[1] == "文件" and row[2] == "（无法解析）"
    rows = _rows(file_changes("item_decide.yaml", DECIDE, "key: [unclosed"))
    assert rows and all(r[1] == "内容" for r in rows)


def test_files_added_and_removed_and_the_list_is_capped():
    assert _rows(bundle_changes({}, {"a.dmn": ITEMS})) == [("", "新增文件", None, "a.dmn")]
    assert _rows(bundle_changes({"a.dmn": ITEMS}, {})) == [("", "移除文件", "a.dmn", None)]
    many = {f"f{n}.yaml": f"key: f{n}\n" for n in range(ENTRY_LIMIT + 20)}
    capped = bundle_changes({}, many)
    assert len(capped) == ENTRY_LIMIT and capped[-1].after == "另有 21 处修改未列出"


def test_a_new_decision_table_column_and_rule_are_two_lines_not_one_per_cell():
    from tests.integration.test_studio import _with_sea_question

    rows = _rows(file_changes("item_determination.dmn", ITEMS, _with_sea_question(ITEMS)))
    assert rows == [
        ("item_determination_in_sea", "新增输入列「是否使用海域」", None, '表达式：answers.get("sea_use", "no")'),
        ("sea_rule", "新增规则 14「用海项目须办理海域使用权审批」", None,
         '条件「是否使用海域」 "yes"；结果「审批事项」 "sea_area_use"')]
    back = _rows(file_changes("item_determination.dmn", _with_sea_question(ITEMS), ITEMS))
    assert [r[1] for r in back] == ["删除输入列「是否使用海域」", "删除规则 14「用海项目须办理海域使用权审批」"]
