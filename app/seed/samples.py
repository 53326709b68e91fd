"""Sample cases for the demo (`flask seed-demo`): projects of the two demo enterprises in every state, so a
newcomer signs in to populated pages — drafts, 待受理, 补正, items in 办理 with green, yellow and red clocks,
办结 with decision PDFs, 已备案, changed, extended, lapsed and cancelled permits.

Every sample is made through the use cases a user's click calls (app/services): 领码, 备案, 事项申报, the
reviewers' 签收 and steps, 变更, 延期, 注销; nothing writes workflow rows itself. Time: a sample that must be
some working days old by today's clock is made with the platform clock moved back to that moment
(engine/clock.py, as the tests travel), and the clock is put back afterwards; the timers that fell due in the
meantime (reminders, yellow and red lights, lapses) then fire as the scheduler would fire them.

Idempotent: a sample whose project (enterprise + name) exists is skipped, so a second run adds nothing.
The test suite's databases call seed_demo() only and get no samples.
"""
from __future__ import annotations

import io
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from engine import clock
from engine.scheduler import run_due_timers
from engine.tables import HumanTask, PendingTimer

from ..domain.workdays import SHANGHAI, UTC
from ..extensions import db, session_scope
from ..models import Declaration, Department, Enterprise, FilingApplication, ItemMaterial, Permit, PostRequest, Project, User
from ..services import ServiceError, approval, calendar, filing, permits, post_requests, projects, uploads
from ..services.platform import runtime

QIYE, QIYE2 = "qiye", "qiye2"
JIANGHAI, XINHUI = "江门市江海区发展和改革局", "江门市新会区发展和改革局"
# Questionnaire answers (forms/declaration_questions.yaml). ONLY_MAIN: the stage's own item alone.
ONLY_MAIN = {"land_supply": "none", "new_land": "no", "forest_land": "no", "heritage_site": "no",
             "national_security": "no", "energy_tce": "120", "power_10k_kwh": "80", "eia_category": "registration",
             "soil_disturbance": "no", "water_abstraction": "no", "flood_area": "no", "state_funds": "0",
             "state_controlled": "no", "foreign_loan": "no", "construction_contract": "0", "goods_contract": "0",
             "services_contract": "0"}
# 核准 with 用地预审与选址 (市自然资源局), 环评 (市生态环境局) and 水土保持 (市水利局) beside it.
FOUR_ITEMS = {**ONLY_MAIN, "land_supply": "transfer", "new_land": "yes", "eia_category": "table",
              "soil_disturbance": "yes"}
WITH_EIA = {**ONLY_MAIN, "eia_category": "table"}


@dataclass
class Report:
    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timers: int = 0
    seconds: float = 0.0


# ---- people, places, moments -----------------------------------------------------------------------------
def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _department(name: str) -> Department:
    return db.session.scalar(select(Department).where(Department.name == name))


def _workdays_ago(n: int) -> date:
    """The working day n working days before today (0: today, or the last working day before it)."""
    cal, day = calendar.work_calendar(), _Clock.today
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    while n > 0:
        day -= timedelta(days=1)
        if cal.is_workday(day):
            n -= 1
    return day


def _days_ago(n: int) -> date:
    """n calendar days ago, moved back to a working day (people file and sign on working days)."""
    cal, day = calendar.work_calendar(), _Clock.today - timedelta(days=n)
    while not cal.is_workday(day):
        day -= timedelta(days=1)
    return day


def _at(day: date, hour: int = 10, minute: int = 0) -> None:
    clock.travel_to(datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI))


def _today(hour: int, minute: int = 0) -> None:
    """A moment of today's working hours; if it is still ahead (seeding before work), the present moment."""
    day = _workdays_ago(0)
    moment = datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)
    if moment > datetime.now(SHANGHAI) + _Clock.home:
        _now()
    else:
        clock.travel_to(moment)


def _now() -> None:
    clock.set_offset(_Clock.home)


class _Clock:
    """Where seeding started: the samples' ages count back from this today, whatever moment the clock is at."""
    home = timedelta(0)  # the offset the clock had before seeding (the development clock may be moved)
    today = date.min


