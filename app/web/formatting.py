"""Jinja filters for amounts (issue 14 §4): pages read 「1,100 万元」, inputs keep 「1100」."""
from __future__ import annotations

from flask import Flask

from ..domain.filing_rules import funds_summary
from ..domain.money import amount_text, money_text, plain_amount


def init(app: Flask) -> None:
    app.jinja_env.filters["amount"] = amount_text  # 1100.0000 → 1,100
    app.jinja_env.filters["money"] = money_text  # 1100.0000 → 1,100 万元
    app.jinja_env.filters["plain_amount"] = plain_amount  # 1100.0000 → 1100 (an input's value)
    app.jinja_env.globals["funds_summary"] = funds_summary  # the 备案 form's 资金来源合计 line (filing.js keeps it live)
