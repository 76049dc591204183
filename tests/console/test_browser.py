"""The console in a real Chromium against a real server: a supervisor signs in, reviews a record,
approves it with a clause for the major finding, and follows the hazard through the ledger to
销号. Every page: a visible Chinese heading, no console errors, a screenshot of the main ones
(their folder is printed; CONSOLE_SCREENSHOTS moves it)."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    TABLET,
    Pages,
    Site,
    photo_bytes,
    require_chromium,
    screenshot_dir,
    start_site,
)

MAJOR_CLAUSE = "gmqy2023.13.1"
MAJOR_LABEL = "《工贸企业重大事故隐患判定标准》第十三条（一）"


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_chromium()
    yield from start_site(sqlite_template, tmp_path_factory.mktemp("console-site"))


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshot_dir()


def _pages(browser: Any, site: Site, shots: Path, viewport: dict[str, int] = LAPTOP) -> Pages:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    return Pages(context.new_page(), site, shots)


def test_a_supervisor_reviews_approves_and_closes_a_major_hazard(
    browser: Any, site: Site, shots: Path, tmp_path: Path
) -> None:
    s, pages = site.seeded, _pages(browser, site, shots)
    page = pages.page

    pages.goto("/console/")
    pages.check("登录", "01-login")
    pages.sign_in(s.supervisor)
    pages.check("审核队列", "02-queue")
    assert s.enterprise in page.locator("#results").inner_text()

    page.click(f"a[href='/console/inspections/{s.inspection_id}']")
    page.wait_for_load_state("networkidle")
    pages.check("检查记录", "03-record")
    body = page.locator("main").inner_text()
    assert "存在" in body
    assert "不存在" in body
    assert "《工贸企业重大事故隐患判定标准》第十三条（一）" in body
    assert "拍摄时间异常" in body  # the photo taken three days after the inspection

    page.select_option(f"select[name='level-{s.major_finding}']", "major")
    page.select_option(f"select[name='clause-{s.major_finding}']", MAJOR_CLAUSE)
    page.select_option(f"select[name='level-{s.general_finding}']", "general")
    page.fill("textarea[name=comment]", "同意，按期整改")
    page.click("button[name=decision][value=approve]")
    page.wait_for_load_state("networkidle")
    pages.check("检查记录")
    assert "已审核通过" in page.locator("main").inner_text()

    number = _ledger_entry_appears(pages, s.enterprise)
    pages.check("隐患台账", "04-ledger")

    page.click(f"text={number}")
    page.wait_for_load_state("networkidle")
    pages.check(f"隐患 {number}", "05-hazard-pending")
    assert "待整改" in page.locator("#state").inner_text()

    # The enterprise's rectification is reported by the inspector; another person re-inspects.
    inspector = _pages(browser, site, shots)
    inspector.goto(f"/console/hazards/{_hazard_id(page)}")
    inspector.check("登录")
    inspector.sign_in(s.inspector)
    inspector.check(f"隐患 {number}")
    after = tmp_path / "after.jpg"
    after.write_bytes(photo_bytes("P40", taken="2026:11:28 10:00:00", colour="#7a4"))
    form = inspector.page.locator("#form-rectification_reported")
    form.locator("textarea[name=measures]").fill("已设置警示标志，建立有限空间管理台账")
    form.locator("input[name=funds]").fill("3500")
    form.locator("input[name=responsible_person]").fill("王经理")
    form.locator("input[name=photos]").set_input_files(str(after))
    plan = form.locator("textarea[name=emergency_plan]")  # 一患一策, where the ledger asks it
    if plan.count():
        plan.fill("作业前通风检测，设专人监护")
    form.locator("button[type=submit]").click()
    inspector.page.wait_for_load_state("networkidle")
    inspector.check(f"隐患 {number}", "06-hazard-rectified-by-inspector")
    assert "待复查" in inspector.page.locator("#state").inner_text()
    inspector.page.context.close()

    page.reload()
    page.wait_for_load_state("networkidle")
    pages.check(f"隐患 {number}")
    form = page.locator("#form-reinspected")
    form.locator("input[name=passed][value='1']").check()
    form.locator("textarea[name=comment]").fill("现场复查合格")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    pages.check(f"隐患 {number}", "07-hazard-reinspected")
    assert "已整改" in page.locator("#state").inner_text()

    form = page.locator("#form-closed")
    form.locator("textarea[name=comment]").fill("同意销号")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    pages.check(f"隐患 {number}", "08-hazard-closed")
    assert "已销号" in page.locator("#state").inner_text()
    timeline = page.locator("#timeline").inner_text()
    for label in ("登记入账", "整改情况报告", "复查", "销号"):
        assert label in timeline
    assert page.locator("#timeline img").count() >= 1  # the after photo, in the timeline

    page.goto(site.url(f"/console/inspections/{s.inspection_id}"))
    page.wait_for_load_state("networkidle")
    pages.check("检查记录", "09-record-approved")
    assert number in page.locator("main").inner_text()


def test_a_major_needs_its_clause_picked_from_the_catalogue(
    browser: Any, site: Site, shots: Path
) -> None:
    """Clearing the clause of a major finding is refused in place, in Chinese; picking it from
    the catalogue shows its text and conditions, and the ledger entry cites it."""
    s, pages = site.seeded, _pages(browser, site, shots)
    page = pages.page
    pages.goto(f"/console/inspections/{s.clause_inspection_id}")
    pages.check("登录")
    pages.sign_in(s.supervisor)
    pages.check("检查记录")
    major = f"select[name='clause-{s.clause_major_finding}']"
    note = page.locator(f"#clause-{s.clause_major_finding}")
    assert page.locator(major).input_value() == MAJOR_CLAUSE  # the suggestion, preselected
    assert "并且未设置明显的安全警示标志的" in note.inner_text()

    page.select_option(f"select[name='level-{s.clause_major_finding}']", "major")
    page.select_option(major, "")
    page.select_option(f"select[name='level-{s.clause_general_finding}']", "general")
    page.click("button[name=decision][value=approve]")
    page.wait_for_load_state("networkidle")
    # The refused form comes back as a 422, which the browser logs as a failed resource load.
    assert any("422" in e for e in pages.errors), pages.errors
    pages.errors = [e for e in pages.errors if "422" not in e]
    pages.check("检查记录", "11-record-major-without-clause")
    fieldset = page.locator("fieldset", has=page.locator(major))
    assert "确认为重大事故隐患须选择所依据的判定条款" in fieldset.locator(".error").inner_text()
    assert "已审核通过" not in page.locator("main").inner_text()

    page.select_option(major, MAJOR_CLAUSE)  # htmx swaps in the clause's text and conditions
    page.wait_for_function(
        "id => document.getElementById(id).innerText.includes('满足该条款')",
        arg=f"clause-{s.clause_major_finding}",
    )
    assert "并且未设置明显的安全警示标志的" in note.inner_text()
    assert "✓" in note.inner_text()
    pages.check("检查记录", "12-record-clause-picked")
    page.click("button[name=decision][value=approve]")
    page.wait_for_load_state("networkidle")
    pages.check("检查记录")
    assert "已审核通过" in page.locator("main").inner_text()

    link = page.locator(f"#finding-{s.clause_major_finding} a[href^='/console/hazards/']")
    deadline = time.monotonic() + 20
    while not link.count():  # the worker makes the entry after the commit
        assert time.monotonic() < deadline, "no ledger entry appeared"
        time.sleep(0.3)
        page.reload()
        page.wait_for_load_state("networkidle")
    link.first.click()
    page.wait_for_load_state("networkidle")
    pages.check("隐患", "13-hazard-with-clause")
    assert MAJOR_LABEL in page.locator("main").inner_text()


def _hazard_id(page: Any) -> str:
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def _ledger_entry_appears(pages: Pages, enterprise: str, timeout: float = 20) -> str:
    """The worker makes the entries after the commit: reload the ledger until they are there."""
    deadline = time.monotonic() + timeout
    while True:
        pages.goto("/console/ledger?level=major")
        rows = pages.page.locator("#rows tr")
        if enterprise in rows.first.inner_text():
            return str(rows.first.locator("td").first.inner_text()).strip()
        assert time.monotonic() < deadline, "no ledger entry appeared"
        time.sleep(0.3)


def test_filters_swap_the_results_in_place(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.sign_in(site.seeded.supervisor)
    pages.page.select_option("select[name=status]", "all")
    pages.page.wait_for_url("**status=all**")
    pages.page.wait_for_load_state("networkidle")
    pages.check("审核队列")
    assert site.seeded.enterprise in pages.page.locator("#results").inner_text()
    pages.page.select_option("select[name=photos_flagged]", "1")
    pages.page.wait_for_url("**photos_flagged=1**")
    pages.page.wait_for_load_state("networkidle")
    assert site.seeded.enterprise in pages.page.locator("#results").inner_text()


def test_an_expired_session_signs_in_again_and_returns(
    browser: Any, site: Site, shots: Path
) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.sign_in(site.seeded.supervisor)
    pages.page.context.clear_cookies()  # what an expired session looks like to the browser
    target = f"/console/inspections/{site.seeded.inspection_id}"
    pages.goto(target)
    pages.check("登录", "10-login-expired")
    assert "登录已过期" in pages.page.locator("main").inner_text()
    pages.sign_in(site.seeded.supervisor)
    assert pages.page.url == site.url(target)
    pages.check("检查记录")


def test_a_wrong_password_is_said_in_place(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.errors.clear()
    pages.sign_in(site.seeded.supervisor, "wrong password")
    # The 401 of the refused sign-in is logged by the browser as a failed resource load.
    pages.errors = [e for e in pages.errors if "401" not in e]
    pages.check("登录", "11-login-wrong")
    assert "用户名或密码错误" in pages.page.locator("[role=alert]").inner_text()


def test_another_units_supervisor_gets_not_found(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.sign_in(site.seeded.stranger)
    pages.page.goto(site.url(f"/console/inspections/{site.seeded.inspection_id}"))
    pages.errors = [e for e in pages.errors if "404" not in e]
    pages.check("未找到")


def test_admin_pages(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.sign_in(site.seeded.admin)
    pages.goto("/console/admin/units")
    pages.check("单位", "12-admin-units")
    pages.goto("/console/admin/users")
    pages.check("用户", "13-admin-users")
    pages.goto(f"/console/admin/users/{site.seeded.inspector_id}/devices")
    pages.check("平板", "14-admin-devices")
    pages.goto("/console/admin/jobs")
    pages.check("后台任务", "15-admin-jobs")


def test_on_a_tablet(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots, TABLET)
    pages.goto("/console/login")
    pages.sign_in(site.seeded.supervisor)
    pages.check("审核队列", "16-tablet-queue")
    pages.goto(f"/console/inspections/{site.seeded.inspection_id}")
    pages.check("检查记录", "17-tablet-record")
    pages.goto("/console/ledger")
    pages.check("隐患台账", "18-tablet-ledger")


def test_a_supervisor_asks_for_watches_and_downloads_bundles(
    browser: Any, site: Site, shots: Path
) -> None:
    """佐证材料 from the record page and from the hazard page (the review test above put the
    hazard in the ledger): the page polls until the worker of `anjian run` has built it, then
    the download is a ZIP whose every file matches its manifest."""
    from media.bundle import verify_zip

    s, pages = site.seeded, _pages(browser, site, shots)
    page = pages.page
    pages.goto(f"/console/inspections/{s.inspection_id}")
    pages.sign_in(s.supervisor)
    pages.check("检查记录")
    page.click("#bundle-ask")
    page.wait_for_load_state("networkidle")
    pages.check("佐证材料")
    page.locator("#bundle-state", has_text="已生成").wait_for(timeout=60_000)
    pages.check("佐证材料", "10-bundle-inspection-ready")
    with page.expect_download() as info:
        page.click("#bundle-download")
    download = info.value
    assert download.suggested_filename.endswith(".zip")
    with open(download.path(), "rb") as zipped:
        assert verify_zip(zipped) == []

    number = _ledger_entry_appears(pages, s.enterprise)
    page.click(f"text={number}")
    page.wait_for_load_state("networkidle")
    pages.check(f"隐患 {number}")
    page.click("#bundle-ask")
    page.wait_for_load_state("networkidle")
    pages.check("佐证材料")
    assert number in page.locator("h1").inner_text()
    page.locator("#bundle-state", has_text="已生成").wait_for(timeout=60_000)
    sha256 = page.locator("#bundle-sha256").inner_text()
    pages.check("佐证材料", "11-bundle-hazard-ready")
    with page.expect_download() as info:
        page.click("#bundle-download")
    with open(info.value.path(), "rb") as zipped:
        data = zipped.read()
    assert hashlib.sha256(data).hexdigest() == sha256
    assert verify_zip(io.BytesIO(data)) == []

    pages.goto("/console/bundles")
    pages.check("佐证材料", "12-bundles-list")
    listed = page.locator("main").inner_text()
    assert f"隐患-{number}" in listed
    assert "已生成" in listed


def test_a_supervisor_opens_a_dispatch_report_follows_a_figure_and_files_it(
    browser: Any, site: Site, shots: Path
) -> None:
    """调度表: the printed form, a figure to its records, filing, the XLSX download."""
    from datetime import date

    s, pages = site.seeded, _pages(browser, site, shots)
    page = pages.page
    to = date.today().isoformat()
    pages.goto(f"/console/reports?template=licheng&from=2023-05-01&to={to}")
    pages.sign_in(s.supervisor)
    pages.check("调度表", "13-dispatch")
    assert "荔城区专项行动进展情况调度表" in page.locator("main").inner_text()
    page.locator("#dispatch tbody tr.total a").first.click()
    page.wait_for_load_state("networkidle")
    pages.check("数据来源", "14-dispatch-cell")
    page.go_back()
    page.wait_for_load_state("networkidle")
    page.select_option("select[name=preparer_id]", index=1)
    page.click("#report-file")
    page.wait_for_load_state("networkidle")
    pages.check("调度表", "15-dispatch-filed")
    assert "第 1 版" in page.locator("#filing").inner_text()
    with page.expect_download() as info:
        page.click("#report-xlsx")
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as book:
        assert book.read(2) == b"PK"
