"""Idempotent reference and demo data: running it twice changes nothing."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from engine import clock

from ..domain.filing_rules import CAPITAL_RATIO_SEED
from ..domain.screening import load_policy_seed
from ..domain.workdays import chinese_calendar_rows
from ..extensions import db
from ..models import (
    AgentAuthorization,
    ApprovalItem,
    CalendarDay,
    CalendarYear,
    CapitalRatio,
    CatalogueEntry,
    Department,
    Enterprise,
    Industry,
    PolicyRuleRow,
    ProjectType,
    Region,
    Role,
    User,
    UserItemRole,
    UserRole,
)
from .items import seed_items

CALENDAR_SOURCE = "国务院办公厅关于部分节假日安排的通知（系统内置）"

ROLES = [("applicant", "企业申报人"), ("acceptor", "受理人员"), ("handler", "办理人员"),
         ("policy", "综合管理（政策）人员"), ("supervisor", "电子监察人员"), ("admin", "系统管理员"),
         ("province_admin", "省级管理员"), ("city_admin", "市州管理员"),  # review accounts in scope (002 §一)
         ("dept_head", "部门负责人")]  # sees the department's open tasks and 转办s a claimed one (issue 13)
# Project types are data, not code (domain.md §12): real codes show 01, 02 and 05.
PROJECT_TYPES = [("01", "基本建设项目"), ("02", "技术改造项目"), ("03", "单纯购置项目"), ("04", "信息化项目"),
                 ("05", "其他项目")]
REGIONS = [
    ("440000", "广东省", "广东省", None, "province"),
    ("440700", "江门市", "广东省江门市", "440000", "city"),
    ("440703", "蓬江区", "广东省江门市蓬江区", "440700", "county"),
    ("440704", "江海区", "广东省江门市江海区", "440700", "county"),
    ("440705", "新会区", "广东省江门市新会区", "440700", "county"),
    # a second city: its administrator must not review 江门's accounts (002 一)
    ("440100", "广州市", "广东省广州市", "440000", "city"),
]
DEPARTMENTS = [
    ("江门市江海区发展和改革局", "发改", "county", "440704", True),
    ("江门市新会区发展和改革局", "发改", "county", "440705", True),
    ("江门市发展和改革局", "发改", "city", "440700", False),
    ("江门市自然资源局", "自然资源", "city", "440700", False),
    ("江门市生态环境局", "生态环境", "city", "440700", False),
    ("江门市水利局", "水利", "city", "440700", False),
    ("江门市住房和城乡建设局", "住建", "city", "440700", False),
    ("江门市林业局", "林业", "city", "440700", False),
    ("江门市文化广电旅游体育局", "文物", "city", "440700", False),
    ("江门市国家安全局", "国家安全", "city", "440700", False),
    # the provincial department whose administrators review provincial accounts and the city administrators
    ("广东省发展和改革委员会", "发改", "province", "440000", False),
    ("广州市发展和改革局", "发改", "city", "440100", False),
]
# Per-item permissions (domain.md §10): each reviewer's role applies to these items of their department.
DEMO_ITEM_ROLES = {
    "shouli": ["proposal", "feasibility", "preliminary_design"], "banli": ["proposal", "feasibility", "preliminary_design"],
    "xh_shouli": ["proposal", "feasibility", "preliminary_design"],
    "xh_banli": ["proposal", "feasibility", "preliminary_design"],
    "sfg_shouli": ["authorisation", "energy"], "sfg_banli": ["authorisation", "energy"],
    "zr_shouli": ["land_site", "land_use_planning", "works_planning"],
    "zr_banli": ["land_site", "land_use_planning", "works_planning"],
    "hb_shouli": ["eia"], "hb_banli": ["eia"],
    "sl_shouli": ["soil_water", "water_permit", "flood"], "sl_banli": ["soil_water", "water_permit", "flood"],
    "zj_shouli": ["construction_permit", "completion_filing"], "zj_banli": ["construction_permit", "completion_filing"],
}
DEMO_PASSWORD = "Demo@2026"
DEMO_USERS = [
    # username, display name, kind, enterprise uscc, department, roles
    ("qiye", "张经办（示范企业）", "enterprise", "91430300MA4RTM5T6H", None, ["applicant"]),
    ("qiye2", "李经办（另一企业）", "enterprise", "91440300MA5DC0G84E", None, ["applicant"]),
    ("shouli", "王受理（江海区发改局）", "staff", None, "江门市江海区发展和改革局", ["acceptor"]),
    ("banli", "陈办理（江海区发改局）", "staff", None, "江门市江海区发展和改革局", ["handler"]),
    ("xh_shouli", "赵受理（新会区发改局）", "staff", None, "江门市新会区发展和改革局", ["acceptor"]),
    ("xh_banli", "钱办理（新会区发改局）", "staff", None, "江门市新会区发展和改革局", ["handler"]),
    ("zhengce", "孙政策（市发改局）", "policy", None, "江门市发展和改革局", ["policy"]),
    ("jiancha", "周监察（市发改局）", "staff", None, "江门市发展和改革局", ["supervisor"]),
    ("sfg_shouli", "吴受理（市发改局）", "staff", None, "江门市发展和改革局", ["acceptor"]),
    ("sfg_banli", "郑办理（市发改局）", "staff", None, "江门市发展和改革局", ["handler"]),
    ("zr_shouli", "冯受理（市自然资源局）", "staff", None, "江门市自然资源局", ["acceptor"]),
    ("zr_banli", "陈办理（市自然资源局）", "staff", None, "江门市自然资源局", ["handler"]),
    ("hb_shouli", "褚受理（市生态环境局）", "staff", None, "江门市生态环境局", ["acceptor"]),
    ("hb_banli", "卫办理（市生态环境局）", "staff", None, "江门市生态环境局", ["handler"]),
    ("sl_shouli", "蒋受理（市水利局）", "staff", None, "江门市水利局", ["acceptor"]),
    ("sl_banli", "沈办理（市水利局）", "staff", None, "江门市水利局", ["handler"]),
    ("admin", "系统管理员", "admin", None, None, ["admin"]),
    # appended after admin so earlier users keep their demo phone numbers
    ("zj_shouli", "韩受理（市住建局）", "staff", None, "江门市住房和城乡建设局", ["acceptor"]),
    ("zj_banli", "杨办理（市住建局）", "staff", None, "江门市住房和城乡建设局", ["handler"]),
    # issue 13: a 经办人 authorised by 示范企业's legal person (see DEMO_AGENTS), and the account administrators
    ("jingban", "林经办", "individual", None, None, ["applicant"]),
    ("sheng_admin", "黄管理（省发改委·省级管理员）", "staff", None, "广东省发展和改革委员会", ["province_admin"]),
    ("jm_admin", "梁管理（江门市·市州管理员）", "staff", None, "江门市发展和改革局", ["city_admin"]),
    ("gz_admin", "何管理（广州市·市州管理员）", "staff", None, "广州市发展和改革局", ["city_admin"]),
    # a legacy department account from before real-person verification: sent to 实名实人核验 at sign-in (002 §1.2)
    ("laoshenpi", "曾审批（市发改局·原有账号）", "staff", None, "江门市发展和改革局", []),
    ("kezhang", "刘科长（江海区发改局·部门负责人）", "staff", None, "江门市江海区发展和改革局", ["dept_head"]),
]
LEGACY_USERS = {"laoshenpi"}  # realname_level "none"
# 经办人 → the enterprise (USCC) whose legal person authorised them for all its projects, without expiry
DEMO_AGENTS = [("jingban", "91430300MA4RTM5T6H", "qiye")]
ENTERPRISES = [
    ("91430300MA4RTM5T6H", "江门市示范精密机械有限公司", "刘法人", "江门市江海区明辉路35号"),
    ("91440300MA5DC0G84E", "深圳市另一科技有限公司", "周法人", "深圳市南山区科技园"),
]


def _upsert(model, key: dict, **values) -> object:
    row = db.session.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
    return row


def seed_reference() -> None:
    for code, name in ROLES:
        _upsert(Role, {"code": code}, name=name)
    for code, name in PROJECT_TYPES:
        _upsert(ProjectType, {"code": code}, name=name)
    for code, name, full, parent, level in REGIONS:
        _upsert(Region, {"code": code}, name=name, full_name=full, parent_code=parent, level=level)
    for row in CAPITAL_RATIO_SEED:
        _upsert(CapitalRatio, {"code": row["code"]}, name=row["name"], min_ratio=Decimal(row["min_ratio"]),
                source=row["source"])
    policy = load_policy_seed()
    for row in policy["industries"]:
        _upsert(Industry, {"code": str(row["code"])}, name=row["name"], capital_category=row["capital_category"])
    for row in policy["catalogue_entries"]:
        _upsert(CatalogueEntry, {"code": row["code"]}, category=row["category"], title=row["title"],
                source=row["source"])
    for row in policy["rules"]:
        _upsert(PolicyRuleRow, {"id": row["id"]}, kind=row["kind"], title=row["title"],
                industry_prefixes=[str(x) for x in row.get("industry_prefixes") or []],
                catalogue_codes=[str(x) for x in row.get("catalogue_codes") or []],
                natures=list(row.get("natures") or []),
                region_prefixes=[str(x) for x in row.get("region_prefixes") or []],
                message=row["message"], source=row["source"])
    if db.session.scalar(select(CalendarYear.year).limit(1)) is None:
        db.session.add_all(CalendarDay(day=d, is_workday=w, name=n, source=CALENDAR_SOURCE)
                           for d, w, n in chinese_calendar_rows())
        db.session.add_all(CalendarYear(year=y, source=CALENDAR_SOURCE) for y in range(2004, 2027))
    db.session.flush()
    seed_items()


def seed_demo() -> None:
    from ..services.accounts import hash_password

    seed_reference()
    for name, dept_type, level, region, files in DEPARTMENTS:
        if db.session.scalar(select(Department).where(Department.name == name)) is None:
            db.session.add(Department(name=name, dept_type=dept_type, level=level, region_code=region,
                                      files_projects=files))
    for uscc, name, rep, address in ENTERPRISES:
        if db.session.scalar(select(Enterprise).where(Enterprise.uscc == uscc)) is None:
            db.session.add(Enterprise(uscc=uscc, name=name, legal_rep=rep, address=address))
    db.session.flush()
    password = hash_password(DEMO_PASSWORD)
    for n, (username, display, kind, uscc, dept, roles) in enumerate(DEMO_USERS):
        if db.session.scalar(select(User.id).where(User.username == username)) is not None:
            continue
        # Demo mobile numbers (the 139 0000 range is not assigned): SMS notices land in the outbox.
        user = User(username=username, display_name=display, kind=kind, password_hash=password,
                    phone=f"1390000{n:04d}",
                    enterprise_id=db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)) if uscc else None,
                    department_id=db.session.scalar(select(Department.id).where(Department.name == dept)) if dept else None)
        user.role_rows = [UserRole(role=r) for r in roles]
        # demo people count as verified by the province's real-name service (002 §1.2 asks only legacy accounts)
        if username not in LEGACY_USERS:
            user.realname_level, user.realname_at = "verified", clock.utcnow_naive()
        db.session.add(user)
    db.session.flush()
    for agent, uscc, legal in DEMO_AGENTS:
        # acting for nobody until they choose the enterprise (切换企业), like any 经办人
        agent_id = db.session.scalar(select(User.id).where(User.username == agent))
        enterprise_id = db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
        if db.session.scalar(select(AgentAuthorization.id).where(AgentAuthorization.agent_id == agent_id)) is None:
            db.session.add(AgentAuthorization(enterprise_id=enterprise_id, agent_id=agent_id, scope="all",
                                              granted_by=db.session.scalar(select(User.id)
                                                                           .where(User.username == legal))))
    known = set(db.session.scalars(select(ApprovalItem.code)))
    for username, codes in DEMO_ITEM_ROLES.items():
        user = db.session.scalar(select(User).where(User.username == username))
        for code in codes:
            for role in user.roles & {"acceptor", "handler"}:
                if code in known and db.session.get(UserItemRole, (user.id, code, role)) is None:
                    db.session.add(UserItemRole(user_id=user.id, item_code=code, role=role))
    db.session.flush()
