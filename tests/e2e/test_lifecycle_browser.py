"""After issue, in a real browser: 变更 (refused beyond the validity, 004 Q9; then 受理 → 审核 → 签发 and the
变更函), 延期 (受理 → 审核决定, one more year), 项目进展 with a yearly row (the authority's 待阅), 注销 (the
authority's 待阅) and the 公示公告 that show all of it."""
from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.domain.validity import DATES_BEYOND_VALIDITY
from app.services.calendar import today
from tests.e2e.test_browser import claim_from_todo, fill_filing, login, logout, take_code

pytestmark = pytest.mark.browser

PROJECT_NAME = "江海区智能仓储物流中心改造项目"
AUTHORITY = "江门市江海区发展和改革局"
PERMIT_LINK = "证照管理（变更/延期/进展/注销）"


def issued_filing(page: Page) -> str:
    """qiye takes a code and files; shouli accepts, banli reviews and issues. Returns the project code."""
    start = today() + timedelta(days=30)
    end = start + timedelta(days=365)
    login(page, "qiye")
    code = take_code(page, PROJECT_NAME, "五邑路8号", "购置智能货架200组，改造仓库1栋", start, end)

    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name="申报备案").click()
    expect(page.locator("#f_project_code")).to_have_value(code)
    fill_filing(page, "购置智能货架200组", start, end)
    page.get_by_role("button", name="提交备案").click()
    expect(page.locator("#status")).to_have_text("待受理")
    number = page.locator("h1 .mono").inner_text().strip()

    decide(page, "shouli", number, "受理", lambda: page.get_by_role("radio", name="受理", exact=True).check())
    decide(page, "banli", number, "审核", lambda: page.get_by_role("radio", name="审核通过，提交签发").check())
    decide(page, "banli", number, "签发", lambda: page.get_by_role("checkbox").check(), kept=True)
    return code


def decide(page: Page, username: str, number: str, step: str, choose, kept: bool = False) -> None:  # noqa: ANN001
    """A reviewer signs in, claims the step from 待办 (签收; `kept`: already theirs, a sticky claim), makes the choice
    and submits it."""
    logout(page)
    login(page, username)
    claim_from_todo(page, number, step, kept=kept)
    choose()
    page.get_by_role("button", name=f"提交{step}意见").click()
    expect(page.locator(".flash.success")).to_contain_text(f"已办理：{number}")


def open_permit(page: Page, code: str) -> None:
    """qiye, from 我的项目, opens the permit page of the project."""
    logout(page)
    login(page, "qiye")
    page.get_by_role("navigation").get_by_role("link", name="我的项目").click()
    page.locator("table.list tbody tr", has_text=code).get_by_role("link", name=PERMIT_LINK).click()
    expect(page.locator("h1")).to_contain_text("备案证")


def submitted_number(page: Page) -> str:
    flash = page.locator(".flash.success")
    expect(flash).to_contain_text("申请已提交")
    return re.search(r"（(\S+?)）", flash.inner_text()).group(1)


def unread_note(page: Page, username: str, tag: str, code: str):
    """The user's 任务中心 待阅 tab and the one note about the project with the tag."""
    logout(page)
    login(page, username)
    page.locator("#nav-tasks").click()
    page.locator("#tabs").get_by_role("link", name=re.compile(r"^待阅")).click()
    row = page.locator("#unread tbody tr", has_text=tag).filter(has_text=code)
    expect(row).to_have_count(1)
    return row


