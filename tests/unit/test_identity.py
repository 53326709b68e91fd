import pytest

from app.domain.identity import check_resident_id, check_uscc


def test_uscc_valid_and_normalized() -> None:
    assert check_uscc("91430300MA4RTM5T6H") == "91430300MA4RTM5T6H"
    assert check_uscc(" 91430300ma4rtm5t6h ") == "91430300MA4RTM5T6H"
    assert check_uscc("９１４３０３００ＭＡ４ＲＴＭ５Ｔ６Ｈ") == "91430300MA4RTM5T6H"


@pytest.mark.parametrize("text", ["91430300MA4RTM5T6J", "91430300MA4RTN5T6H", "91430300MA4RTM5T6", "", None])
def test_uscc_invalid(text: str | None) -> None:
    with pytest.raises(ValueError, match="^统一社会信用代码校验不通过，请核对18位代码$"):
        check_uscc(text)


def test_resident_id_valid() -> None:
    assert check_resident_id("430302199911093456") == "430302199911093456"
    assert check_resident_id(" 430302 19991109 3456 ") == "430302199911093456"


@pytest.mark.parametrize(
    "text", ["430302199911093457", "430302199911093465", "430302199913093456", "43030219991109345", None]
)
def test_resident_id_invalid(text: str | None) -> None:
    with pytest.raises(ValueError, match="^居民身份证号码校验不通过，请核对18位号码$"):
        check_resident_id(text)
