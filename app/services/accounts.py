from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHash, VerifyMismatchError
from sqlalchemy import select, update

from engine import clock

from ..extensions import db
from ..models import User
from . import ServiceError, use_case

_hasher = PasswordHasher()
# Compared against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@use_case
def authenticate(username: str, password: str) -> User:
    user = db.session.scalars(select(User).where(User.username == username.strip())).unique().first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerifyMismatchError, InvalidHash):
        user = None
    if user is None or not user.active:
        raise ServiceError("用户名或密码错误", 401)
    user.last_login_at = clock.utcnow_naive()
    return user


@use_case
def end_sessions(user: User) -> None:
    """退出: every session of the user ends (see User.session_generation). One UPDATE, so two logouts at once both count."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
