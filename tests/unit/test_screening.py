from typing import Any

import pytest

from app.domain.filing_rules import CAPITAL_RATIO_SEED
from app.domain.screening import (
    CATALOGUE_SOURCE,
    PolicyRule,
    ProjectFacts,
    Refusal,
    load_policy_seed,
    rule_from_row,
    rules_from_seed,
    screen,
)


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return load_policy_seed()


@pytest.fixture(scope="module")
def rules(seed: dict[str, Any]) -> list[PolicyRule]:
    return rules_from_seed(seed)


def facts(
    industry: str = "C3484",
    catalogue_code: str = "",
    category: str = "",
    nature: str = "技术改造",
    region: str = "440305",
) -> ProjectFacts:
    return ProjectFacts(industry, catalogue_code, category, nature, region)


def ids(refusals: list[Refusal]) -> list[str]:
    return [r.rule_id for r in refusals]


def test_ordinary_renovation_passes(rules: list[PolicyRule]) -> None:
    assert screen(facts(), rules) == []
    assert screen(facts(category="鼓励", catalogue_code="2024-enc-steel-01", nature="新建"), rules) == []


def test_eliminated_is_refused_by_catalogue_and_negative_list(rules: list[PolicyRule]) -> None:
    refusals = screen(facts(catalogue_code="2024-elim-cement-01", category="淘汰", nature="改建"), rules)
    assert ids(refusals) == ["catalogue:eliminated", "negative_list_prohibited_eliminated"]
    assert refusals[0].source == CATALOGUE_SOURCE
    assert refusals[1].source == "市场准入负面清单（2022年版）"
    assert refusals[1].kind == "negative_list"


def test_restricted_only_refused_when_new(rules: list[PolicyRule]) -> None:
    new = screen(facts("C2925", "2024-restr-light-01", "限制", "新建"), rules)
    assert ids(new) == ["catalogue:restricted_new"]
    assert new[0].message == "限制类项目禁止新建，现有生产能力允许在一定期限内改造升级"
    assert new[0].kind == "restricted"
    for nature in ("技术改造", "改建", "扩建", "迁建"):
        assert screen(facts("C2925", "2024-restr-light-01", "限制", nature), rules) == []


@pytest.mark.parametrize("industry", ["C3110", "C3120", "C3216", "C3011", "C3041", "C3731"])
@pytest.mark.parametrize("nature", ["新建", "技术改造"])
def test_overcapacity_refused_everywhere_in_any_form(
    rules: list[PolicyRule], industry: str, nature: str
) -> None:
    refusals = screen(facts(industry, nature=nature, region="652301"), rules)
    assert ids(refusals) == ["overcapacity_severe"]
    assert "不得以任何名义、任何方式核准、备案" in refusals[0].message
    assert refusals[0].source == "《广东省政府核准的投资项目目录（2017年本）》（粤府〔2017〕113号）"


@pytest.mark.parametrize("region", ["440106", "440305", "440402", "440604", "440703", "441900", "442000"])
def test_prd_core_bans_new_or_expanded_pulp_and_tanning(rules: list[PolicyRule], region: str) -> None:
    for industry in ("C2211", "C1910"):
        for nature in ("新建", "扩建"):
            refusals = screen(facts(industry, nature=nature, region=region), rules)
            assert ids(refusals) == ["prd_core_heavy_industry"]
            assert refusals[0].kind == "regional_ban"
            assert "粤府〔2020〕71号" in refusals[0].source


def test_prd_core_ban_spares_other_regions_and_natures(rules: list[PolicyRule]) -> None:
    assert screen(facts("C2211", nature="扩建", region="440511"), rules) == []  # 汕头
    assert screen(facts("C2211", nature="技术改造", region="440106"), rules) == []
    # Cement in the core region: both the overcapacity rule and the regional ban apply.
    assert ids(screen(facts("C3011", nature="扩建", region="440106"), rules)) == [
        "overcapacity_severe",
        "prd_core_heavy_industry",
    ]


def test_matching_criteria() -> None:
    rule = PolicyRule(
        id="r",
        kind="regional_ban",
        title="t",
        industry_prefixes=("C31",),
        catalogue_codes=(),
        natures=("新建",),
        region_prefixes=("44",),
        message="m",
        source="s",
    )
    assert rule.matches(facts("C3130", nature="新建", region="440100"))
    assert not rule.matches(facts("C3230", nature="新建", region="440100"))
    assert not rule.matches(facts("C3130", nature="扩建", region="440100"))
    assert not rule.matches(facts("C3130", nature="新建", region="430100"))
    assert not rule.matches(facts("", nature="新建", region="440100"))
    anything = PolicyRule("any", "negative_list", "t", (), (), (), (), "m", "s")
    assert anything.matches(facts("", region=""))


def test_seed_rows_all_name_a_source(seed: dict[str, Any]) -> None:
    assert set(seed) == {"catalogue_entries", "industries", "rules"}
    for section in seed.values():
        assert section
        for row in section:
            assert row["source"]


def test_seed_catalogue_and_industries_are_consistent(seed: dict[str, Any], rules: list[PolicyRule]) -> None:
    entries = {e["code"]: e for e in seed["catalogue_entries"]}
    assert len(entries) == len(seed["catalogue_entries"])
    assert {e["category"] for e in entries.values()} == {"鼓励", "限制", "淘汰"}
    assert all(e["source"] == CATALOGUE_SOURCE for e in entries.values())

    eliminated = {code for code, e in entries.items() if e["category"] == "淘汰"}
    negative = next(r for r in rules if r.kind == "negative_list")
    assert set(negative.catalogue_codes) == eliminated

    ratio_codes = {row["code"] for row in CAPITAL_RATIO_SEED}
    industry_codes = [i["code"] for i in seed["industries"]]
    assert len(industry_codes) == len(set(industry_codes)) >= 30
    for industry in seed["industries"]:
        assert isinstance(industry["code"], str) and len(industry["code"]) == 5
        assert industry["capital_category"] in ratio_codes
    # Every industry a rule names is in the seed table, so the form can offer it.
    named = {p for r in rules for p in r.industry_prefixes}
    assert named <= set(industry_codes)


def test_rule_rows_are_validated() -> None:
    row = {
        "id": "x",
        "kind": "regional_ban",
        "title": "t",
        "industry_prefixes": ["C3011"],
        "natures": ["新建"],
        "region_prefixes": [4401],
        "message": "m",
        "source": "s",
    }
    rule = rule_from_row(row)
    assert rule.region_prefixes == ("4401",)
    assert rule.catalogue_codes == ()
    with pytest.raises(ValueError):
        rule_from_row({**row, "kind": "banned"})
    with pytest.raises(ValueError):
        rule_from_row({**row, "source": ""})
    with pytest.raises(ValueError):
        rule_from_row({**row, "natures": ["新造"]})
