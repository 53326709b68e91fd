"""Texts the platform composes itself (notification titles, SMS, notice details) quote what users typed
(a project name, an opinion) and can outgrow their column: they are shortened with「…」, while what a user
types is checked against its column by the form and refused (422) when too long, never cut."""
from __future__ import annotations

from typing import Any

ELLIPSIS = "…"


def clip(text: str | None, length: int) -> str | None:
    if text is None or len(text) <= length:
        return text
    return text[: length - len(ELLIPSIS)] + ELLIPSIS


def clip_to_column(model: Any, key: str, value: str | None) -> str | None:
    """For @validates: `value` shortened to the length of the model's column `key`."""
    return clip(value, model.__table__.c[key].type.length)