def _pdf(title: str) -> bytes:
    """A one-page PDF standing for a material (the CJK font is reportlab's built-in CID font)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.setFont("STSong-Light", 16)
    canvas.drawString(72, 760, title)
    canvas.setFont("STSong-Light", 11)
    canvas.drawString(72, 730, "示范数据：本文件由 flask seed-demo 生成，仅供演示。")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# ---- the applicant's steps -------------------------------------------------------------------------------
def _code(username: str, name: str, *, kind: str = "filing", region: str = "440704", address: str,
          scale: str, investment: str, industry: str = "C3484", nature: str = "技术改造",
          type_code: str = "02") -> Project:
    """领码: the project and its lifelong code; work starts a month after today (by the moved clock)."""
    user = _user(username)
    start = calendar.today() + timedelta(days=30)
    return projects.apply_for_code(user, {
        "unit_uscc": user.enterprise.uscc, "kind": kind, "name": name, "type_code": type_code,
        "industry_code": industry, "catalogue_code": "", "nature": nature, "region_code": region,
        "address": address, "scale_content": scale, "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(days=540)).isoformat(), "total_investment": investment})


def _filing_form(project: Project, authority: str, contact: tuple[str, str]) -> dict[str, Any]:
    """The 备案 form with figures that add up: 土建 20 %, 设备 80 %; funds 40 % own, 50 % loans, 10 % other."""
    total = project.total_investment
    civil, own, loans = (total * share / 10 for share in (2, 4, 5))
    return {"authority_id": str(_department(authority).id), "project_code": project.code,
            "nature": project.nature, "industry_code": project.industry_code, "catalogue_code": "",
            "scale_content": project.scale_content, "jobs_construction": "40", "jobs_operation": "85",
            "capital_category": "other", "capital": _money(own), "annual_plan": _money(total),
            "total_investment": _money(total), "civil_investment": _money(civil),
            "equipment_investment": _money(total - civil), "import_fx": "0", "own_funds": _money(own),
            "domestic_loans": _money(loans), "securities": "0", "other_funds": _money(total - own - loans),
            "planned_start": project.planned_start.isoformat(),
            "planned_end": project.planned_end.isoformat(), "contact_name": contact[0], "contact_phone": contact[1]}


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")).normalize(), "f")


def _file(username: str, project: Project, authority: str = JIANGHAI, draft: bool = False,
          contact: tuple[str, str] = ("张经办", "13800138000")) -> FilingApplication:
    form = _filing_form(project, authority, contact)
    user = _user(username)
    if draft:
        return filing.save_draft(user, form)
    return filing.submit(user, {**form, "action": "submit"})


def _declare(username: str, project: Project, answers: dict[str, str], submit: bool = True) -> Declaration:
    """事项申报: start, answer the questionnaire, submit with the pledge; the materials the submission asks for
    (those the catalogue's rules make required by the answers) are uploaded and the submission made again."""
    user = _user(username)
    declaration = approval.start(user, project.id)
    approval.answer(user, declaration.id, {**answers, "total_investment": format(
        project.total_investment.normalize(), "f")})
    if not submit:
        return declaration
    raw = {"action": "submit", "pledge": "on"}
    for _round in range(3):  # the refusal names each material the answers make required: upload those, again
        try:
            approval.submit(user, declaration.id, raw)
            break
        except ServiceError as exc:
            wanted = [int(k.split("-", 1)[1]) for k in exc.errors if k.startswith("material-")]
            if exc.status != 422 or not wanted:
                raise
            for material_id in wanted:
                material = db.session.get(ItemMaterial, material_id)
                _upload(user, declaration, material.item_code, material)
    else:
        raise RuntimeError(f"示范案例「{project.name}」的申报材料未能补齐")
    return db.session.get(Declaration, declaration.id)


def _upload(user: User, declaration: Declaration, item_code: str, material: ItemMaterial) -> None:
    uploads.attach(user, declaration.id, item_code, material.id, "", f"{material.name[:60]}.pdf",
                   _pdf(f"{declaration.project.name}：{material.name}"))


# ---- the reviewers' steps --------------------------------------------------------------------------------
def _task(instance_id: int, *, bpmn_id: str | None = None, scope: str | None = None) -> HumanTask:
    db.session.expire_all()
    query = select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.candidate_role != "applicant")
    if bpmn_id is not None:
        query = query.where(HumanTask.bpmn_id == bpmn_id)
    if scope is not None:
        query = query.where(HumanTask.scope == scope)
    return db.session.scalars(query.order_by(HumanTask.id.desc())).first()


