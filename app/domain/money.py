"""Amounts as people read them: 「1,100 万元」, not 「1100.0000」 (issue 14 §4).

Amounts are stored as Decimal with four places (万元); shown, they keep the digits that carry a value and group
thousands with commas. Inputs keep the plain form (no commas) so a value shown in a field posts back unchanged.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None


def _trimmed(amount: Decimal) -> Decimal:
    """1100.0000 → 1100 (normalize alone gives 1.1E+3), 0.3000 → 0.3."""
    amount = amount.normalize()
    return amount.quantize(Decimal(1)) if amount.as_tuple().exponent > 0 else amount  # type: ignore[operator]


def plain_amount(value: Any) -> str:
    """For an input box: 1100.0000 → 「1100」, 20.50 → 「20.5」; anything not a number comes back as it was."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return "" if value is None else str(value)
    return format(_trimmed(amount), "f")


def amount_text(value: Any) -> str:
    """For reading: 1100.0000 → 「1,100」, 1234567.5 → 「1,234,567.5」, 0 → 「0」."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return "" if value is None else str(value)
    return format(_trimmed(amount), ",f")


def money_text(value: Any, unit: str = "万元") -> str:
    """「1,100 万元」: the amount and its unit, as messages and pages print it."""
    text = amount_text(value)
    return f"{text} {unit}" if text else ""
