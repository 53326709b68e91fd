"""The 办结 form's proposed title and 文号 (app/domain/decision_draft.py)."""
from __future__ import annotations

from app.domain.decision_draft import next_number, title


def test_title_names_the_project_and_what_the_item_decides():
    assert title("authorisation", "企业投资项目核准（含招标核准）", "江门新材料项目", {}) == "关于江门新材料项目核准的批复"
    assert title("eia", "建设项目环境影响评价审批", "江门新材料项目", {"eia_category": "table"}) == \
        "关于江门新材料项目环境影响报告表的批复"
    assert title("eia", "建设项目环境影响评价审批", "江门新材料项目", None) == "关于江门新材料项目环境影响评价文件的批复"
    assert title("works_planning", "建设工程规划许可证核发", "江门新材料项目", {}) == \
        "关于江门新材料项目建设工程规划许可证核发的批复"


def test_next_number_follows_the_items_latest_prefix_and_the_departments_highest_serial():
    item = ["江环审〔2025〕90号", "江环审〔2026〕3号"]
    department = [*item, "江环审〔2026〕7号", "江环函〔2026〕40号"]
    assert next_number(item, department, 2026) == "江环审〔2026〕8号"


def test_a_new_year_starts_at_one_and_a_renamed_prefix_takes_over():
    assert next_number(["江环审〔2025〕90号"], ["江环审〔2025〕90号"], 2026) == "江环审〔2026〕1号"
    renamed = ["江环审〔2026〕3号", "江环建审〔2026〕1号"]
    assert next_number(renamed, renamed, 2026) == "江环建审〔2026〕2号"


def test_nothing_is_proposed_without_an_earlier_number_in_the_pattern():
    assert next_number([], ["江环审〔2026〕3号"], 2026) == ""
    assert next_number(["第3号", "", "江环审2026-3"], [], 2026) == ""