def _claimed(username: str, task: HumanTask) -> User:
    """签收, unless the step is already in this reviewer's hands (a claim that stays with its holder)."""
    user = _user(username)
    if task.assignee != user.actor:
        filing.claim(user, task.id)
    return user


def _filing_step(username: str, application: FilingApplication, bpmn_id: str, raw: dict[str, Any]) -> None:
    task = _task(application.instance_id, bpmn_id=bpmn_id)
    filing.complete_step(_claimed(username, task), task.id, raw)


def _item_step(username: str, declaration: Declaration, item_code: str, raw: dict[str, Any]) -> None:
    task = _task(declaration.instance_id, scope=item_code)
    approval.complete_item_step(_claimed(username, task), task.id, raw)


def _request_step(username: str, request: PostRequest, bpmn_id: str, raw: dict[str, Any]) -> None:
    task = _task(request.instance_id, bpmn_id=bpmn_id)
    post_requests.complete_step(_claimed(username, task), task.id, raw)


ACCEPT = {"decision": "accept", "code_verified": "on"}
ITEM_PEOPLE = {"proposal": ("shouli", "banli"), "authorisation": ("sfg_shouli", "sfg_banli"),
               "land_site": ("zr_shouli", "zr_banli"), "eia": ("hb_shouli", "hb_banli"),
               "soil_water": ("sl_shouli", "sl_banli")}
PEOPLE_XINHUI = {"proposal": ("xh_shouli", "xh_banli")}


def _people(declaration: Declaration, item_code: str) -> tuple[str, str]:
    if declaration.project.region_code == "440705" and item_code in PEOPLE_XINHUI:
        return PEOPLE_XINHUI[item_code]
    return ITEM_PEOPLE[item_code]


def _approve_item(declaration: Declaration, item_code: str, number: str, title: str, days: list[date]) -> None:
    """受理 → 办理 → 办结 (准予许可) on the given working days."""
    acceptor, handler = _people(declaration, item_code)
    _at(days[0], 9, 30)
    _item_step(acceptor, declaration, item_code, ACCEPT)
    _at(days[1], 15)
    _item_step(handler, declaration, item_code, {"decision": "decide", "opinion": "材料齐全，符合法定条件和标准"})
    _at(days[2], 16)
    form = {"result": "approve", "doc_number": number, "doc_title": title,
            "opinion": "经审查，该项目符合国家产业政策和相关规划，同意。请严格按照批准的建设内容和规模组织实施。"}
    _item_step(handler, declaration, item_code, form)


def _issue_filing(application: FilingApplication, days: list[date], acceptor: str = "shouli",
                  handler: str = "banli") -> Permit:
    """受理 → 审核 → 签发 on the given working days: the 备案证 and its permit."""
    _at(days[0], 9, 30)
    _filing_step(acceptor, application, "accept", {"decision": "accept"})
    _at(days[1], 11)
    _filing_step(handler, application, "review", {"decision": "pass"})
    _at(days[2], 15)
    _filing_step(handler, application, "issue", {"confirm": "on", "opinion": "同意备案"})
    return db.session.scalar(select(Permit).where(Permit.project_id == application.project_id))


def _filed(username: str, project_name: str, issued: date, **code: Any) -> Permit:
    """A 备案 made a few working days before `issued` and issued that day."""
    authority, acceptor, handler = (XINHUI, "xh_shouli", "xh_banli") if code.get("region") == "440705" \
        else (JIANGHAI, "shouli", "banli")
    submitted = _before(issued, 3)
    _at(submitted, 9)
    project = _code(username, project_name, **code)
    _at(submitted, 14)
    application = _file(username, project, authority)
    return _issue_filing(application, [_after(submitted, 1), _after(submitted, 2), issued], acceptor, handler)


