"""Seed of the item catalogue (事项目录) from items.yaml: inserts what is missing, never overwrites.

Policy staff own the live catalogue (/admin/items): an item that exists is left exactly as they edited it,
materials included (a material they deleted is not brought back).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..extensions import db
from ..models import ApprovalItem, ItemMaterial

SEED_PATH = Path(__file__).with_name("items.yaml")
ITEM_FIELDS = {"code", "name", "parent_code", "kinds", "stage", "dept_type", "level", "statutory_limit", "promised_limit",
               "unit", "max_extension", "has_intermediary", "has_expert_review", "legal_basis", "limit_source", "active"}
MATERIAL_FIELDS = {"name", "required", "template", "pdf_only", "condition", "local_basis"}
# A folded YAML line break becomes a space, which Chinese text does not use: drop whitespace next to CJK text.
_CJK_GAP = re.compile(r"\s+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])\s+")


def _clean(value: Any) -> Any:
    return _CJK_GAP.sub("", value.strip()) if isinstance(value, str) else value


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
    return rows


def seed_items(path: str | Path = SEED_PATH) -> int:
    """Insert the missing items with their materials; returns how many were added."""
    added = 0
    for index, row in enumerate(load_items(path), start=1):
        if db.session.get(ApprovalItem, row["code"]) is not None:
            continue
        values = {key: _clean(value) for key, value in row.items() if key != "materials"}
        item = ApprovalItem(**{"active": True, **values}, sort=index * 10)
        item.materials = [
            ItemMaterial(**{"required": True, "pdf_only": True, "template": "", "condition": "", "local_basis": "",
                            **{key: _clean(value) for key, value in m.items()}},
                         sort=number * 10)
            for number, m in enumerate(row.get("materials") or [], start=1)]
        db.session.add(item)
        added += 1
    db.session.flush()
    return added
