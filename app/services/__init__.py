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
    """The next serial under a number prefix (unique columns refuse a duplicate)."""
    from sqlalchemy import func, select

    return (session.scalar(select(func.count()).where(column.like(f"{prefix}%"))) or 0) + 1


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