def _before(day: date, n: int) -> date:
    cal = calendar.work_calendar()
    while n > 0:
        day -= timedelta(days=1)
        if cal.is_workday(day):
            n -= 1
    return day


def _after(day: date, n: int) -> date:
    return calendar.work_calendar().add_workdays(day, n)


# ---- the samples -------------------------------------------------------------------------------------------
def draft_filing() -> None:
    _today(9, 10)
    project = _code(QIYE, "江海区高端数控机床主轴生产线技术改造项目", address="高新区五邑路288号3号厂房",
                    scale="新增数控车铣复合加工中心12台、主轴动平衡检测线1条，改造现有主轴装配车间3200平方米",
                    investment="2600")
    _file(QIYE, project, draft=True)


def draft_declaration() -> None:
    _today(9, 20)
    project = _code(QIYE, "江门示范精密机械新能源汽车电驱壳体产业化项目", kind="authorisation", nature="新建",
                    type_code="01", industry="C3670", address="龙溪路18号",
                    scale="新建压铸车间、机加工车间及配套仓库共4.2万平方米，形成年产60万件新能源汽车电驱壳体的生产能力",
                    investment="48000")
    _declare(QIYE, project, FOUR_ITEMS, submit=False)


def filing_waiting() -> None:
    _at(_workdays_ago(1), 15, 20)
    project = _code(QIYE, "江海区精密齿轮箱智能化改造项目", address="江海三路99号",
                    scale="购置五轴联动磨齿机6台、齿轮检测中心2台，建设齿轮箱智能装配线1条", investment="1800")
    _at(_workdays_ago(1), 16)
    _file(QIYE, project)


def filing_waiting_xinhui() -> None:
    _today(9, 40)
    project = _code(QIYE2, "新会区智能照明器具生产基地项目", region="440705", industry="C3874", nature="新建",
                    type_code="01", address="今古洲经济开发区今洲路12号",
                    scale="新建生产厂房2栋共1.8万平方米，购置SMT贴片线4条，年产智能灯具300万套", investment="9500")
    _file(QIYE2, project, XINHUI, contact=("李经办", "13900139000"))


def approval_waiting() -> None:
    _today(9, 30)
    project = _code(QIYE, "江海区高新区公共实训基地建设项目", kind="approval", nature="新建", type_code="01",
                    industry="I6531", address="高新区金瓯路6号",
                    scale="新建实训楼1栋、建筑面积1.2万平方米，配置数控、工业机器人、电工电子等实训室18间",
                    investment="8600")
    _declare(QIYE, project, ONLY_MAIN)


def supplement_pending() -> None:
    submitted = _workdays_ago(3)
    _at(submitted, 9)
    project = _code(QIYE, "江门示范精密机械智能装备研发中心项目", kind="authorisation", nature="新建",
                    type_code="01", industry="C3491", address="东海路23号",
                    scale="新建研发大楼及中试车间共2.6万平方米，建设工业机器人及智能装备研发、检测平台",
                    investment="32000")
    declaration = _declare(QIYE, project, ONLY_MAIN)
    _at(_workdays_ago(2), 10, 30)
    case = _case(declaration, "authorisation")
    report = next(m for m in case.item.materials if "申请报告" in m.name)
    _item_step("sfg_shouli", declaration, "authorisation", {
        "decision": "correction", "missing_material": [str(report.id)],
        "opinion": "项目申请报告缺少融资方案和经济影响分析章节，请按国务院令第673号第六条补充后重新上传。"})


