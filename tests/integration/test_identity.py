"""app/services/identity.py: the checks every account use case shares (issue 13)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import SmsCode, SmsMessage
from app.services import ServiceError, identity, use_case
from engine import clock
from tests.conftest import at

PHONE = "13912345678"


@pytest.fixture
def codes(ctx):
    yield
    db.session.rollback()
    db.session.execute(delete(SmsCode).where(SmsCode.phone == PHONE))
    db.session.execute(delete(SmsMessage).where(SmsMessage.phone == PHONE))
    db.session.commit()


@pytest.mark.parametrize("password, words", [
    ("Ab1!", "8–64位"), ("abcdefgh1", "至少三类"), ("Zhang2026!x", None), ("Qiye_Demo1", "用户名"),
    ("Aa!13912345678", "手机号"), ("x" * 65 + "A1", "8–64位"),
])
def test_password_rules(password, words):
    if words is None:
        assert identity.check_password(password, username="qiye", phone=PHONE) == password
        return
    with pytest.raises(ServiceError) as refused:
        identity.check_password(password, username="qiye_demo", phone=PHONE)
    assert refused.value.status == 422 and words in refused.value.errors["password"]


def test_user_names(ctx):
    assert identity.check_username(" new_user1 ") == "new_user1"
    for name, words in (("QIYE", "已被使用"), ("qiye", "已被使用"), ("1abc", "以字母开头"), ("abc", "4–30位"),
                        ("a" * 31, "4–30位"), ("ab-cd", "下划线")):
        with pytest.raises(ServiceError) as refused:
            identity.check_username(name)
        assert refused.value.status == 422 and words in refused.value.errors["username"], name


def test_mobile_and_id_numbers():
    assert identity.check_mobile(" 139-1234-5678 ") == PHONE
    for bad in ("12345678901", "1391234567", "139123456789", "abc"):
        with pytest.raises(ServiceError) as refused:
            identity.check_mobile(bad)
        assert "手机号码" in refused.value.errors["phone"]
    assert identity.check_id_number("11010519491231002x") == ("11010519491231002X", date(1949, 12, 31))
    for bad in ("110105194912310021", "11010519491331002X", "1101051949123100"):
        with pytest.raises(ServiceError) as refused:
            identity.check_id_number(bad)
        assert "身份证号码" in refused.value.errors["id_number"]


def _sent_code() -> str:
    text = db.session.scalars(select(SmsMessage.text).where(SmsMessage.phone == PHONE)
                              .order_by(SmsMessage.id.desc())).first()
    return re.search(r"验证码为 (\d{6})", text)[1]


@pytest.mark.clock("2026-03-10 10:00")
def test_a_code_is_sent_checked_once_and_expires(codes):
    use_case(identity.send_code)(PHONE, "register", source=None)
    code = _sent_code()
    with pytest.raises(ServiceError) as again:
        use_case(identity.send_code)(PHONE, "register", source=None)
    assert again.value.status == 429 and "秒后" in again.value.message
    with pytest.raises(ServiceError):
        use_case(identity.check_code)(PHONE, "signin", code)  # another purpose's code
    use_case(identity.check_code)(PHONE, "register", code)
    with pytest.raises(ServiceError) as spent:
        use_case(identity.check_code)(PHONE, "register", code)
    assert "已失效" in spent.value.message

    at("2026-03-10 10:02")
    use_case(identity.send_code)(PHONE, "register", source=None)
    at("2026-03-10 10:08")  # five minutes later
    with pytest.raises(ServiceError) as expired:
        use_case(identity.check_code)(PHONE, "register", _sent_code())
    assert "已失效" in expired.value.message


@pytest.mark.clock("2026-03-10 10:00")
def test_wrong_answers_spend_the_code_even_though_each_use_case_rolls_back(codes):
    use_case(identity.send_code)(PHONE, "reset", source=None)
    code = _sent_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = []
    for _ in range(identity.CODE_TRIES):
        with pytest.raises(ServiceError) as refused:
            use_case(identity.check_code)(PHONE, "reset", wrong)
        messages.append(refused.value.message)
    assert messages[0] == "短信验证码不正确，还可尝试4次" and "过多" in messages[-1]
    with pytest.raises(ServiceError):
        use_case(identity.check_code)(PHONE, "reset", code)  # the right one no longer works


@pytest.mark.clock("2026-03-10 10:00")
def test_a_number_gets_at_most_ten_codes_a_day(codes):
    for n in range(identity.CODE_DAILY):
        clock.travel_to(at("2026-03-10 10:00") + timedelta(minutes=2 * n))
        use_case(identity.send_code)(PHONE, "signin", source=None)
    at("2026-03-10 12:00")
    with pytest.raises(ServiceError) as refused:
        use_case(identity.send_code)(PHONE, "signin", source=None)
    assert refused.value.status == 429 and "明天" in refused.value.message


def test_the_offline_verifier_says_what_it_did_not_check(ctx):
    result = identity.verifier().verify("张三", "11010519491231002X")
    assert result.level == "offline" and "尚未接入" in result.message
    with pytest.raises(ServiceError) as refused:
        identity.verifier().verify("张", "11010519491231002X")
    assert "真实姓名" in refused.value.errors["real_name"]
