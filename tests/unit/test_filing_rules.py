from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.domain.filing_rules import CAPITAL_RATIO_SEED, FIELD_LABELS, check_filing_figures

D = Decimal
TODAY = date(2025, 6, 5)


def valid_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "civil_investment": D("30"),
        "equipment_investment": D("70"),
        "total_investment": D("100"),
        "own_funds": D("40"),
        "domestic_loans": D("50"),
        "securities": D("0"),
        "other_funds": D("10"),
        "capital": D("20"),
        "annual_plan": D("60"),
        "planned_start": date(2025, 7, 1),
        "planned_end": date(2026, 6, 30),
    }
    form.update(changes)
    return form


def test_valid_form_passes_and_computes() -> None:
    computed, errors = check_filing_figures(valid_form(), D("0.2"), TODAY)
    assert errors == {}
    assert computed == {"fixed_assets": D("100"), "funds_total": D("100"), "min_capital": D("20.0")}


def test_fixed_assets_is_computed_not_typed() -> None:
    computed, errors = check_filing_figures(valid_form(fixed_assets=D("100.00")), D("0.2"), TODAY)
    assert errors == {} and computed["fixed_assets"] == D("100")
    _, errors = check_filing_figures(valid_form(fixed_assets=D("90")), D("0.2"), TODAY)
    assert errors == {"fixed_assets": "固定资产投资由系统自动计算，不可直接填写"}


def test_total_must_equal_sum_of_sources() -> None:
    _, errors = check_filing_figures(valid_form(other_funds=D("9.5")), D("0.2"), TODAY)
    assert errors == {
        "total_investment": "「总投资」金额与「自有资金」、「国内贷款」、「股票(债券)」、「其他资金」"
        "的总额不相等（合计 99.5 万元），请检查"
    }


def test_decimal_arithmetic_is_exact() -> None:
    form = valid_form(
        civil_investment=D("0.1"),
        equipment_investment=D("0.2"),
        total_investment=D("0.3"),
        own_funds=D("0.1"),
        domestic_loans=D("0.2"),
        securities=D("0"),
        other_funds=D("0"),
        capital=D("0.06"),
        annual_plan=D("0.3"),
    )
    computed, errors = check_filing_figures(form, D("0.2"), TODAY)
    assert errors == {}
    assert computed["fixed_assets"] == D("0.3")
    assert computed["funds_total"] == D("0.3")
    assert computed["min_capital"] == D("0.06")


def test_fixed_assets_not_above_total() -> None:
    form = valid_form(civil_investment=D("60"), capital=D("40"))
    _, errors = check_filing_figures(form, D("0.2"), TODAY)
    assert errors == {"fixed_assets": "固定资产投资（130 万元）不得大于总投资（100 万元）"}


def test_capital_not_above_total() -> None:
    _, errors = check_filing_figures(valid_form(capital=D("100.01")), D("0.2"), TODAY)
    assert errors == {"capital": "项目资本金不得大于总投资（100 万元）"}


def test_capital_minimum_ratio() -> None:
    _, errors = check_filing_figures(valid_form(capital=D("19.99")), D("0.2"), TODAY)
    assert errors == {"capital": "项目资本金不得低于固定资产投资的20%（至少 20 万元）"}
    _, errors = check_filing_figures(valid_form(capital=D("34.99")), D("0.35"), TODAY)
    assert errors == {"capital": "项目资本金不得低于固定资产投资的35%（至少 35 万元）"}
    _, errors = check_filing_figures(valid_form(capital=D("35")), D("0.35"), TODAY)
    assert errors == {}


def test_capital_minimum_is_rounded_up_for_display() -> None:
    # 0.25 × 100.01 = 25.0025: showing 25.00 would invite an amount that still fails.
    form = valid_form(equipment_investment=D("70.01"), total_investment=D("100.01"), other_funds=D("10.01"))
    _, errors = check_filing_figures(form, D("0.25"), TODAY)
    assert errors == {"capital": "项目资本金不得低于固定资产投资的25%（至少 25.01 万元）"}
    _, errors = check_filing_figures({**form, "capital": D("25.01")}, D("0.25"), TODAY)
    assert errors == {}