def four_items_lights() -> None:
    """One 核准 declaration, four departments: 核准 and 用地 yellow, 环评 (60 calendar days) green, 水保 red."""
    submitted = _workdays_ago(17)
    _at(submitted, 9)
    project = _code(QIYE, "江门市示范新材料产业园项目", kind="authorisation", nature="新建", type_code="01",
                    industry="C2925", address="滨江新区银湖大道8号",
                    scale="用地约180亩，新建高性能复合材料生产厂房、研发中心及配套设施共12万平方米", investment="50000")
    declaration = _declare(QIYE, project, FOUR_ITEMS)
    _at(_workdays_ago(16), 10)
    _item_step("sfg_shouli", declaration, "authorisation", ACCEPT)
    _item_step("hb_shouli", declaration, "eia", ACCEPT)
    _at(_workdays_ago(15), 10)
    _item_step("zr_shouli", declaration, "land_site", ACCEPT)
    _item_step("sl_shouli", declaration, "soil_water", ACCEPT)
    _at(_workdays_ago(12), 15)
    _item_step("sl_banli", declaration, "soil_water", {"decision": "decide", "opinion": "水土保持方案基本可行"})


def approval_green() -> None:
    submitted = _workdays_ago(3)
    _at(submitted, 10)
    project = _code(QIYE, "江海区外海街道市政道路提升改造工程", kind="approval", nature="改建", type_code="01",
                    industry="E4814", address="外海街道麻三村至直冲村段",
                    scale="改造市政道路3.2公里，宽24米，同步建设雨污分流管网、路灯及绿化", investment="6800")
    declaration = _declare(QIYE, project, ONLY_MAIN)
    _at(_workdays_ago(2), 9, 40)
    _item_step("shouli", declaration, "proposal", ACCEPT)


def authorisation_red() -> None:
    submitted = _workdays_ago(26)
    _at(submitted, 10)
    project = _code(QIYE2, "新会区智能终端生产基地项目", kind="authorisation", region="440705", nature="新建",
                    type_code="01", industry="C3973", address="会城街道新会经济开发区创业路5号",
                    scale="新建生产厂房及配套用房5.5万平方米，建设智能终端主板及整机生产线8条", investment="65000")
    declaration = _declare(QIYE2, project, ONLY_MAIN)
    _at(_workdays_ago(25), 9, 30)
    _item_step("sfg_shouli", declaration, "authorisation", ACCEPT)


def approval_done() -> None:
    """立项 approved: 项目建议书批复 (decision PDF), the project may go on to 可研."""
    submitted = _workdays_ago(40)
    _at(submitted, 10)
    project = _code(QIYE, "江海区礼乐街道污水管网改造工程", kind="approval", nature="改建", type_code="01",
                    industry="E4814", address="礼乐街道威东、英南、乌纱片区",
                    scale="新建污水主干管8.6公里、支管12.4公里，改造提升泵站2座", investment="12500")
    declaration = _declare(QIYE, project, ONLY_MAIN)
    _approve_item(declaration, "proposal", f"江海发改审批〔{_workdays_ago(30).year}〕18号",
                  "关于江海区礼乐街道污水管网改造工程项目建议书的批复",
                  [_workdays_ago(39), _workdays_ago(33), _workdays_ago(30)])


def authorisation_done() -> None:
    """核准 and 环评 approved: the 核准文件 (a permit) and both decision PDFs."""
    submitted = _workdays_ago(55)
    _at(submitted, 10)
    project = _code(QIYE, "江门示范精密机械数控刀具产业化项目", kind="authorisation", nature="新建", type_code="01",
                    industry="C3484", address="连海路318号",
                    scale="新建硬质合金数控刀具生产车间3.1万平方米，年产数控刀片2000万片、整体刀具120万支",
                    investment="26000")
    declaration = _declare(QIYE, project, WITH_EIA)
    year = _workdays_ago(40).year
    _approve_item(declaration, "eia", f"江环审〔{year}〕56号", "关于江门示范精密机械数控刀具产业化项目环境影响报告表的批复",
                  [_workdays_ago(54), _workdays_ago(45), _workdays_ago(42)])
    _approve_item(declaration, "authorisation", f"江发改核准〔{year}〕23号",
                  "关于江门示范精密机械数控刀具产业化项目核准的批复",
                  [_workdays_ago(54), _workdays_ago(44), _workdays_ago(40)])


