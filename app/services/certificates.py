from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from ..documents.certificate import FilingCertificateData, format_cn_date, render_filing_certificate
from ..domain.addresses import full_location
from ..extensions import db
from ..models import PERMIT_STATUS, FilingCertificate, Permit, Project, User
from ..models.project import region_names
from . import calendar, forbid, not_found
from .access import require_project

# One set of status words for the certificate and its permit (a replaced certificate had none here).
STATUS = PERMIT_STATUS


def effective_status(certificate: FilingCertificate) -> str:
    if certificate.status == "valid" and certificate.started_on is None and calendar.today() > certificate.valid_until:
        return "lapsed"
    return certificate.status


def verify(number: str) -> FilingCertificate | None:
    return db.session.scalar(select(FilingCertificate).where(FilingCertificate.number == number.strip()))


def successor(certificate: FilingCertificate) -> Permit | None:
    """After 重新赋码, the permit of the new project code that took this certificate's place."""
    if certificate.status != "replaced":
        return None
    return db.session.scalar(select(Permit).join(Project, Project.id == Permit.project_id)
                             .where(Project.predecessor_id == certificate.project_id)
                             .order_by(Permit.id.desc()).limit(1))


def verify_url(certificate: FilingCertificate) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/verify/{certificate.number}"


def own_certificate(user: User, certificate_id: int) -> FilingCertificate:
    certificate = db.session.get(FilingCertificate, certificate_id)
    if certificate is None:
        raise not_found("备案证不存在")
    if certificate.enterprise_id != user.enterprise_id and certificate.department_id != user.department_id:
        raise forbid("无权下载该备案证")
    require_project(user, certificate.project_id, "备案证")  # a 经办人 with 指定项目 (issue 13)
    return certificate


def printed_location(certificate: FilingCertificate) -> str:
    """The snapshot's 建设地点 with the region named once: certificates issued before the address rule kept
    「广东省江门市江海区江门市江海区…」 as typed (issue 14 §4, domain.addresses)."""
    location, region = certificate.snapshot["location"], certificate.project.region
    if not location.startswith(region.full_name):
        return location
    return full_location(region.full_name, region_names(region), location[len(region.full_name):])


def pdf(certificate: FilingCertificate) -> bytes:
    s = certificate.snapshot
    note = (f"项目开工前有效期至 {format_cn_date(certificate.valid_until)}；"
            "项目开工并报送开工时间后长期有效")
    data = FilingCertificateData(
        number=certificate.number, project_code=s["project_code"], project_name=s["project_name"],
        enterprise_name=s["enterprise_name"], enterprise_uscc=s["enterprise_uscc"],
        authority_name=s["authority_name"], location=printed_location(certificate), nature=s.get("nature", ""),
        scale_content=s.get("scale_content", ""), total_investment=Decimal(s["total_investment"]),
        fixed_assets=Decimal(s["fixed_assets"]), capital=Decimal(s["capital"]),
        planned_start=date.fromisoformat(s["planned_start"]), planned_end=date.fromisoformat(s["planned_end"]),
        issued_on=certificate.issued_on, valid_until=certificate.valid_until, status_note=note)
    title = f"{current_app.config['PROVINCE_TITLE']}企业投资项目备案证"
    return render_filing_certificate(data, verify_url(certificate), title=title)