@pytest.mark.clock("2026-03-10 10:00")  # issued that day: valid to 2028-03-10, extended to 2029-03-10
def test_change_extension_progress_and_cancellation(page: Page, shots, tmp_path):
    code = issued_filing(page)

    # 1. 我的项目 → 证照管理
    open_permit(page, code)
    expect(page.locator("#permit-status")).to_have_text("有效")
    valid_until = date.fromisoformat(page.locator("#validity b").inner_text().strip())
    assert valid_until == date(2028, 3, 10)
    expect(page.locator("#requests")).to_contain_text("暂无变更或延期申请")

    # 2. 申请变更: a completion date beyond the validity is refused (004 Q9) …
    page.get_by_role("link", name="申请变更").click()
    page.locator("#c_planned_end").check()
    page.fill("#f_planned_end", (valid_until + timedelta(days=30)).isoformat())
    page.fill("#f_reason", "工期延长")
    page.get_by_role("button", name="提交变更申请").click()
    expect(page.locator(".flash.error")).to_contain_text(DATES_BEYOND_VALIDITY)
    expect(page.locator("#field-planned_end .error-text")).to_have_text(DATES_BEYOND_VALIDITY)
    expect(page.locator("#c_planned_end")).to_be_checked()  # what was ticked is kept
    page.screenshot(path=shots / "l1-change-q9.png", full_page=True)
    # … so the enterprise changes the scale only.
    page.locator("#c_scale_content").check()
    page.fill("#f_scale_content", "购置智能货架300组")
    page.locator("#c_planned_end").uncheck()
    page.fill("#f_reason", "业务量增长，增加货架")
    page.get_by_role("button", name="提交变更申请").click()
    change_number = submitted_number(page)
    assert change_number.endswith("XMBG"), change_number
    row = page.locator("#requests tbody tr", has_text=change_number)
    expect(row.locator(".status")).to_have_text("待受理")
    expect(row).to_contain_text("购置智能货架200组 → 购置智能货架300组")

    # 3. 受理 → 审核 → 签发
    decide(page, "shouli", change_number, "受理", lambda: page.get_by_role("radio", name="受理", exact=True).check())
    decide(page, "banli", change_number, "审核", lambda: page.get_by_role("radio", name="审核通过，提交签发").check())
    decide(page, "banli", change_number, "签发", lambda: page.locator("#f_confirm").check(), kept=True)
    open_permit(page, code)
    row = page.locator("#requests tbody tr", has_text=change_number)
    expect(row.locator(".status")).to_have_text("已办结（同意）")
    letter_link = row.get_by_role("link", name=re.compile(r"^变更函 BG"))
    letter_number = letter_link.inner_text().removeprefix("变更函").strip()
    page.screenshot(path=shots / "l2-change-issued.png", full_page=True)
    with page.expect_download() as info:
        letter_link.click()
    letter = tmp_path / "letter.pdf"
    info.value.save_as(letter)
    assert letter.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(letter), "-"], capture_output=True, check=True).stdout.decode()
    assert letter_number in re.sub(r"\s", "", text)

    # 4. 申请延期: one more year
    page.get_by_role("link", name="申请延期").click()
    new_until = page.locator("#new-until").inner_text().strip()
    assert new_until == "2029-03-10"
    page.fill("#f_reason", "资金未到位，需推迟开工")
    page.get_by_role("button", name="提交延期申请").click()
    extension_number = submitted_number(page)
    expect(page.locator("#requests tbody tr", has_text=extension_number).locator(".status")).to_have_text("待受理")
    decide(page, "shouli", extension_number, "受理",
           lambda: page.get_by_role("radio", name="受理", exact=True).check())
    decide(page, "banli", extension_number, "审核决定",
           lambda: page.get_by_role("radio", name="审核通过，提交签发").check())
    open_permit(page, code)
    expect(page.locator("#validity b")).to_have_text(new_until)
    expect(page.locator("#validity")).to_contain_text("已于 2026-03-10 延期一次")
    expect(page.locator("#requests tbody tr", has_text=extension_number).locator(".status")).to_have_text(
        "已办结（同意）")
    expect(page.get_by_role("link", name="申请延期")).to_have_count(0)

    # 5. 项目进展: a yearly row → the authority's 待阅 → 已阅
    page.get_by_role("link", name="项目进展填报").click()
    page.locator("#add-year").click()
    new_row = page.locator("#years tbody tr").last
    new_row.locator("input[name=year]").fill("2026")
    new_row.locator("input[name=invested]").fill("150.5")
    new_row.locator("input[name=progress]").fill("完成仓库改造设计")
    page.locator("#progress-form").get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("待阅")
    expect(page.locator("table.list", has_text="建设进程")).to_contain_text("完成仓库改造设计")

    note = unread_note(page, "banli", "【项目进展】", code)
    expect(note).to_contain_text("年度进度报告 2026")
    page.screenshot(path=shots / "l3-progress-unread.png", full_page=True)
    note.get_by_role("button", name="标为已阅").click()
    expect(page.locator(".flash.success")).to_have_text("已标为已阅")
    expect(page.locator("#unread tbody tr", has_text="【项目进展】").filter(has_text=code)).to_have_count(0)
    page.locator("#tabs").get_by_role("link", name=re.compile(r"^已阅")).click()
    expect(page.locator("#read tbody tr", has_text="【项目进展】").filter(has_text=code)).to_have_count(1)

    # 6. 注销 (a confirm() dialog first)
    open_permit(page, code)
    page.get_by_role("link", name="注销备案证").click()
    page.fill("#f_reason", "项目终止")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="确认注销").click()
    expect(page.locator(".flash.success")).to_contain_text("备案证已注销")
    expect(page.locator("#permit-status")).to_have_text("已注销")
    expect(page.get_by_role("link", name="申请变更")).to_have_count(0)

    note = unread_note(page, "banli", "【注销】", code)
    expect(note).to_contain_text("项目终止")

    # 公示公告, signed out
    logout(page)
    page.get_by_role("navigation").get_by_role("link", name="公示公告").click()
    kinds = page.locator("#kinds")
    for label in ("注销公告", "变更公告", "延期公告"):
        kinds.get_by_role("link", name=label).click()
        expect(kinds.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        expect(page.locator("#notices tbody tr", has_text=code)).to_have_count(1)
    expect(page.locator("#notices tbody tr", has_text=code)).to_contain_text(PROJECT_NAME)
    kinds.get_by_role("link", name="全部").click()
    page.fill("#q", code)
    page.get_by_role("search").get_by_role("button", name="查询").click()
    rows = page.locator("#notices tbody tr")
    expect(rows).to_have_count(4)  # 备案公开, 变更公告, 延期公告, 注销公告
    for label in ("备案公开", "变更公告", "延期公告", "注销公告"):
        expect(rows.filter(has_text=label)).to_have_count(1)
    expect(rows.filter(has_text="变更公告")).to_contain_text(letter_number)
    expect(page.locator("#pager")).to_contain_text("共 4 条")
    page.screenshot(path=shots / "l4-public-notices.png", full_page=True)