def filing_overdue() -> None:
    """备案 accepted but not reviewed within 3 working days: red in banli's 待办."""
    _at(_workdays_ago(5), 9, 30)
    project = _code(QIYE, "江海区智能仓储物流中心技术改造项目", address="江海四路88号", industry="I6531",
                    scale="改造仓库1.5万平方米，建设自动化立体库、AGV搬运系统及仓储管理系统", investment="3200")
    application = _file(QIYE, project)
    _at(_workdays_ago(4), 10)
    _filing_step("shouli", application, "accept", {"decision": "accept"})


def filed() -> None:
    _filed(QIYE, "江海区新能源电池精密结构件生产线项目", _workdays_ago(22), address="永康路66号",
           industry="C3841", scale="购置精密冲压机20台、激光焊接设备16台，建设电池结构件生产线4条", investment="5600")


def filed_xinhui() -> None:
    _filed(QIYE2, "新会区锂离子电池模组扩产项目", _workdays_ago(30), region="440705", industry="C3841",
           address="大泽镇五和工业区8号", scale="扩建模组装配车间8000平方米，新增电池模组自动化生产线2条",
           investment="7800")


def changed() -> None:
    """备案 issued half a year ago; a change of 建设规模 and contact approved two months ago."""
    permit = _filed(QIYE, "江海区五金制品表面处理工艺升级项目", _days_ago(180), address="金星路21号",
                    scale="改造电镀生产线2条为无氰电镀工艺，配套建设废水处理站", investment="1500")
    _at(_days_ago(60), 10)
    request = post_requests.submit_change(_user(QIYE), permit.id, {
        "change_scale_content": "on",
        "scale_content": "改造电镀生产线3条为无氰电镀工艺，配套建设废水处理站及中水回用系统",
        "change_contact_phone": "on", "contact_phone": "13800138111",
        "reason": "根据环保要求增加一条生产线改造及中水回用系统，项目联系人手机号码变更"}, [])
    _at(_after(_days_ago(60), 1), 10)
    _request_step("shouli", request, "accept", {"decision": "accept"})
    _at(_after(_days_ago(60), 2), 10)
    _request_step("banli", request, "review", {"decision": "pass", "opinion": "变更内容不属于重大变化"})
    _request_step("banli", request, "issue", {"confirm": "on", "opinion": "同意变更"})


def extended() -> None:
    """备案 issued 20 months ago, not started: extended by one year three months ago."""
    permit = _filed(QIYE, "江海区工业机器人集成应用示范项目", _days_ago(610), address="科苑东路2号",
                    industry="C3491", scale="建设工业机器人焊接、喷涂集成应用示范线3条", investment="4200")
    _at(_days_ago(90), 10)
    request = post_requests.submit_extension(_user(QIYE), permit.id, {
        "reason": "受市场需求变化影响，主要设备采购延后，项目需延期开工"})
    _at(_after(_days_ago(90), 1), 10)
    _request_step("shouli", request, "accept", {"decision": "accept"})
    _at(_after(_days_ago(90), 2), 11)
    _request_step("banli", request, "decide", {"decision": "pass", "opinion": "同意延期一年"})


def lapsed() -> None:
    """备案 issued more than two years ago, never started nor extended: 有效期届满 失效 (the timer fires)."""
    _filed(QIYE, "江海区塑料制品自动化生产线改造项目", _days_ago(780), address="礼乐街道乌纱工业区3号",
           industry="C2925", scale="改造注塑车间，新增全自动注塑机18台及中央供料系统", investment="900")


def cancelled() -> None:
    """备案 issued eight months ago; 注销 by the enterprise last month."""
    permit = _filed(QIYE, "江海区精密模具车间扩建项目", _days_ago(240), address="南山路5号",
                    scale="扩建精密模具车间6000平方米，购置慢走丝线切割机、电火花机等设备30台", investment="2100")
    _at(_days_ago(30), 10)
    permits.cancel(_user(QIYE), permit.id, "企业调整发展规划，项目终止建设")


def _case(declaration: Declaration, item_code: str) -> Any:
    from ..models import ItemCase

    db.session.expire_all()
    return db.session.scalar(select(ItemCase).where(ItemCase.declaration_id == declaration.id,
                                                    ItemCase.item_code == item_code))


