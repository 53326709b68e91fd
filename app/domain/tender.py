"""The 招标事项核准意见 a reviewer starts from (issue 14 §7/§9: 15 drop-downs with no defaults cost 15 actions).

发改委令第16号 第五条: within a project that must tender, a contract must be tendered when its estimate reaches
施工 400万元, 重要设备、材料 200万元, 勘察、设计、监理等服务 100万元. The questionnaire asks the largest contract of each
kind, so each package starts as 全部招标 · 公开招标 · 委托招标 when its contract reaches the threshold, else as 不招标
(method and organisation 不适用). The reviewer confirms or changes each; tender_consistency still checks the result.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

# package (form field part) → the questionnaire answer holding its largest contract, threshold in 万元
PACKAGES: dict[str, tuple[str, Decimal]] = {
    "survey": ("services_contract", Decimal(100)),
    "design": ("services_contract", Decimal(100)),
    "works": ("construction_contract", Decimal(400)),
    "supervision": ("services_contract", Decimal(100)),
    "goods": ("goods_contract", Decimal(200)),
}
TENDERED = ("全部招标", "公开招标", "委托招标")
NOT_TENDERED = ("不招标", "—", "—")


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value).replace(",", "").strip() or "0")
    except (InvalidOperation, ValueError):
        return Decimal(0)


def tender_defaults(answers: dict[str, Any] | None) -> dict[str, str]:
    """Form values tender_<package>_scope/_method/_org from the declaration's answers."""
    answers = answers or {}
    values: dict[str, str] = {}
    for package, (answer, threshold) in PACKAGES.items():
        scope, method, org = TENDERED if _amount(answers.get(answer)) >= threshold else NOT_TENDERED
        values.update({f"tender_{package}_scope": scope, f"tender_{package}_method": method,
                       f"tender_{package}_org": org})
    return values
