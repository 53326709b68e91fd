"""Cross-field rules of the filing (备案) form, amounts in 万元 as Decimal (004 part 2, domain.md §7, §13).

The form layer checks presence and types; these rules only compare figures that are present, so a
missing field never produces a second, confusing error here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any

from .money import amount_text

CAPITAL_RATIO_SOURCE = "国发〔2015〕51号、国发〔2019〕26号"


def _ratio(code: str, name: str, min_ratio: str) -> dict[str, Any]:
    return {"code": code, "name": name, "min_ratio": Decimal(min_ratio), "source": CAPITAL_RATIO_SOURCE}


# Seed of the editable minimum-capital table (policy staff maintain it in the DB). Ratios are shares
# of 固定资产投资. 国发〔2019〕26号 lets 补短板 rail/road/transit projects go up to 5 points lower;
# that discretion is left to staff, not encoded here.
CAPITAL_RATIO_SEED: list[dict[str, Any]] = [
    _ratio("steel_aluminium", "钢铁、电解铝", "0.40"),
    _ratio("cement", "水泥", "0.35"),
    _ratio("coal_chemicals", "煤炭、电石、铁合金、烧碱、焦炭、黄磷、多晶硅", "0.30"),
    _ratio("corn_processing", "玉米深加工", "0.20"),
    _ratio("fertilizer", "化肥（钾肥除外）", "0.25"),
    _ratio("port_shipping", "港口、沿海及内河航运", "0.20"),
    _ratio("airport", "机场", "0.25"),
    _ratio("rail_road_transit", "铁路、公路、城市轨道交通", "0.20"),
    _ratio("housing", "保障性住房和普通商品住房", "0.20"),
    _ratio("real_estate_other", "其他房地产", "0.25"),
    _ratio("other", "电力等其他项目", "0.20"),
]

FIELD_LABELS: dict[str, str] = {
    "civil_investment": "土建、公用工程及其他投资",
    "equipment_investment": "设备及技术投资",
    "fixed_assets": "固定资产投资",
    "total_investment": "总投资",
    "own_funds": "自有资金",
    "domestic_loans": "国内贷款",
    "securities": "股票(债券)",
    "other_funds": "其他资金",
    "capital": "项目资本金",
    "annual_plan": "年度计划投入",
    "planned_start": "计划开工时间",
    "planned_end": "计划竣工时间",
}

# Amounts typed by the enterprise (fixed_assets is computed, never typed).
AMOUNT_FIELDS = (
    "civil_investment",
    "equipment_investment",
    "total_investment",
    "own_funds",
    "domestic_loans",
    "securities",
    "other_funds",
    "capital",
    "annual_plan",
)
FUND_FIELDS = ("own_funds", "domestic_loans", "securities", "other_funds")

_CENT = Decimal("0.01")


def _amount(v: Mapping[str, Any], name: str) -> Decimal | None:
    value = v.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, float):
        # A float here means a caller bypassed the form layer; refuse rather than round silently.
        raise TypeError(f"{name} must be Decimal, not float")
    return value if isinstance(value, Decimal) else Decimal(value)


def _fmt(amount: Decimal) -> str:
    """As people read amounts: 1100.0000 → 1,100, 0.30 → 0.3 (domain.money)."""
    return amount_text(amount)


def _percent(ratio: Decimal) -> str:
    return format((ratio * 100).normalize(), "f")


def check_filing_figures(
    v: Mapping[str, Any], min_capital_ratio: Decimal | None, today: date
) -> tuple[dict[str, Decimal], dict[str, str]]:
    """Check the figures of a filing form.

    Returns (computed values, errors by field name). Computed values: ``fixed_assets`` (土建… +
    设备及技术), ``funds_total`` (sum of the four sources) and ``min_capital`` (minimum 项目资本金),
    each only when its inputs are present. ``today`` stands for the earliest possible issue date of
    the certificate. ``min_capital_ratio`` is the project's category ratio (e.g. Decimal('0.2')),
    None when the category is not chosen yet.
    """
    errors: dict[str, str] = {}
    computed: dict[str, Decimal] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, message)  # one message per field: the first rule that fails

    amounts = {name: _amount(v, name) for name in AMOUNT_FIELDS}
    for name, value in amounts.items():
        if value is not None and value < 0:
            fail(name, f"{FIELD_LABELS[name]}不能为负数")

    civil, equipment = amounts["civil_investment"], amounts["equipment_investment"]
    total = amounts["total_investment"]
    capital = amounts["capital"]

    fixed: Decimal | None = None
    if civil is not None and equipment is not None:
        fixed = civil + equipment
        computed["fixed_assets"] = fixed
        typed = _amount(v, "fixed_assets")
        if typed is not None and typed != fixed:
            fail("fixed_assets", "固定资产投资由系统自动计算，不可直接填写")

    funds = [f for f in (amounts[name] for name in FUND_FIELDS) if f is not None]
    if len(funds) == len(FUND_FIELDS):
        funds_total = sum(funds, Decimal(0))
        computed["funds_total"] = funds_total
        if total is not None and total != funds_total:
            fail(
                "total_investment",
                "「总投资」金额与「自有资金」、「国内贷款」、「股票(债券)」、「其他资金」的总额不相等"
                f"（合计 {_fmt(funds_total)} 万元），请检查",
            )

    if fixed is not None and total is not None and fixed > total:
        fail(
            "fixed_assets",
            f"固定资产投资（{_fmt(fixed)} 万元）不得大于总投资（{_fmt(total)} 万元）",
        )

    if capital is not None:
        if total is not None and capital > total:
            fail("capital", f"项目资本金不得大于总投资（{_fmt(total)} 万元）")
        if min_capital_ratio is not None and fixed is not None:
            if not Decimal(0) <= min_capital_ratio <= Decimal(1):
                raise ValueError(f"min_capital_ratio out of range: {min_capital_ratio}")
            minimum = min_capital_ratio * fixed
            computed["min_capital"] = minimum
            if capital < minimum:
                # Rounded up so that typing the amount shown always passes.
                shown = minimum.quantize(_CENT, rounding=ROUND_CEILING)
                fail(
                    "capital",
                    f"项目资本金不得低于固定资产投资的{_percent(min_capital_ratio)}%（至少 {_fmt(shown)} 万元）",
                )

    annual = amounts["annual_plan"]
    if annual is not None and total is not None and annual > total:
        fail("annual_plan", f"年度计划投入不得大于总投资（{_fmt(total)} 万元）")

    start, end = v.get("planned_start"), v.get("planned_end")
    if start is not None and end is not None and end < start:
        fail("planned_end", "计划竣工时间不得早于计划开工时间")
    if start is not None and start < today:
        fail("planned_start", "计划开工时间不得早于备案证签发时间，请预留审批时间")

    return computed, errors


def funds_summary(values: Mapping[str, Any]) -> str:
    """The line under the funding sources while typing (static/filing.js writes the same words in the browser):
    「资金来源合计 1,100 万元，总投资 1,200 万元，还差 100 万元」. Empty sources count as 0 (their default)."""
    def parsed(name: str) -> Decimal | None:
        text = str(v if (v := values.get(name)) is not None else "").replace(",", "").strip()
        try:
            return Decimal(text) if text else None
        except ArithmeticError:
            return None

    sources = [parsed(name) for name in FUND_FIELDS]
    funds = sum((s for s in sources if s is not None), Decimal(0))
    total = parsed("total_investment")
    line = f"资金来源合计 {amount_text(funds)} 万元"
    if total is None:
        return line
    if funds == total:
        return f"{line}，与总投资一致"
    gap = total - funds
    word = "还差" if gap > 0 else "超出"
    return f"{line}，总投资 {amount_text(total)} 万元，{word} {amount_text(abs(gap))} 万元"