# (enterprise account, project name, the state it shows, maker): the name is the idempotency key.
SAMPLES: list[tuple[str, str, str, Callable[[], None]]] = [
    (QIYE, "江海区高端数控机床主轴生产线技术改造项目", "备案草稿", draft_filing),
    (QIYE, "江门示范精密机械新能源汽车电驱壳体产业化项目", "核准事项申报填报中", draft_declaration),
    (QIYE, "江海区精密齿轮箱智能化改造项目", "备案待受理", filing_waiting),
    (QIYE2, "新会区智能照明器具生产基地项目", "备案待受理（新会区）", filing_waiting_xinhui),
    (QIYE, "江海区高新区公共实训基地建设项目", "项目建议书审批待受理", approval_waiting),
    (QIYE, "江门示范精密机械智能装备研发中心项目", "核准待补正", supplement_pending),
    (QIYE, "江门市示范新材料产业园项目", "四部门并联办理：黄灯、绿灯、红灯", four_items_lights),
    (QIYE, "江海区外海街道市政道路提升改造工程", "项目建议书审批办理中（绿灯）", approval_green),
    (QIYE2, "新会区智能终端生产基地项目", "核准办理中（红灯，已超期）", authorisation_red),
    (QIYE, "江海区智能仓储物流中心技术改造项目", "备案审核已超期", filing_overdue),
    (QIYE, "江海区礼乐街道污水管网改造工程", "项目建议书已批复（办结）", approval_done),
    (QIYE, "江门示范精密机械数控刀具产业化项目", "核准、环评已批复（办结）", authorisation_done),
    (QIYE, "江海区新能源电池精密结构件生产线项目", "已备案", filed),
    (QIYE2, "新会区锂离子电池模组扩产项目", "已备案（新会区）", filed_xinhui),
    (QIYE, "江海区五金制品表面处理工艺升级项目", "已备案，变更已办结", changed),
    (QIYE, "江海区工业机器人集成应用示范项目", "已备案，延期已办结", extended),
    (QIYE, "江海区塑料制品自动化生产线改造项目", "备案证有效期届满失效", lapsed),
    (QIYE, "江海区精密模具车间扩建项目", "备案证已注销", cancelled),
]


def _exists(username: str, name: str) -> bool:
    enterprise_id = _user(username).enterprise_id
    return db.session.scalar(select(Project.id).where(Project.enterprise_id == enterprise_id,
                                                      Project.name == name).limit(1)) is not None


def _fire_timers_as_they_fell_due() -> int:
    """Reminders, yellow and red lights, lapses: each timer the samples left due fires at its own moment, the
    clock stepping from one due time to the next up to now, so notices and SMS carry the time they would have."""
    fired = 0
    try:
        while True:
            due = db.session.scalar(select(func.min(PendingTimer.due_at)))
            db.session.commit()
            _now()
            if due is None or due.replace(tzinfo=UTC) > clock.now():
                break
            clock.travel_to(due.replace(tzinfo=UTC) + timedelta(seconds=1))
            count = run_due_timers(runtime(), session_scope)
            fired += count
            if not count:  # one that failed backs off (see runtime): the scheduler retries it later
                break
    finally:
        _now()
    return fired + run_due_timers(runtime(), session_scope)


def seed_samples(echo: Callable[[str], None] | None = None) -> Report:
    """Make the samples that do not exist yet (seed_demo() first: they need its accounts), then fire the
    timers that fell due while they were made in the past."""
    began = timer.monotonic()
    report = Report()
    if db.session.scalar(select(Enterprise.id).limit(1)) is None:
        raise RuntimeError("seed_demo() first: the samples belong to the demo accounts")
    db.session.commit()
    _Clock.home, _Clock.today = clock.offset(), calendar.today()
    try:
        for username, name, state, make in SAMPLES:
            if _exists(username, name):
                report.skipped.append(name)
                continue
            make()
            report.made.append(name)
            if echo:
                echo(f"示范案例：{name} — {state}")
    finally:
        _now()
    report.timers = _fire_timers_as_they_fell_due()
    report.seconds = timer.monotonic() - began
    return report