def test_no_ratio_skips_the_minimum() -> None:
    computed, errors = check_filing_figures(valid_form(capital=D("0")), None, TODAY)
    assert errors == {} and "min_capital" not in computed


def test_annual_plan_not_above_total() -> None:
    _, errors = check_filing_figures(valid_form(annual_plan=D("100.5")), D("0.2"), TODAY)
    assert errors == {"annual_plan": "年度计划投入不得大于总投资（100 万元）"}


def test_dates() -> None:
    _, errors = check_filing_figures(valid_form(planned_end=date(2025, 6, 30)), D("0.2"), TODAY)
    assert errors == {"planned_end": "计划竣工时间不得早于计划开工时间"}
    _, errors = check_filing_figures(valid_form(planned_start=date(2025, 6, 4)), D("0.2"), TODAY)
    assert errors == {"planned_start": "计划开工时间不得早于备案证签发时间，请预留审批时间"}
    _, errors = check_filing_figures(valid_form(planned_start=TODAY, planned_end=TODAY), D("0.2"), TODAY)
    assert errors == {}


def test_negative_amounts() -> None:
    _, errors = check_filing_figures(valid_form(securities=D("-10"), other_funds=D("20")), D("0.2"), TODAY)
    assert errors == {"securities": "股票(债券)不能为负数"}


def test_missing_inputs_skip_their_rules() -> None:
    form = valid_form(total_investment=None, civil_investment=None, planned_start=None)
    del form["other_funds"]
    computed, errors = check_filing_figures(form, D("0.2"), TODAY)
    assert computed == {}
    assert errors == {}


def test_empty_strings_count_as_missing_and_ints_are_accepted() -> None:
    computed, errors = check_filing_figures(
        valid_form(total_investment="", civil_investment=30, equipment_investment=70), D("0.2"), TODAY
    )
    assert errors == {}
    assert computed["fixed_assets"] == D("100")


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        check_filing_figures(valid_form(capital=20.0), D("0.2"), TODAY)


def test_every_message_names_its_field() -> None:
    form = valid_form(
        civil_investment=D("80"),
        total_investment=D("90"),
        capital=D("95"),
        annual_plan=D("95"),
        planned_start=date(2025, 1, 1),
        planned_end=date(2024, 1, 1),
        fixed_assets=D("1"),
    )
    _, errors = check_filing_figures(form, D("0.4"), TODAY)
    assert set(errors) == {
        "total_investment",
        "fixed_assets",
        "capital",
        "annual_plan",
        "planned_start",
        "planned_end",
    }
    for field, message in errors.items():
        assert FIELD_LABELS[field] in message


def test_capital_ratio_seed() -> None:
    by_code = {row["code"]: row for row in CAPITAL_RATIO_SEED}
    assert len(by_code) == len(CAPITAL_RATIO_SEED)
    assert by_code["steel_aluminium"]["min_ratio"] == D("0.40")
    assert by_code["cement"]["min_ratio"] == D("0.35")
    assert by_code["coal_chemicals"]["min_ratio"] == D("0.30")
    assert by_code["corn_processing"]["min_ratio"] == D("0.20")
    assert by_code["fertilizer"]["min_ratio"] == D("0.25")
    assert by_code["airport"]["min_ratio"] == D("0.25")
    assert by_code["real_estate_other"]["min_ratio"] == D("0.25")
    assert by_code["other"]["min_ratio"] == D("0.20")
    for row in CAPITAL_RATIO_SEED:
        assert set(row) == {"code", "name", "min_ratio", "source"}
        assert isinstance(row["min_ratio"], Decimal)
        assert row["source"] == "国发〔2015〕51号、国发〔2019〕26号"
        assert row["code"].isascii()
