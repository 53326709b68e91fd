"""Amounts as people read them and the 建设地点 named once (issue 14 §4)."""
from decimal import Decimal

import pytest

from app.domain.addresses import full_location, strip_region_prefix
from app.domain.filing_rules import funds_summary
from app.domain.money import amount_text, money_text, plain_amount

JIANGHAI = ["广东省", "江门市", "江海区"]
FULL = "广东省江门市江海区"


@pytest.mark.parametrize(("value", "read", "typed"), [
    (Decimal("1100.0000"), "1,100", "1100"),
    (Decimal("1234567.5000"), "1,234,567.5", "1234567.5"),
    (Decimal("0.3000"), "0.3", "0.3"),
    (Decimal("0E-4"), "0", "0"),
    (Decimal("100"), "100", "100"),
    (Decimal("-20.50"), "-20.5", "-20.5"),
    (1100, "1,100", "1100"),
    ("1100.0000", "1,100", "1100"),
    ("1,100", "1,100", "1100"),
])
def test_amounts_read_with_commas_and_type_without(value, read, typed) -> None:
    assert amount_text(value) == read
    assert plain_amount(value) == typed


def test_money_text_carries_its_unit_and_leaves_non_numbers_alone() -> None:
    assert money_text(Decimal("1100.0000")) == "1,100 万元"
    assert money_text(Decimal("5"), "万美元") == "5 万美元"
    assert money_text(None) == "" and amount_text(None) == "" and plain_amount(None) == ""
    assert amount_text("abc") == "abc" and plain_amount("12a") == "12a"  # an invalid input is shown as typed
    assert amount_text("") == ""


@pytest.mark.parametrize(("typed", "kept"), [
    ("江门市江海区高新区金瓯路288号", "高新区金瓯路288号"),  # the report's case (j1-27)
    ("广东省江门市江海区高新区金瓯路288号", "高新区金瓯路288号"),
    ("广东省江门市江海区江门市江海区高新区", "高新区"),  # typed twice
    ("江海区高新区", "高新区"),
    ("江门市高新区", "高新区"),  # the city alone, then a park
    ("江门市 江海区，高新区", "高新区"),  # spaces and commas between the names
    ("  高新区金瓯路288号 ", "高新区金瓯路288号"),
    ("江海路1号", "江海路1号"),  # only whole names: a street called 江海路 stays
    ("金瓯路288号江门市江海区", "金瓯路288号江门市江海区"),  # only at the start
    ("蓬江区白沙大道", "蓬江区白沙大道"),  # another county's name is not the region's
    ("广东省江门市江海区", ""),  # nothing left: the caller asks for a street
])
def test_region_names_typed_again_are_taken_off_the_front(typed, kept) -> None:
    assert strip_region_prefix(typed, JIANGHAI) == kept


def test_full_location_names_the_region_once() -> None:
    assert full_location(FULL, JIANGHAI, "江门市江海区高新区金瓯路288号") == "广东省江门市江海区高新区金瓯路288号"
    assert full_location(FULL, JIANGHAI, "明辉路35号") == "广东省江门市江海区明辉路35号"
    assert full_location(FULL, JIANGHAI, "") == FULL
    assert strip_region_prefix("江门市X", []) == "江门市X"


def test_funds_summary_line() -> None:
    assert funds_summary({"own_funds": "700", "domestic_loans": "400", "total_investment": "1200"}) == \
        "资金来源合计 1,100 万元，总投资 1,200 万元，还差 100 万元"
    assert funds_summary({"own_funds": "1200.0000", "securities": "", "total_investment": "1,200"}) == \
        "资金来源合计 1,200 万元，与总投资一致"
    assert funds_summary({"own_funds": "1300", "total_investment": "1200"}) == \
        "资金来源合计 1,300 万元，总投资 1,200 万元，超出 100 万元"
    assert funds_summary({"own_funds": "abc"}) == "资金来源合计 0 万元"
