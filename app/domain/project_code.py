"""Project codes (项目代码): parsing, validation and generation.

Current national format (GB/T 40058-2021, 发改投资〔2020〕1439号), 24 characters::

    YYMM-RRRRRR-DD-TT-NNNNNC

赋码年月, county-level region code, central guidance department code, project type, five random
digits and an ISO 7064 MOD 11,10 check digit over the 19 digits before it.

Legacy national format used 2015–2020, same length and layout but with a 4-digit year, an industry
code, type 01/02/03 and a 6-digit serial without check digit: ``YYYY-RRRRRR-II-TT-NNNNNN``. The two
cannot be confused: a legacy code starts with 2015..2020, which as YYMM would be month 15..20.

Region codes are not checked against a region table: real codes use development-zone codes that are
not in GB/T 2260. Project types live in a DB table, so any two digits are accepted here.
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from stdnum.iso7064 import mod_11_10

EXAMPLE_CODE = "2103-440704-04-02-314723"
EXPECTED_FORMAT = f"YYMM-行政区划代码-04-项目类型-5位随机码+校验位，共24位，例如 {EXAMPLE_CODE}"
LEGACY_FORMAT = "YYYY-行政区划代码-行业代码-项目类型(01/02/03)-6位序号"
LEGACY_YEARS = range(2015, 2021)
LEGACY_TYPES = ("01", "02", "03")  # 审批 / 核准 / 备案

_LAYOUT = re.compile(r"[0-9]{4}-[0-9]{6}-[0-9]{2}-[0-9]{2}-[0-9]{6}")
_DIGITS = re.compile(r"[0-9]+")
# Dashes people paste from Word, PDFs and IMEs; NFKC already maps the full-width hyphen-minus.
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣－"), "-")
_PROVINCIAL_DIGIT_COUNTS = (15, 22)


class InvalidProjectCode(ValueError):
    """A project code that cannot be accepted; ``str(exc)`` is the Chinese message for the user.

    ``reason`` is one of: empty, shape, month, check_digit, legacy_type, provincial.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class ProjectCode:
    code: str  # normalized, hyphenated, 24 characters
    legacy: bool
    year_month: str  # YYMM for current codes, YYYY for legacy ones
    region: str
    dept_code: str  # legacy codes: the 2-digit industry code that sits in this position
    type_code: str
    serial: str  # the whole last segment: 5 random digits + check digit, or the legacy 6-digit serial

    @property
    def check_digit(self) -> str | None:
        return None if self.legacy else self.serial[-1]

    def __str__(self) -> str:
        return self.code


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "".join(text.split()).upper()


def _provincial_error() -> InvalidProjectCode:
    return InvalidProjectCode(
        "该代码不是全国投资项目在线审批监管平台的项目代码（疑似地方旧编码），"
        f"请填写全国统一项目代码，格式为 {EXPECTED_FORMAT}；"
        f"2015年至2020年赋码的项目也可填写旧版全国项目代码 {LEGACY_FORMAT}",
        "provincial",
    )


def _shape_error() -> InvalidProjectCode:
    return InvalidProjectCode(f"项目代码格式不正确，应为 {EXPECTED_FORMAT}", "shape")


def parse_project_code(text: str | None) -> ProjectCode:
    """Validate and normalize a project code typed or pasted by a user.

    Accepts the hyphenated 24-character form (full-width characters, other dashes and spaces are
    tolerated) and the 20 bare digits, which are re-hyphenated. Raises InvalidProjectCode.
    """
    s = _normalize(text or "")
    if not s:
        raise InvalidProjectCode("请填写项目代码", "empty")
    if any(ch.isalpha() for ch in s):
        raise _provincial_error()
    if not all(ch == "-" or "0" <= ch <= "9" for ch in s):
        raise _shape_error()

    digits = s.replace("-", "")
    if "-" not in s and len(digits) == 20:
        s = f"{digits[:4]}-{digits[4:10]}-{digits[10:12]}-{digits[12:14]}-{digits[14:]}"
    if not _LAYOUT.fullmatch(s):
        if len(digits) in _PROVINCIAL_DIGIT_COUNTS:
            raise _provincial_error()
        raise _shape_error()

    head, region, dept, type_code, serial = s.split("-")
    if int(head) in LEGACY_YEARS:
        if type_code not in LEGACY_TYPES:
            raise InvalidProjectCode(
                f"旧版项目代码的项目类型应为01（审批）、02（核准）或03（备案），旧版格式为 {LEGACY_FORMAT}",
                "legacy_type",
            )
        return ProjectCode(s, True, head, region, dept, type_code, serial)

    if not 1 <= int(head[2:]) <= 12:
        raise InvalidProjectCode(
            f"项目代码前4位应为赋码年月（YYMM），月份应为01至12；格式为 {EXPECTED_FORMAT}", "month"
        )
    if not mod_11_10.is_valid(digits):
        raise InvalidProjectCode("项目代码校验位不正确，请核对后重新输入", "check_digit")
    return ProjectCode(s, False, head, region, dept, type_code, serial)


def generate_project_code(
    when: date,
    region: str,
    type_code: str,
    rand: random.Random | None = None,
    dept_code: str = "04",
) -> str:
    """A new current-format code for ``when`` (赋码 date). Uniqueness is the caller's job (DB index)."""
    if not _is_digits(region, 6):
        raise ValueError("行政区划代码应为6位数字")
    if not _is_digits(type_code, 2):
        raise ValueError("项目类型代码应为2位数字")
    if not _is_digits(dept_code, 2):
        raise ValueError("中央业务指导部门代码应为2位数字")
    if not 2000 <= when.year <= 2099:
        raise ValueError("赋码年份应在2000年至2099年之间")
    number = rand.randrange(100_000) if rand is not None else secrets.randbelow(100_000)
    body = f"{when.year % 100:02d}{when.month:02d}{region}{dept_code}{type_code}{number:05d}"
    check = mod_11_10.calc_check_digit(body)
    return f"{body[:4]}-{body[4:10]}-{body[10:12]}-{body[12:14]}-{body[14:]}{check}"


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and bool(_DIGITS.fullmatch(value))
