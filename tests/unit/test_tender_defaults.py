"""domain.tender: each package starts tendered when its largest contract reaches 发改委令第16号's threshold."""
from __future__ import annotations

import pytest

from app.domain.tender import tender_defaults


@pytest.mark.parametrize("answers, tendered", [
    ({}, set()),
    ({"construction_contract": "400"}, {"works"}),
    ({"construction_contract": "399.99"}, set()),
    ({"goods_contract": "200", "services_contract": "100"}, {"goods", "survey", "design", "supervision"}),
    ({"services_contract": "1,000", "construction_contract": "oops"}, {"survey", "design", "supervision"}),
    ({"construction_contract": None, "goods_contract": ""}, set()),
])
def test_packages_start_from_the_thresholds(answers, tendered):
    values = tender_defaults(answers)
    got = {p for p in ("survey", "design", "works", "supervision", "goods") if values[f"tender_{p}_scope"] == "全部招标"}
    assert got == tendered
    for package in {"survey", "design", "works", "supervision", "goods"} - tendered:
        assert (values[f"tender_{package}_method"], values[f"tender_{package}_org"]) == ("—", "—")
