"""Reference tables policy staff edit: calendar, project types, industries, capital ratios, policy rules."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class CalendarDay(db.Model):
    """An exception to Monday–Friday: a weekday holiday (False) or a make-up workday (True)."""

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(50), default="")
    source: Mapped[str] = mapped_column(String(200), default="")


class CalendarYear(db.Model):
    """A year whose State Council holiday schedule is loaded; other years count Monday–Friday."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200), default="")


class ProjectType(db.Model):
    __tablename__ = "project_type"
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class CapitalRatio(db.Model):
    __tablename__ = "capital_ratio"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    min_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    source: Mapped[str] = mapped_column(String(200))


class Industry(db.Model):
    """GB/T 4754-2017 class (subset seeded; policy staff extend it)."""

    __tablename__ = "industry"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    capital_category: Mapped[str] = mapped_column(String(40), default="other")


class CatalogueEntry(db.Model):
    """产业结构调整指导目录 entry."""

    __tablename__ = "catalogue_entry"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(4))  # 鼓励|限制|淘汰
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(200))


class PolicyRuleRow(db.Model):
    __tablename__ = "policy_rule"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    industry_prefixes: Mapped[list] = mapped_column(JSON, default=list)
    catalogue_codes: Mapped[list] = mapped_column(JSON, default=list)
    natures: Mapped[list] = mapped_column(JSON, default=list)
    region_prefixes: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
