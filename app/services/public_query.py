"""Public look-up of a project's progress by its code (national rules art. 18; domain.md §11)."""
from __future__ import annotations

from sqlalchemy import select

from ..domain.project_code import InvalidProjectCode
from ..extensions import db
from ..models import Declaration, ItemCase, Project
from .platform import find_project


def project_progress(code: str) -> tuple[Project | None, list[Declaration], dict[int, list[ItemCase]]]:
    try:
        project = find_project(code)
    except InvalidProjectCode:
        return None, [], {}
    declarations = list(db.session.scalars(select(Declaration).where(Declaration.project_id == project.id,
                                                                     Declaration.submitted_at.is_not(None))
                                           .order_by(Declaration.id)))
    cases: dict[int, list[ItemCase]] = {d.id: [] for d in declarations}
    if declarations:
        for case in db.session.scalars(select(ItemCase).where(ItemCase.declaration_id.in_(list(cases)))
                                       .order_by(ItemCase.id)):
            cases[case.declaration_id].append(case)
    return project, declarations, cases
