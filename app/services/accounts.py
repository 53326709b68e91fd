from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHash, VerifyMismatchError
from sqlalchemy import update

from ..extensions import db
from ..models import User
from . import use_case

_hasher = PasswordHasher()
# Compared against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """The password matches the account's; a missing account is checked against a dummy hash, so the time taken
    does not reveal which usernames exist (app/services/signin.py does the sign-in itself)."""
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password or "")
    except (VerifyMismatchError, InvalidHash):
        return False
    return user is not None


@use_case
def end_sessions(user: User) -> None:
    """退出: every session of the user ends (see User.session_generation). One UPDATE, so two logouts at once both count."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
