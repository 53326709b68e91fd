"""经办人 (issue 13, 000 §1.1 第十一步): the legal person authorises a registered individual for all or named
projects until a date, revokes them; a 经办人 switches between enterprises, is stopped on the next request once
revoked or expired, and the 办理记录 names both the person and the enterprise they acted for."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AgentAuthorization, Enterprise, Project, TrailEntry, User
from tests.conftest import at, login
from tests.integration import test_registration
from tests.integration.helpers import apply_code, code_form, field_errors, submit_filing
from tests.integration.test_registration import PASSWORD, register_individual, user_named

accounts = test_registration.accounts  # the same clean-up fixture

DEMO = "江门市示范精密机械有限公司"


def authorise(client, who: str, name: str, **form) -> object:
    response = client.post("/enterprise/agents", data={"who": who, "real_name": name, "scope": "all", **form})
    assert response.status_code == 302, response.data.decode()
    return response


def act_for(client, uscc: str = "91430300MA4RTM5T6H") -> None:
    """切换企业: the 经办人 chooses the enterprise to act for (the demo one starts acting for nobody)."""
    response = client.post("/account/acting", data={"enterprise_id": str(enterprise_id(uscc))})
    assert response.status_code == 302 and response.headers["Location"].endswith("/enterprise/"), response.data


def grant_of(username: str) -> AgentAuthorization:
    db.session.expire_all()
    user = user_named(username)
    return db.session.scalars(select(AgentAuthorization).where(AgentAuthorization.agent_id == user.id)
                              .order_by(AgentAuthorization.id.desc())).first()


def enterprise_id(uscc: str = "91430300MA4RTM5T6H") -> int:
    return db.session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))


def test_the_legal_person_finds_a_registered_individual_by_username_or_mobile(client, accounts):
    _, person = register_individual(client, name="马经办")
    login(client, "qiye")
    page = client.get("/enterprise/agents").data.decode()
    assert "林经办" in page and "有效" in page  # the demo 经办人
    wrong = client.post("/enterprise/agents", data={"who": person["username"], "real_name": "马错名", "scope": "all"})
    message = field_errors(wrong.data.decode())["who"]
    assert wrong.status_code == 422 and "个人用户" in message and "注册" in message
    legal = client.post("/enterprise/agents", data={"who": "qiye2", "real_name": "李经办（另一企业）", "scope": "all"})
    assert legal.status_code == 422  # a legal-person account is no individual
    authorise(client, person["phone"], "马经办")
    grant = grant_of(person["username"])
    assert (grant.enterprise_id, grant.scope, grant.expires_at) == (enterprise_id(), "all", None)
    twice = client.post("/enterprise/agents", data={"who": person["username"], "real_name": "马经办", "scope": "all"})
    assert twice.status_code == 409 and "先撤销" in twice.data.decode()
    # they act for it only once they choose it
    assert user_named(person["username"]).enterprise_id is None


def test_only_the_legal_person_of_the_enterprise_manages_its_agents(client, accounts):
    login(client, "jingban")
    assert client.get("/enterprise/agents").status_code == 403
    client.post("/logout")
    login(client, "qiye2")
    grant = grant_of("jingban")
    assert client.post(f"/enterprise/agents/{grant.id}/revoke").status_code == 404
    assert grant_of("jingban").revoked_at is None
    assert "林经办" not in client.get("/enterprise/agents").data.decode()


@pytest.mark.clock("2026-03-10 10:00")
def test_an_expiry_date_is_a_beijing_day_and_not_in_the_past(client, accounts):
    _, person = register_individual(client, name="郭经办")
    login(client, "qiye")
    past = client.post("/enterprise/agents", data={"who": person["username"], "real_name": "郭经办", "scope": "all",
                                                   "expires_on": "2026-03-09"})
    assert past.status_code == 422 and "不能早于今天" in field_errors(past.data.decode())["expires_on"]
    authorise(client, person["username"], "郭经办", expires_on="2026-03-10")
    assert "2026-03-10" in client.get("/enterprise/agents").data.decode()
    agent = client.application.test_client()
    login(agent, person["username"], PASSWORD)
    act_for(agent)
    at("2026-03-10 23:59")  # still the day named
    assert agent.get("/enterprise/").status_code == 200
    at("2026-03-11 00:00")
    stopped = agent.get("/enterprise/")
    assert stopped.headers["Location"].endswith("/account/acting")
    assert "已过期" in agent.get(stopped.headers["Location"]).data.decode()
    assert user_named(person["username"]).enterprise_id is None
    assert "已过期" in client.get("/enterprise/agents").data.decode()


def test_a_revoked_agent_is_refused_on_the_next_request(client, accounts, app):
    agent = app.test_client()
    login(agent, "jingban")
    assert agent.get("/enterprise/").headers["Location"].endswith("/account/acting")  # acting for nobody yet
    act_for(agent)
    assert agent.get("/enterprise/").status_code == 200
    login(client, "qiye")
    page = client.get("/enterprise/agents").data.decode()
    assert 'data-confirm="确定撤销' in page  # asked before it is done
    assert client.post(f"/enterprise/agents/{grant_of('jingban').id}/revoke").status_code == 302
    # the very next request, also a POST that would have made a project, is stopped
    refused = agent.post("/enterprise/code/new", data=code_form())
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/account/acting")
    assert db.session.scalar(select(Project.id)) is None
    assert "已被企业法人撤销" in agent.get("/account/acting").data.decode()
    assert agent.get("/enterprise/").headers["Location"].endswith("/account/acting")
    assert "已撤销" in client.get("/enterprise/agents").data.decode()


def test_named_projects_only_and_no_new_code(client, accounts, app):
    login(client, "qiye")
    first, second = apply_code(client), apply_code(client)
    ids = {p.code: p.id for p in db.session.scalars(select(Project))}
    _, person = register_individual(client, name="钱经办")
    narrow = client.post("/enterprise/agents", data={"who": person["username"], "real_name": "钱经办",
                                                     "scope": "projects"})
    assert narrow.status_code == 422 and "project_ids" in field_errors(narrow.data.decode())
    authorise(client, person["username"], "钱经办", scope="projects", project_ids=[str(ids[first])])
    assert "钱经办" in client.get("/enterprise/agents").data.decode()
    agent = app.test_client()
    login(agent, person["username"], PASSWORD)
    act_for(agent)
    listed = agent.get("/enterprise/").data.decode()
    assert first in listed and second not in listed
    assert agent.get(f"/enterprise/projects/{ids[first]}").status_code == 200
    assert agent.get(f"/enterprise/projects/{ids[second]}").status_code == 403
    assert agent.post("/enterprise/code/new", data=code_form()).status_code == 403  # no 领码 for named projects
    # the form does not even open with a project outside the authorisation (the prefill checks it), nor saves
    assert agent.get(f"/enterprise/filings/new?code={second}").status_code == 403
    refused = agent.post("/enterprise/filings/new", data={"project_code": second, "action": "save"})
    assert refused.status_code in (403, 422) and "经办授权" in refused.data.decode()


def test_an_agent_of_two_enterprises_switches_explicitly(client, accounts, app):
    _, person = register_individual(client, name="孙经办")
    for legal in ("qiye", "qiye2"):
        login(client, legal)
        authorise(client, person["username"], "孙经办")
        client.post("/logout")
    login(client, person["username"], PASSWORD)
    act_for(client)
    page = client.get("/account/acting").data.decode()
    assert DEMO in page and "深圳市另一科技有限公司" in page and page.count("代表此企业") == 1  # one is current
    other = enterprise_id("91440300MA5DC0G84E")
    assert client.post("/account/acting", data={"enterprise_id": str(other)}).status_code == 302
    assert user_named(person["username"]).enterprise_id == other
    assert "切换企业" in client.get("/account/acting").data.decode()
    stranger = db.session.scalar(select(Enterprise.id).where(Enterprise.id.not_in([other, enterprise_id()])))
    if stranger is not None:
        assert client.post("/account/acting", data={"enterprise_id": str(stranger)}).status_code == 403
    assert client.post("/account/acting", data={"enterprise_id": ""}).status_code == 302  # stop acting
    assert user_named(person["username"]).enterprise_id is None
    login(client, "qiye")  # a legal person has no switch page
    assert client.post("/account/acting", data={"enterprise_id": str(other)}).status_code == 302
    assert user_named("qiye").enterprise_id == enterprise_id()


def test_the_trail_names_the_agent_and_the_enterprise_they_acted_for(client, accounts, app):
    login(client, "jingban")
    act_for(client)
    application = submit_filing(client, apply_code(client))
    entries = list(db.session.scalars(select(TrailEntry).where(TrailEntry.instance_id == application.instance_id)))
    jingban = user_named("jingban")
    mine = [e for e in entries if e.actor == str(jingban.id)]
    assert mine and all(e.detail["acting_for"] == {"id": enterprise_id(), "name": DEMO} for e in mine)
    label = f"林经办（经办人，代表{DEMO}）"
    assert label in client.get(f"/enterprise/filings/{application.id}").data.decode()
    # a later switch does not rename history: the legal person's view still names the enterprise acted for
    client.post("/account/acting", data={"enterprise_id": ""})
    client.post("/logout")
    login(client, "qiye")
    assert label in client.get(f"/enterprise/filings/{application.id}").data.decode()
    # and a legal person's own steps carry no 经办人 mark
    assert all("acting_for" not in (e.detail or {}) for e in entries if e.actor != str(jingban.id))
    assert "提交备案信息" in client.get(f"/enterprise/filings/{application.id}").data.decode()  # the submit line


def test_the_nav_shows_whom_an_agent_acts_for(client, accounts):
    login(client, "jingban")
    assert "未代表企业" in client.get("/account/acting").data.decode()
    act_for(client)
    page = client.get("/account/acting").data.decode()
    bar = re.search(r'<p class="acting-bar" id="nav-acting">(.*?)</p>', page).group(1)
    assert f"代表 {DEMO} · " in bar and "切换企业" in bar and "个人信息" in page
    client.post("/logout")
    login(client, "qiye")
    page = client.get("/enterprise/").data.decode()
    assert "企业信息" in page and "经办人管理" in page
    assert db.session.scalar(select(User.id).where(User.username == "qiye"))


def test_the_legal_person_continues_a_draft_its_agent_started(client, accounts):
    from tests.integration.helpers import authority_id, filing_form

    login(client, "jingban")
    act_for(client)
    code = apply_code(client)
    saved = client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=authority_id()),
                                                         "action": "save"})
    client.post("/logout")
    login(client, "qiye")
    from app.services.inbox import applicant_todo

    qiye, qiye2 = user_named("qiye"), user_named("qiye2")
    draft_steps = [t for t in applicant_todo(qiye) if t.assignee == user_named("jingban").actor]
    assert len(draft_steps) == 1  # the legal person's 待办 holds the step the diagram gave its 经办人
    assert applicant_todo(qiye2) == []  # another enterprise's legal person never sees it
    submitted = client.post(saved.headers["Location"] + "/edit",
                            data={**filing_form(code, authority_id=authority_id()), "action": "submit"})
    assert submitted.status_code == 302, submitted.status_code
    submit_entry = db.session.scalar(select(TrailEntry).where(TrailEntry.action == "submit")
                                     .order_by(TrailEntry.id.desc()))
    assert submit_entry.actor == qiye.actor  # the trail names who really submitted


def test_a_revoked_agent_no_longer_lists_the_drafts_it_started(client, accounts):
    """The step stays assigned to the 经办人's actor (the legal person continues it), but its title is the
    enterprise's: once revoked the 经办人's 待办 must not show it."""
    from app.services.inbox import applicant_todo
    from tests.integration.helpers import authority_id, filing_form

    login(client, "jingban")
    act_for(client)
    code = apply_code(client)
    client.post("/enterprise/filings/new", data={**filing_form(code, authority_id=authority_id()), "action": "save"})
    db.session.expire_all()
    [step] = applicant_todo(user_named("jingban"))
    assert step.title and step.title in client.get("/tasks/?tab=todo").data.decode()
    client.post("/logout")
    login(client, "qiye")
    assert client.post(f"/enterprise/agents/{grant_of('jingban').id}/revoke").status_code == 302
    assert applicant_todo(user_named("jingban")) == []  # revoked, not yet stopped by the request guard
    client.post("/logout")
    login(client, "jingban")
    assert step.title not in client.get("/tasks/?tab=todo", follow_redirects=True).data.decode()
    db.session.expire_all()
    assert user_named("jingban").enterprise_id is None  # the request guard stopped acting for the enterprise
    assert len(applicant_todo(user_named("qiye"))) == 1  # the legal person still has it
