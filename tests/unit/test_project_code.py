import random
from datetime import date

import pytest

from app.domain.project_code import (
    InvalidProjectCode,
    ProjectCode,
    generate_project_code,
    parse_project_code,
)

REAL_CODES = [
    "2110-433123-04-01-438798",
    "2110-433123-04-02-577264",
    "2201-431024-04-05-824811",
    "2103-440704-04-02-314723",
    "2108-441900-04-02-904805",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code: str) -> None:
    parsed = parse_project_code(code)
    assert parsed.code == code
    assert not parsed.legacy
    assert parsed.dept_code == "04"
    assert parsed.check_digit == code[-1]


def test_fields_of_a_real_code() -> None:
    assert parse_project_code("2103-440704-04-02-314723") == ProjectCode(
        code="2103-440704-04-02-314723",
        legacy=False,
        year_month="2103",
        region="440704",
        dept_code="04",
        type_code="02",
        serial="314723",
    )


def test_round_trip_of_generated_codes() -> None:
    rand = random.Random(20240601)
    for i in range(200):
        when = date(2021 + i % 6, 1 + i % 12, 1 + i % 28)
        region = f"{rand.randrange(110000, 660000):06d}"
        type_code = f"{rand.randrange(1, 6):02d}"
        code = generate_project_code(when, region, type_code, rand=rand)
        assert len(code) == 24
        parsed = parse_project_code(code)
        assert parsed.code == code
        assert parsed.year_month == when.strftime("%y%m")
        assert (parsed.region, parsed.type_code, parsed.dept_code) == (region, type_code, "04")


def test_generate_is_reproducible_with_a_seeded_random_and_random_without() -> None:
    a = generate_project_code(date(2025, 3, 1), "440704", "02", rand=random.Random(7))
    b = generate_project_code(date(2025, 3, 1), "440704", "02", rand=random.Random(7))
    assert a == b and a.startswith("2503-440704-04-02-")
    unseeded = {generate_project_code(date(2025, 3, 1), "440704", "02") for _ in range(20)}
    assert len(unseeded) > 1
    assert all(parse_project_code(c).code == c for c in unseeded)


@pytest.mark.parametrize(
    ("region", "type_code", "dept_code"),
    [("44070", "02", "04"), ("44070A", "02", "04"), ("440704", "2", "04"), ("440704", "02", "4")],
)
def test_generate_refuses_bad_parts(region: str, type_code: str, dept_code: str) -> None:
    with pytest.raises(ValueError):
        generate_project_code(date(2025, 3, 1), region, type_code, dept_code=dept_code)


def test_wrong_check_digit() -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code("2103-440704-04-02-314724")
    assert exc.value.reason == "check_digit"
    assert str(exc.value) == "项目代码校验位不正确，请核对后重新输入"


def test_transposed_digits_are_caught() -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code("2103-447004-04-02-314723")
    assert exc.value.reason == "check_digit"


def test_bare_digits_full_width_and_spaces_are_normalized() -> None:
    assert parse_project_code("21034407040402314723").code == "2103-440704-04-02-314723"
    assert parse_project_code(" ２１０３－４４０７０４－04－02－314723 ").code == "2103-440704-04-02-314723"
    assert parse_project_code("2103 — 440704 — 04 — 02 — 314723").code == "2103-440704-04-02-314723"


def test_legacy_code_accepted_by_shape() -> None:
    parsed = parse_project_code("2018-440305-39-03-012345")
    assert parsed.legacy
    assert parsed.year_month == "2018"
    assert parsed.type_code == "03"
    assert parsed.check_digit is None
    assert parse_project_code("20184403053903012345").code == "2018-440305-39-03-012345"


def test_legacy_code_with_unknown_type_is_refused() -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code("2018-440305-39-05-012345")
    assert exc.value.reason == "legacy_type"
    assert "01（审批）" in str(exc.value)


@pytest.mark.parametrize(
    "text",
    [
        "粤经信技改备字〔2018〕0001号",
        "GD2018-440305-000123",
        "440305201800123",  # 15 digits
        "4403052018010100012345",  # 22 digits
        "440305-2018-0101-00012345",  # 22 digits with hyphens
    ],
)
def test_provincial_schemes_are_refused_with_the_expected_format(text: str) -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code(text)
    assert exc.value.reason == "provincial"
    assert "YYMM-行政区划代码-04-项目类型-5位随机码+校验位，共24位，例如 2103-440704-04-02-314723" in str(
        exc.value
    )


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty(text: str | None) -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code(text)
    assert exc.value.reason == "empty"
    assert "项目代码" in str(exc.value)


@pytest.mark.parametrize(
    "text", ["2103-440704-04-02-31472", "2103-4407040-4-02-314723", "2103/440704/04/02/314723", "123"]
)
def test_wrong_shape(text: str) -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code(text)
    assert exc.value.reason == "shape"
    assert str(exc.value) == (
        "项目代码格式不正确，应为 YYMM-行政区划代码-04-项目类型-5位随机码+校验位，共24位，"
        "例如 2103-440704-04-02-314723"
    )


def test_month_out_of_range() -> None:
    with pytest.raises(InvalidProjectCode) as exc:
        parse_project_code("2113-440704-04-02-314723")
    assert exc.value.reason == "month"


def test_invalid_code_is_a_value_error() -> None:
    assert issubclass(InvalidProjectCode, ValueError)
