"""The reviewer's case page in a real browser (issue 14 §9, §10): a material opens in the in-page pdf.js viewer under
the app's CSP (module script, same-origin worker, no eval); the 办结 form's 预览 shows the decision as typed with a
「预览」 watermark in the same viewer and issues nothing; 项目概况, the other departments' progress and the 办理记录
with person, department, decision and opinion are on the page. Screenshots at 1366×900 and 390×844."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import HumanTask, ItemCase, Permit
from tests.conftest import login as client_login
from tests.e2e.test_browser import login
from tests.integration.approval_helpers import case_of, declare, item_task, new_project, step

pytestmark = pytest.mark.browser


def at_decide(live_server) -> tuple[int, str]:
    """A 核准 with four items whose 核准 waits for 办结 in sfg_banli's hands, the 环评 asked for 补正 at 受理; made as
    the integration tests make it (CSRF off for these requests only)."""
    app = live_server.app
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        with app.app_context():
            client = app.test_client()
            declaration = declare(client, new_project(client, name="江门市示范预览核准项目"))
            eia = case_of(declaration, "eia")
            step(client, "hb_shouli", declaration, "eia", {"decision": "correction", "opinion": "报告表结论不完整",
                                                            "missing_material": [str(eia.item.materials[0].id)]})
            step(client, "sfg_shouli", declaration, "authorisation", {"decision": "accept", "code_verified": "on"})
            step(client, "sfg_banli", declaration, "authorisation",
                 {"decision": "decide", "opinion": "材料齐全，符合核准条件"})
            task = item_task(declaration, "authorisation")
            if task.assignee is None:
                client.post("/logout")
                client_login(client, "sfg_banli")
                assert client.post(f"/reviewer/tasks/{task.id}/claim").status_code == 302
            case_id, number = case_of(declaration, "authorisation").id, declaration.number
            db.session.remove()
    finally:
        app.config["WTF_CSRF_ENABLED"] = True
    return case_id, number


def test_material_opens_in_page_and_decision_preview_issues_nothing(page: Page, live_server, shots):
    case_id, number = at_decide(live_server)
    login(page, "sfg_banli")
    page.goto(f"/reviewer/cases/{case_id}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("#project-basics")).to_contain_text("建设规模及内容")
    expect(page.locator("#project-basics")).to_contain_text("计划开工 / 竣工")
    expect(page.locator("#other-items tr[data-item=eia]")).to_contain_text("江门市生态环境局")
    expect(page.locator("#other-items tr[data-item=eia]")).to_contain_text("待补正")
    line = page.locator(".trail-line", has_text="审查完毕")
    expect(line).to_contain_text("江门市发展和改革局")
    expect(line).to_contain_text("意见：材料齐全，符合核准条件")

    # a material: opens in the page, drawn by pdf.js (something non-white on the canvas), no download
    viewer = page.locator("#pdf-viewer")
    expect(viewer).to_be_hidden()
    page.locator("a[data-pdf-view]").first.click()
    expect(viewer).to_have_attribute("data-state", "ready")
    expect(viewer.locator("canvas.pdf-page")).to_have_count(1)
    inked = page.evaluate("""() => {
        const c = document.querySelector('#pdf-viewer canvas.pdf-page');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 128 && d[i + 3] > 0) return true;
        return false; }""")
    assert inked, "the material's page was not drawn"
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=str(shots / "h3-case-material-1366.png"), full_page=True)
    page.get_by_role("button", name="关闭预览").click()
    expect(viewer).to_be_hidden()

    # the 办结 form as typed so far → 预览 in the same viewer, watermarked; nothing is issued (other browser tests
    # share this server and issue their own permits: count before and after)
    with live_server.app.app_context():
        permits = db.session.query(Permit).count()
        db.session.remove()
    page.get_by_label("准予许可").check()
    page.fill("#f_doc_number", "江发改核准〔2026〕88号")
    page.fill("#f_doc_title", "关于江门市示范预览核准项目核准的批复")
    page.fill("#f_opinion", "同意建设。")
    page.locator("#preview-button").click()
    expect(viewer).to_have_attribute("data-state", "ready")
    expect(viewer.locator("[data-pdf-title]")).to_contain_text("预览")
    assert viewer.locator("canvas.pdf-page").count() >= 1
    assert len(page.context.pages) == 1  # shown in the page, not in a new tab
    page.screenshot(path=str(shots / "h3-case-preview-1366.png"), full_page=True)
    with live_server.app.app_context():
        assert db.session.query(Permit).count() == permits
        case = db.session.get(ItemCase, case_id)
        assert case.decision is None and case.status == "handling"
        assert db.session.query(HumanTask).filter_by(instance_id=case.declaration.instance_id, scope="authorisation",
                                                     form_key="item_decide_tender").count() == 1
        db.session.remove()

    # a phone: no horizontal scroll, the viewer fits
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/reviewer/cases/{case_id}")
    page.locator("a[data-pdf-view]").first.click()
    expect(viewer).to_have_attribute("data-state", "ready")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(shots / "h3-case-material-390.png"), full_page=True)
