"""The 办结 form's starting values for one item case: the usual title and the department's next 文号
(domain.decision_draft), from the department's earlier decisions."""
from __future__ import annotations

from sqlalchemy import select

from ..domain import decision_draft
from ..extensions import db
from ..models import ItemCase
from .calendar import today

HISTORY = 2000  # the department's latest decisions looked at: a year of a busy department's numbers


def decision_defaults(case: ItemCase) -> dict[str, str]:
    values = {"doc_title": decision_draft.title(case.item_code, case.item_name, case.declaration.project.name,
                                                case.declaration.answers)}
    if case.department_id is None:
        return values
    rows = db.session.execute(
        select(ItemCase.item_code, ItemCase.decision)
        .where(ItemCase.department_id == case.department_id, ItemCase.decided_at.is_not(None),
               ItemCase.id != case.id)
        .order_by(ItemCase.decided_at.desc(), ItemCase.id.desc()).limit(HISTORY)).all()
    rows.reverse()
    numbers = [(code, str((decision or {}).get("doc_number") or "")) for code, decision in rows]
    number = decision_draft.next_number([n for code, n in numbers if code == case.item_code],
                                        [n for _, n in numbers], today().year)
    if number:
        values["doc_number"] = number
    return values
