"""Industrial-policy screening of a project before approval or filing (domain.md §9, 004 part 1).

Rules are data (seeded from app/seed/policy.yaml, edited by policy staff in the DB); only the two
consequences that the 产业结构调整指导目录 itself attaches to its categories are built in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

RuleKind = Literal["negative_list", "eliminated", "restricted", "overcapacity", "regional_ban"]
RULE_KINDS: tuple[str, ...] = ("negative_list", "eliminated", "restricted", "overcapacity", "regional_ban")
CATALOGUE_CATEGORIES = ("鼓励", "限制", "淘汰")
NATURES = ("新建", "扩建", "改建", "迁建", "技术改造")
CATALOGUE_SOURCE = "产业结构调整指导目录（2024年本）"

SEED_PATH = Path(__file__).resolve().parent.parent / "seed" / "policy.yaml"


@dataclass(frozen=True)
class PolicyRule:
    """A refusal rule. Every non-empty criterion must match; an empty one matches anything."""

    id: str
    kind: RuleKind
    title: str
    industry_prefixes: tuple[str, ...]  # GB/T 4754 codes or prefixes: 'C3011', 'C31'
    catalogue_codes: tuple[str, ...]
    natures: tuple[str, ...]  # 建设性质, e.g. ('新建', '扩建')
    region_prefixes: tuple[str, ...]  # GB/T 2260 prefixes: '4401' = 广州市
    message: str
    source: str

    def matches(self, facts: ProjectFacts) -> bool:
        if self.industry_prefixes and not (
            facts.industry_code and facts.industry_code.startswith(self.industry_prefixes)
        ):
            return False
        if self.catalogue_codes and facts.catalogue_code not in self.catalogue_codes:
            return False
        if self.natures and facts.nature not in self.natures:
            return False
        if self.region_prefixes and not (
            facts.region_code and facts.region_code.startswith(self.region_prefixes)
        ):
            return False
        return True


@dataclass(frozen=True)
class ProjectFacts:
    industry_code: str
    catalogue_code: str  # '' when the project matches no catalogue entry (允许类)
    catalogue_category: str  # '鼓励' | '限制' | '淘汰' | ''
    nature: str  # 新建 / 扩建 / 改建 / 迁建 / 技术改造
    region_code: str  # 6-digit GB/T 2260 code


@dataclass(frozen=True)
class Refusal:
    rule_id: str
    kind: str
    title: str
    message: str
    source: str


def _catalogue_refusals(facts: ProjectFacts, source: str) -> list[Refusal]:
    if facts.catalogue_category == "淘汰":
        return [
            Refusal(
                "catalogue:eliminated",
                "eliminated",
                "产业结构调整指导目录淘汰类",
                "淘汰类项目禁止投资，不予审批、核准或备案",
                source,
            )
        ]
    if facts.catalogue_category == "限制" and facts.nature == "新建":
        return [
            Refusal(
                "catalogue:restricted_new",
                "restricted",
                "产业结构调整指导目录限制类",
                "限制类项目禁止新建，现有生产能力允许在一定期限内改造升级",
                source,
            )
        ]
    return []


def screen(
    facts: ProjectFacts, rules: Iterable[PolicyRule], catalogue_source: str = CATALOGUE_SOURCE
) -> list[Refusal]:
    """Every reason the project may not be approved, authorised or filed; empty when it may.

    All matching rules are reported (not just the first) so the applicant sees each source at once.
    """
    refusals = _catalogue_refusals(facts, catalogue_source)
    refusals.extend(
        Refusal(rule.id, rule.kind, rule.title, rule.message, rule.source)
        for rule in rules
        if rule.matches(facts)
    )
    return refusals


def load_policy_seed(path: str | Path = SEED_PATH) -> dict[str, Any]:
    """Read policy.yaml: {'catalogue_entries': [...], 'industries': [...], 'rules': [...]}."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _strings(row: Mapping[str, Any], key: str) -> tuple[str, ...]:
    # YAML reads unquoted codes such as 4401 as ints; the rules compare strings.
    return tuple(str(x) for x in row.get(key) or ())


def rule_from_row(row: Mapping[str, Any]) -> PolicyRule:
    kind = row["kind"]
    if kind not in RULE_KINDS:
        raise ValueError(f"unknown rule kind {kind!r} in rule {row.get('id')!r}")
    if not row.get("source"):
        raise ValueError(f"rule {row.get('id')!r} names no source")
    natures = _strings(row, "natures")
    unknown = [n for n in natures if n not in NATURES]
    if unknown:
        raise ValueError(f"unknown 建设性质 {unknown} in rule {row.get('id')!r}")
    return PolicyRule(
        id=str(row["id"]),
        kind=kind,
        title=row["title"],
        industry_prefixes=_strings(row, "industry_prefixes"),
        catalogue_codes=_strings(row, "catalogue_codes"),
        natures=natures,
        region_prefixes=_strings(row, "region_prefixes"),
        message=row["message"],
        source=row["source"],
    )


def rules_from_seed(data: Mapping[str, Any]) -> list[PolicyRule]:
    return [rule_from_row(row) for row in data.get("rules") or ()]
