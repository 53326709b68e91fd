"""The stages of a 审批类 project (立项 → 可研 → 初步设计) and of 报建, as the rules name them (domain.md §7–9)."""
from __future__ import annotations

APPROVAL_STAGES: tuple[tuple[str, str], ...] = (("立项", "proposal"), ("可研", "feasibility"),
                                                ("初步设计", "preliminary_design"))
AUTHORISATION_ITEM = "authorisation"  # 核准: the one main item of a 核准类 project
# The items that decide a stage (or the 核准): never chosen in 报建.
MAIN_ITEMS = frozenset({code for _, code in APPROVAL_STAGES} | {AUTHORISATION_ITEM})
BUILD_STAGE = "报建"
