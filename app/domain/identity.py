"""Identity numbers of applicants: 统一社会信用代码 (GB 32100) and 居民身份证号码 (GB 11643)."""

from __future__ import annotations

import unicodedata

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

USCC_MESSAGE = "统一社会信用代码校验不通过，请核对18位代码"
RESIDENT_ID_MESSAGE = "居民身份证号码校验不通过，请核对18位号码"


def _prepare(text: str | None) -> str:
    # Full-width characters come in from Chinese IMEs, spaces from copying printed numbers in groups.
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def check_uscc(text: str | None) -> str:
    """Normalized (upper-case, no spaces) 18-character 统一社会信用代码; ValueError if invalid."""
    try:
        return uscc.validate(_prepare(text))
    except ValidationError as exc:
        raise ValueError(USCC_MESSAGE) from exc


def check_resident_id(text: str | None) -> str:
    """Normalized 18-digit 居民身份证号码 (check digit X upper-case); ValueError if invalid.

    stdnum also checks that the embedded birth date exists.
    """
    try:
        return ric.validate(_prepare(text))
    except ValidationError as exc:
        raise ValueError(RESIDENT_ID_MESSAGE) from exc
