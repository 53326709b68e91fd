"""`flask seed-demo` fills the demo with sample cases in every state (issue 14, item 13); `--empty` keeps the
accounts only, and a second run adds nothing. The suite's own database gets accounts only (seed_demo())."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Declaration,
    FilingApplication,
    HumanTask,
    ItemCase,
    Notification,
    Permit,
    PostRequest,
    Project,
    User,
)
from app.seed.samples import QIYE, QIYE2, SAMPLES
from app.services import permits, supervision
from engine import clock
from tests.conftest import login

COUNTED = (Project, FilingApplication, Declaration, ItemCase, Permit, PostRequest, HumanTask, Notification)


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def _names(username: str) -> list[str]:
    return [name for owner, name, _, _ in SAMPLES if owner == username]


def _as(client, username: str):
    client.post("/logout")
    return login(client, username)


def test_seed_demo_makes_every_state_once_through_the_services(app, client):
    assert _counts()["Project"] == 0  # the suite's database: accounts only
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"新建 {len(SAMPLES)} 个，已有 0 个" in first.output and "用时" in first.output
    assert clock.offset().total_seconds() == 0  # the clock is back where it was
    made = _counts()

    db.session.expire_all()
    filings = {a.project.name: a for a in db.session.scalars(select(FilingApplication))}
    assert filings["江海区高端数控机床主轴生产线技术改造项目"].status == "draft"
    assert filings["江海区精密齿轮箱智能化改造项目"].status == "submitted"
    assert filings["新会区智能照明器具生产基地项目"].status == "submitted"
    overdue = filings["江海区智能仓储物流中心技术改造项目"]
    assert (overdue.status, overdue.reminded, overdue.overdue) == ("accepted", True, True)

    declarations = {d.project.name: d for d in db.session.scalars(select(Declaration))}
    assert declarations["江门示范精密机械新能源汽车电驱壳体产业化项目"].status == "declaring"
    done = [d for d in declarations.values() if d.status == "completed"]
    assert {d.project.name for d in done} == {"江海区礼乐街道污水管网改造工程", "江门示范精密机械数控刀具产业化项目"}
    cases = {(c.declaration.project.name, c.item_code): c for c in db.session.scalars(select(ItemCase))}
    assert cases[("江海区高新区公共实训基地建设项目", "proposal")].status == "receiving"
    assert cases[("江门示范精密机械智能装备研发中心项目", "authorisation")].status == "correction"
    decided = [c for c in cases.values() if c.declaration in done]
    assert len(decided) == 3 and all(c.status == "approved" and c.decision["result"] == "approve" for c in decided)

    jiancha = db.session.scalar(select(User).where(User.username == "jiancha"))
    rows = supervision.overview(jiancha)
    lights = {light: sum(getattr(r, light) for r in rows) for light in ("green", "yellow", "red")}
    assert all(count >= 2 for count in lights.values()), lights  # two items each (more once 备案 is supervised)

    by_project = {p.project.name: p for p in db.session.scalars(select(Permit))}
    state = {name: permits.effective_status(p) for name, p in by_project.items()}
    assert state["江海区塑料制品自动化生产线改造项目"] == "lapsed" == by_project["江海区塑料制品自动化生产线改造项目"].status
    assert state["江海区精密模具车间扩建项目"] == "cancelled"
    assert state["江海区新能源电池精密结构件生产线项目"] == state["新会区锂离子电池模组扩产项目"] == "valid"
    assert by_project["江海区工业机器人集成应用示范项目"].extended_on is not None
    assert by_project["江门示范精密机械数控刀具产业化项目"].kind == "authorisation"
    requests = {(r.kind, r.status) for r in db.session.scalars(select(PostRequest))}
    assert requests == {("change", "issued"), ("extension", "issued")}
    assert "改造电镀生产线3条" in by_project["江海区五金制品表面处理工艺升级项目"].current["scale_content"]

    # What the accounts see: their own projects, the 待办 of their department, the lights.
    page = _as(client, QIYE).get("/enterprise/").data.decode()
    assert all(name in page for name in _names(QIYE)) and not any(name in page for name in _names(QIYE2))
    completed = declarations["江海区礼乐街道污水管网改造工程"]
    pdf = client.get(f"/enterprise/declarations/{completed.id}/items/proposal/decision.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    page = _as(client, QIYE2).get("/enterprise/").data.decode()
    assert all(name in page for name in _names(QIYE2))
    page = _as(client, "shouli").get("/reviewer/").data.decode()
    assert "江海区精密齿轮箱智能化改造项目" in page and "江海区高新区公共实训基地建设项目" in page
    assert "新会区智能照明器具生产基地项目" not in page
    assert "江海区智能仓储物流中心技术改造项目" in _as(client, "banli").get("/reviewer/").data.decode()
    assert "新会区智能照明器具生产基地项目" in _as(client, "xh_shouli").get("/reviewer/").data.decode()
    page = _as(client, "jiancha").get("/supervision/?light=red").data.decode()
    assert "新会区智能终端生产基地项目" in page and "生产建设项目水土保持方案审批" in page

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert f"新建 0 个，已有 {len(SAMPLES)} 个，补触发到期定时器 0 个" in second.output
    assert _counts() == made


def test_seed_demo_empty_keeps_accounts_only(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--empty"])
    assert result.exit_code == 0, result.output
    assert "示范案例" not in result.output and "示范数据已就绪" in result.output
    assert _counts()["Project"] == 0
    assert db.session.scalar(select(func.count()).select_from(User)) > 10
