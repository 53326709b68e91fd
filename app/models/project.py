from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from engine import clock

from ..domain.addresses import full_location
from ..extensions import db
from .org import Enterprise, Region


def region_names(region: Region) -> list[str]:
    """The names from the province down to `region` (「广东省」「江门市」「江海区」), for the address rule."""
    names, session, seen = [region.name], object_session(region), {region.code}
    parent_code = region.parent_code
    while session is not None and parent_code and parent_code not in seen:  # identity-map hits after the first
        parent = session.get(Region, parent_code)
        if parent is None:
            break
        names.insert(0, parent.name)
        seen.add(parent.code)
        parent_code = parent.parent_code
    return names


class Project(db.Model):
    """One project, one code for life (national rules art. 10)."""

    __tablename__ = "project"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    legacy_code: Mapped[str | None] = mapped_column(String(30), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # filing|approval|authorisation
    type_code: Mapped[str] = mapped_column(ForeignKey("project_type.code"))
    name: Mapped[str] = mapped_column(String(200))
    industry_code: Mapped[str] = mapped_column(ForeignKey("industry.code"))
    catalogue_code: Mapped[str | None] = mapped_column(ForeignKey("catalogue_entry.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))
    address: Mapped[str] = mapped_column(String(300))
    nature: Mapped[str] = mapped_column(String(10))
    scale_content: Mapped[str] = mapped_column(Text)
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    total_investment: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    status: Mapped[str] = mapped_column(String(20), default="coded")  # coded|filing|filed
    # A change that needs re-approval gives a new code; the new project points at the one it replaces.
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=clock.utcnow_naive)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    @property
    def location(self) -> str:
        """建设地点: the region once, then the 详细地址 without the region names typed again (domain.addresses)."""
        return full_location(self.region.full_name, region_names(self.region), self.address)
