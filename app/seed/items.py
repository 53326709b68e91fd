"""Seed of the item catalogue (事项目录) from items.yaml: inserts what is missing, never overwrites.

Policy staff own the live catalogue (/admin/items): an item that exists is left exactly as they edited it,
materials included (a material they deleted is not brought back); only a material's empty rule (applies_when,
added after the catalogue was first seeded) is filled from items.yaml.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..domain.material_rules import normalise
from ..extensions import db
from ..models import ApprovalItem, ItemMaterial

SEED_PATH = Path(__file__).with_name("items.yaml")
ITEM_FIELDS = {"code", "name", "parent_code", "kinds", "stage", "dept_type", "level", "statutory_limit", "promised_limit",
               "unit", "max_extension", "has_intermediary", "has_expert_review", "legal_basis", "limit_source", "active"}
MATERIAL_FIELDS = {"name", "required", "template", "pdf_only", "condition", "local_basis", "applies_when"}
# A folded YAML line break becomes a space, which Chinese text does not use: drop whitespace next to CJK text.
_CJK_GAP = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")


def _clean(value: Any) -> Any:
    return _CJK_GAP.sub("", value.strip()) if isinstance(value, str) else value


def _material(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {key: _clean(value) for key, value in values.items() if key != "applies_when"}
    if "applies_when" in values:
        cleaned["applies_when"] = normalise(values["applies_when"])
    return cleaned


def load_items(path: str | Path = SEED_PATH) -> list[dict[str, Any]]:
    """The items of items.yaml, checked for unknown keys so a typo fails loudly instead of being dropped."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    rows = data.get("items") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a mapping with an 'items' list")
    for row in rows:
        unknown = set(row) - ITEM_FIELDS - {"materials"}
        unknown |= {key for m in row.get("materials") or [] for key in set(m) - MATERIAL_FIELDS}
        if unknown:
            raise ValueError(f"{path}: item {row.get('code')!r} has unknown keys {sorted(unknown)}")
        for m in row.get("materials") or []:
            normalise(m.get("applies_when"))  # a malformed rule fails loudly here (RuleError)
    return rows


def material_rules(path: str | Path = SEED_PATH) -> list[tuple[str, str, dict[str, Any]]]:
    """(item code, material name, rule) of every seeded material that has a rule."""
    return [(row["code"], _clean(m["name"]), rule) for row in load_items(path) for m in row.get("materials") or []
            if (rule := normalise(m.get("applies_when"))) is not None]


def fill_material_rules(path: str | Path = SEED_PATH) -> int:
    """The seed's rules for materials that exist (by item and name) and have none yet; returns how many were set.
    A rule policy staff set or changed is kept."""
    filled = 0
    for code, name, rule in material_rules(path):
        for material in db.session.query(ItemMaterial).filter_by(item_code=code, name=name):
            if material.applies_when is None:
                material.applies_when = rule
                filled += 1
    db.session.flush()
    return filled


def seed_items(path: str | Path = SEED_PATH) -> int:
    """Insert the missing items with their materials, and the rules of existing materials that have none;
    returns how many items were added."""
    added = 0
    for index, row in enumerate(load_items(path), start=1):
        if db.session.get(ApprovalItem, row["code"]) is not None:
            continue  # its materials' missing rules are filled below
        values = {key: _clean(value) for key, value in row.items() if key != "materials"}
        item = ApprovalItem(**{"active": True, **values}, sort=index * 10)
        item.materials = [
            ItemMaterial(**{"required": True, "pdf_only": True, "template": "", "condition": "", "local_basis": "",
                            **_material(m)},
                         sort=number * 10)
            for number, m in enumerate(row.get("materials") or [], start=1)]
        db.session.add(item)
        added += 1
    db.session.flush()
    fill_material_rules(path)
    return added
