"""What a 办结 form starts from (issue 14 §7): the title a decision of this item usually has, and the next 文号 in
the department's own sequence. Reviewers issue dozens a day; typing 「关于……的批复」 and looking up the last number
each time is where errors come from. Both are proposals: the reviewer changes them freely, and the 文号 is still
checked for uniqueness when the decision is made (approval.decide).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# item → what its 批复 is about, as documents of the province word it (「关于X项目核准的批复」)
SUBJECTS: dict[str, str] = {
    "proposal": "项目建议书",
    "feasibility": "可行性研究报告",
    "preliminary_design": "初步设计及概算",
    "authorisation": "核准",
    "energy": "节能报告",
    "land_site": "用地预审与选址",
    "soil_water": "水土保持方案",
    "water_permit": "取水许可",
    "flood": "洪水影响评价",
    "forest_land": "使用林地",
    "heritage": "文物保护和考古",
    "national_security": "涉及国家安全事项",
}
EIA_DOCUMENTS = {"report": "环境影响报告书", "table": "环境影响报告表", "registration": "环境影响登记表"}
# 江环审〔2026〕56号: the issuing department's 发文字号, the year, the serial
NUMBER = re.compile(r"^(?P<prefix>.+?)〔(?P<year>\d{4})〕(?P<serial>\d{1,6})号$")


def title(item_code: str, item_name: str, project_name: str, answers: dict[str, Any] | None) -> str:
    subject = SUBJECTS.get(item_code)
    if item_code == "eia":
        subject = EIA_DOCUMENTS.get(str((answers or {}).get("eia_category", "")), "环境影响评价文件")
    return f"关于{project_name}{subject}的批复" if subject else f"关于{project_name}{item_name}的批复"


def next_number(of_item: Iterable[str], of_department: Iterable[str], year: int) -> str:
    """The next 文号: the 发文字号 of the department's latest number for this item (oldest first in `of_item`),
    in `year`, one above the highest serial the department has under that 字号 this year (`of_department`: all
    its numbers). "" when no earlier number of the item follows the 〔year〕N号 pattern."""
    parsed = [m for m in (NUMBER.match((n or "").strip()) for n in of_item) if m]
    if not parsed:
        return ""
    prefix = parsed[-1]["prefix"]
    serials = [int(m["serial"]) for m in (NUMBER.match((n or "").strip()) for n in of_department)
               if m and m["prefix"] == prefix and int(m["year"]) == year]
    return f"{prefix}〔{year}〕{max(serials, default=0) + 1}号"
