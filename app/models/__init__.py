"""Application tables (engine tables live in engine/tables.py on the same metadata)."""
from engine.tables import HumanTask, Instance, PendingTimer, ProcessVersion, TrailEntry

from .accounts import (
    ACCOUNT_REQUEST_KINDS,
    ACCOUNT_REQUEST_STATUS,
    AUTH_SCOPES,
    SIGNIN_RESULTS,
    SMS_PURPOSES,
    AccountRequest,
    AgentAuthorization,
    SigninLog,
    SmsCode,
)
from .approval import (
    CASE_STATUS,
    DECLARATION_STATUS,
    KIND_LABELS,
    SKIPPED_CASES,
    ApprovalItem,
    Attachment,
    Declaration,
    ItemCase,
    ItemMaterial,
    Upload,
    UserItemRole,
)
from .catalogue import (
    CalendarDay,
    CalendarYear,
    CapitalRatio,
    CatalogueEntry,
    Industry,
    PolicyRuleRow,
    ProjectType,
)
from .counters import FormToken, NumberCounter
from .filing import FILING_STATUS, FilingApplication, FilingCertificate, Notification
from .lifecycle import (
    NOTICE_KINDS,
    PERMIT_KINDS,
    PERMIT_STATUS,
    REQUEST_KINDS,
    REQUEST_STATUS,
    Permit,
    PostRequest,
    ProgressYear,
    ProjectProgress,
    PublicNotice,
    SmsMessage,
)
from .org import REALNAME_LEVELS, USER_KINDS, Department, Enterprise, Region, Role, User, UserRole
from .project import Project
from .studio import STUDIO_ACTIONS, StudioChange

__all__ = [
    "CASE_STATUS", "DECLARATION_STATUS", "KIND_LABELS", "SKIPPED_CASES", "ApprovalItem", "Attachment", "Declaration",
    "ItemCase", "ItemMaterial", "Upload", "UserItemRole",
    "FILING_STATUS", "NOTICE_KINDS", "PERMIT_KINDS", "PERMIT_STATUS", "REQUEST_KINDS", "REQUEST_STATUS", "Permit",
    "PostRequest", "ProgressYear", "ProjectProgress", "PublicNotice", "SmsMessage",
    "CalendarDay", "CalendarYear", "CapitalRatio", "CatalogueEntry", "Department", "Enterprise",
    "FilingApplication", "FilingCertificate", "HumanTask", "Industry", "Instance", "Notification",
    "PendingTimer", "PolicyRuleRow", "ProcessVersion", "Project", "ProjectType", "Region", "Role",
    "TrailEntry", "User", "UserRole", "FormToken", "NumberCounter", "STUDIO_ACTIONS", "StudioChange",
    "ACCOUNT_REQUEST_KINDS", "ACCOUNT_REQUEST_STATUS", "AUTH_SCOPES", "SIGNIN_RESULTS", "SMS_PURPOSES",
    "AccountRequest", "AgentAuthorization", "SigninLog", "SmsCode", "REALNAME_LEVELS", "USER_KINDS",
]
