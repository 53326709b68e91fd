"""Use cases, one transaction each; the only layer that calls engine/ and the database together."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from engine.runtime import EngineError

from ..extensions import db
from ..formkit import FormInvalid

P = ParamSpec("P")
R = TypeVar("R")


class ServiceError(Exception):
    """A refusal the user sees: Chinese message, HTTP status, optional per-field errors."""

    def __init__(self, message: str, status: int = 400, errors: Mapping[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = dict(errors or {})


def use_case(fn: Callable[P, R]) -> Callable[P, R]:
    """Commit on success; on any error roll back everything, so nothing is half-written."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except FormInvalid as exc:
            db.session.rollback()
            raise ServiceError("表单有误，请按提示修改后重新提交", 422, exc.errors) from None
        except EngineError as exc:
            db.session.rollback()
            raise ServiceError(str(exc), exc.status) from None
        except BaseException:
            db.session.rollback()
            raise

    return wrapper


def next_serial(session: Any, column: Any, prefix: str) -> int:
    """The next serial under a number prefix for a numbered column, from its row in number_counter.

    One atomic UPDATE … RETURNING: its row lock is held until the transaction ends, so concurrent
    submissions get distinct, consecutive serials (the second waits for the first) and a rollback hands
    the serial back: no gaps in printed numbers. A prefix seen for the first time starts after the
    highest serial already stored under it (numbers made before the counter existed)."""
    import re

    from sqlalchemy import select, update

    from ..models import NumberCounter

    scope = f"{column.class_.__tablename__}.{column.key}"
    counter = NumberCounter.__table__.c
    bump = (update(NumberCounter.__table__).where(counter.scope == scope, counter.prefix == prefix)
            .values(last_value=counter.last_value + 1).returning(counter.last_value))
    value = session.scalar(bump)
    if value is not None:
        return value
    stored = session.scalars(select(column).where(column.startswith(prefix, autoescape=True)))
    highest = max((int(m.group()) for n in stored if (m := re.match(r"\d+", n[len(prefix):]))), default=0)
    # Two first uses at once: the second's INSERT meets the first's row, waits for it and increments it.
    first = (_insert(session)(NumberCounter.__table__).values(scope=scope, prefix=prefix, last_value=highest + 1)
             .on_conflict_do_update(index_elements=["scope", "prefix"], set_={"last_value": counter.last_value + 1})
             .returning(counter.last_value))
    return session.scalar(first)


def lock_project(project_id: int) -> None:
    """Hold the project's row lock to the end of the transaction (PostgreSQL; SQLite transactions are
    serialised by BEGIN IMMEDIATE): a "one open application per project" check after it cannot race."""
    from sqlalchemy import select

    from ..models import Project

    db.session.execute(select(Project.id).where(Project.id == project_id).with_for_update())


def _insert(session: Any) -> Any:
    """The dialect's INSERT with ON CONFLICT (PostgreSQL and SQLite ≥ 3.35 both have it)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def use_form_token(session: Any, user_id: int, purpose: str, token: str | None) -> None:
    """Record a one-time form token; a token used before answers 409 naming what its first use made.

    The INSERT … ON CONFLICT DO NOTHING waits for a concurrent first use of the same token to commit
    (then inserts nothing: the second is refused) or roll back (then this one goes on). No token (an
    older page, a script) means no protection, nothing more."""
    from sqlalchemy import select

    from ..models import FormToken

    if not token:
        return
    if len(token) > 64:
        raise ServiceError("表单已失效，请刷新页面后重新填写", 400)
    stored = session.scalar(_insert(session)(FormToken.__table__).values(
        token=token, user_id=user_id, purpose=purpose)
        .on_conflict_do_nothing(index_elements=["token"]).returning(FormToken.__table__.c.token))
    if stored is None:
        earlier = session.scalar(select(FormToken.result).where(FormToken.token == token))
        raise ServiceError("该申请已提交，请勿重复提交" + (f"（{earlier}）" if earlier else ""), 409)


def form_token_result(session: Any, token: str | None, result: str) -> None:
    """What the token's first use produced (shown to a repeated submission)."""
    from sqlalchemy import update

    from ..models import FormToken

    if token:
        session.execute(update(FormToken).where(FormToken.token == token).values(result=result[:100]))


def forbid(message: str = "无权访问该记录") -> ServiceError:
    return ServiceError(message, 403)


def not_found(message: str = "记录不存在") -> ServiceError:
    return ServiceError(message, 404)


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values as JSON-safe strings (Decimal and date kept exact; 300.0000 shown as 300)."""
    def one(v: Any) -> Any:
        if isinstance(v, Decimal):
            return format(v.normalize(), "f")
        return v if isinstance(v, (str, int, bool)) or v is None else str(v)

    return {k: one(v) for k, v in values.items()}
