"""The console in a real Chromium against a real server: a supervisor signs in, reviews a record,
approves it with a clause for the major finding, and follows the hazard through the ledger to
销号. Every page: a visible Chinese heading, no console errors, a screenshot of the main ones
(their folder is printed; CONSOLE_SCREENSHOTS moves it)."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from backend.services.ledger.states import CHINA
from tests.console.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    TABLETS,
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


@pytest.fixture
def opened() -> Iterator[list[Pages]]:
    """The pages a test opened: at its end, every page each went to has been checked."""
    pages: list[Pages] = []
    yield pages
    for one in pages:
        one.finish()


_OPENED: list[list[Pages]] = []


@pytest.fixture(autouse=True)
def _track(opened: list[Pages]) -> Iterator[None]:
    _OPENED.append(opened)
    yield
    _OPENED.remove(opened)


def _pages(
    browser: Any, site: Site, shots: Path, viewport: dict[str, int] = LAPTOP, touch: bool = False
) -> Pages:
    context = browser.new_context(viewport=viewport, locale="zh-CN", has_touch=touch)
    pages = Pages(context.new_page(), site, shots)
    _OPENED[-1].append(pages)
    return pages


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
    pages.check("检查记录", "12-record-major-without-clause")
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
    assert not fieldset.locator(".error").count()  # the refusal was about the cleared clause
    pages.check("检查记录", "13-record-clause-picked")
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
        pages.check("检查记录")
    link.first.click()
    page.wait_for_load_state("networkidle")
    pages.check("隐患", "14-hazard-with-clause")
    assert MAJOR_LABEL in page.locator("main").inner_text()


def _hazard_id(page: Any) -> str:
    return str(page.url.rstrip("/").rsplit("/", 1)[-1])


def _ledger_entry_appears(pages: Pages, enterprise: str, timeout: float = 20) -> str:
    """The worker makes the entries after the commit: reload the ledger until they are there."""
    deadline = time.monotonic() + timeout
    while True:
        pages.goto("/console/ledger?level=major")
        pages.check("隐患台账")
        rows = pages.page.locator("#rows tr")
        if enterprise in rows.first.inner_text():
            return str(rows.first.locator("td").first.inner_text()).strip()
        assert time.monotonic() < deadline, "no ledger entry appeared"
        time.sleep(0.3)


def test_filters_swap_the_results_in_place(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.check("登录")
    pages.sign_in(site.seeded.supervisor)
    pages.check("审核队列")
    pages.page.select_option("select[name=status]", "all")
    pages.page.wait_for_url("**status=all**")
    pages.page.wait_for_load_state("networkidle")
    pages.check("审核队列")
    assert site.seeded.enterprise in pages.page.locator("#results").inner_text()
    pages.page.select_option("select[name=photos_flagged]", "1")
    pages.page.wait_for_url("**photos_flagged=1**")
    pages.page.wait_for_load_state("networkidle")
    pages.check("审核队列")
    assert site.seeded.enterprise in pages.page.locator("#results").inner_text()


def test_an_expired_session_signs_in_again_and_returns(
    browser: Any, site: Site, shots: Path
) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.check("登录")
    pages.sign_in(site.seeded.supervisor)
    pages.check("审核队列")
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
    pages.check("登录")
    pages.sign_in(site.seeded.supervisor, "wrong password")
    # The 401 of the refused sign-in is logged by the browser as a failed resource load.
    pages.errors = [e for e in pages.errors if "401" not in e]
    pages.check("登录", "11-login-wrong")
    assert "用户名或密码错误" in pages.page.locator("[role=alert]").inner_text()


def test_another_units_supervisor_gets_not_found(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.check("登录")
    pages.sign_in(site.seeded.stranger)
    pages.check("审核队列")
    pages.page.goto(site.url(f"/console/inspections/{site.seeded.inspection_id}"))
    pages.errors = [e for e in pages.errors if "404" not in e]
    pages.check("未找到", "15-not-found")


def test_admin_pages(browser: Any, site: Site, shots: Path) -> None:
    pages = _pages(browser, site, shots)
    pages.goto("/console/login")
    pages.check("登录")
    pages.sign_in(site.seeded.admin)
    pages.check("审核队列")
    pages.goto("/console/admin/units")
    pages.check("单位", "16-admin-units")
    pages.goto("/console/admin/users")
    pages.check("用户", "17-admin-users")
    pages.goto(f"/console/admin/users/{site.seeded.inspector_id}/devices")
    pages.check("平板", "18-admin-devices")
    pages.goto("/console/admin/jobs")
    pages.check("后台任务", "19-admin-jobs")


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
    pages.check("登录")
    pages.sign_in(s.supervisor)
    pages.check("检查记录")
    page.click("#bundle-ask")
    page.wait_for_load_state("networkidle")
    pages.check("佐证材料")
    page.locator("#bundle-state", has_text="已生成").wait_for(timeout=60_000)
    pages.check("佐证材料", "20-bundle-inspection-ready")
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
    pages.check("佐证材料", "21-bundle-hazard-ready")
    with page.expect_download() as info:
        page.click("#bundle-download")
    with open(info.value.path(), "rb") as zipped:
        data = zipped.read()
    assert hashlib.sha256(data).hexdigest() == sha256
    assert verify_zip(io.BytesIO(data)) == []

    pages.goto("/console/bundles")
    pages.check("佐证材料", "22-bundles-list")
    listed = page.locator("main").inner_text()
    assert f"隐患-{number}" in listed
    assert "已生成" in listed


def test_a_supervisor_opens_a_dispatch_report_follows_a_figure_and_files_it(
    browser: Any, site: Site, shots: Path, tmp_path: Path
) -> None:
    """调度表: the printed form, a figure to its records, filing, the XLSX download; filing
    again after a figure changed shows the change; the 福州 and 海城 forms."""
    s, pages = site.seeded, _pages(browser, site, shots)
    page = pages.page
    to = datetime.now(CHINA).date().isoformat()
    pages.goto(f"/console/reports?template=licheng&from=2023-05-01&to={to}")
    pages.check("登录")
    pages.sign_in(s.supervisor)
    pages.check("调度表", "23-dispatch")
    assert "荔城区专项行动进展情况调度表" in page.locator("main").inner_text()
    page.locator("#dispatch tbody tr.total a").first.click()
    page.wait_for_load_state("networkidle")
    pages.check("数据来源", "24-dispatch-cell")
    page.go_back()
    page.wait_for_load_state("networkidle")
    pages.check("调度表")
    page.select_option("select[name=preparer_id]", index=1)
    page.click("#report-file")
    page.wait_for_load_state("networkidle")
    pages.check("调度表", "25-dispatch-filed")
    assert "第 1 版" in page.locator("#filing").inner_text()
    with page.expect_download() as info:
        page.click("#report-xlsx")
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as book:
        assert book.read(2) == b"PK"

    # The seeded general hazard is rectified and re-inspected: filing again (更正) shows the
    # changed figures, old → new.
    _rectify(browser, site, shots, s.general_hazard_id, tmp_path)
    page.reload()
    page.wait_for_load_state("networkidle")
    pages.check("调度表")
    page.select_option("select[name=preparer_id]", index=1)
    page.fill("textarea[name=reason]", "补报整改销号情况")
    page.click("#report-file")
    page.wait_for_load_state("networkidle")
    pages.check("调度表", "26-dispatch-restated")
    filings = page.locator("#filings").inner_text()
    assert "第 2 版（更正）" in filings
    assert "补报整改销号情况" in filings
    changes = page.locator("#changes-2").inner_text()
    assert "一般隐患／已整改" in changes
    assert "累计" in changes

    for template, shot in (("fuzhou", "27-dispatch-fuzhou"), ("haicheng", "28-dispatch-haicheng")):
        pages.goto(f"/console/reports?template={template}&month={to[:7]}")
        pages.check("调度表", shot)
        assert page.locator("#dispatch th.block").count() == 4
        page.locator("#dispatch td.fig a").first.click()
        page.wait_for_load_state("networkidle")
        pages.check("数据来源")


def _rectify(browser: Any, site: Site, shots: Path, hazard_id: str, tmp_path: Path) -> None:
    """整改情况报告 by the inspector, 复查 passed by the supervisor, each in their own browser."""
    s = site.seeded
    for person, form_id in ((s.inspector, "rectification_reported"), (s.supervisor, "reinspected")):
        pages = _pages(browser, site, shots)
        pages.goto(f"/console/hazards/{hazard_id}")
        pages.check("登录")
        pages.sign_in(person)
        pages.check("隐患")
        form = pages.page.locator(f"#form-{form_id}")
        if form_id == "rectification_reported":
            after = tmp_path / "after-general.jpg"
            after.write_bytes(photo_bytes("P40", taken="2026:11:29 10:00:00", colour="#47a"))
            form.locator("textarea[name=measures]").fill("合同已送县级主管部门备查")
            form.locator("input[name=photos]").set_input_files(str(after))
        else:
            form.locator("input[name=passed][value='1']").check()
            form.locator("textarea[name=comment]").fill("复查合格")
        form.locator("button[type=submit]").click()
        pages.page.wait_for_load_state("networkidle")
        pages.check("隐患")
        pages.page.context.close()


# Elements wider than the viewport, outside the deliberate scroll containers (`.scroll`: tables
# scroll sideways inside their own box); the page itself must not scroll sideways.
OVERFLOW = """() => {
  const w = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > w) {
    out.push(`the page is ${document.documentElement.scrollWidth}px wide in ${w}px`);
  }
  for (const el of document.querySelectorAll('body *')) {
    if (el.parentElement && el.parentElement.closest('.scroll')) continue;
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (r.right > w + 1 || r.left < -1) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} `
        + `${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return out.slice(0, 8);
}"""

# Controls a finger must hit, under 40px tall (a checkbox or radio counts by its label).
SMALL = """() => {
  const out = [];
  const controls = document.querySelectorAll(
    'main input:not([type=hidden]), main select, main textarea, main button, main a.button,'
    + ' header nav a, header button');
  for (const el of controls) {
    const box = ['checkbox', 'radio'].includes(el.type) ? el.closest('label') || el : el;
    const r = box.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    const what = `${el.tagName.toLowerCase()}[${el.name || el.textContent.trim()}]`;
    if (r.height < 40) out.push(`${what} ${Math.round(r.height)}px`);
  }
  return out.slice(0, 8);
}"""

# Every navigation link is on screen and not covered by anything.
NAV = """() => [...document.querySelectorAll('header nav a')].filter(a => {
  const r = a.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return !(r.width && r.right <= innerWidth && r.bottom <= innerHeight && a.contains(hit));
}).map(a => a.textContent.trim())"""


def _usable(pages: Pages, heading: str, shot: str) -> None:
    pages.check(heading, shot)
    page = pages.page
    for probe, what in (
        (OVERFLOW, "wider than the screen"),
        (SMALL, "too small to touch"),
        (NAV, "navigation off screen"),
    ):
        found = page.evaluate(probe)
        assert not found, f"{shot}: {what}: {'; '.join(found)}"
    assert page.locator("header nav a").count() >= 4


@pytest.mark.parametrize("orientation", sorted(TABLETS))
def test_on_a_tablet(browser: Any, site: Site, shots: Path, orientation: str) -> None:
    """The main pages on a 10-inch tablet, upright and on its side: nothing wider than the
    screen but the tables in their own scroll boxes, every navigation link on screen, every
    control tall enough to touch; a screenshot of each."""
    s = site.seeded
    pages = _pages(browser, site, shots, TABLETS[orientation], touch=True)
    name = f"tablet-{orientation}"
    today = datetime.now(CHINA).date().isoformat()
    pages.goto("/console/login")
    pages.check("登录", f"{name}-01-login")
    assert not pages.page.evaluate(OVERFLOW)
    assert not pages.page.evaluate(SMALL)
    pages.sign_in(s.supervisor)
    _usable(pages, "审核队列", f"{name}-02-queue")
    main = [
        ("/console/queue?status=all", "审核队列", "02-queue-all"),
        (f"/console/inspections/{s.pending_inspection_id}", "检查记录", "03-record"),
        ("/console/ledger", "隐患台账", "04-ledger"),
        (f"/console/hazards/{s.general_hazard_id}", "隐患", "05-hazard"),
        (
            f"/console/reports?template=licheng&from=2023-05-01&to={today}",
            "调度表",
            "06-dispatch-licheng",
        ),
        (f"/console/reports?template=fuzhou&month={today[:7]}", "调度表", "07-dispatch-fuzhou"),
        (
            f"/console/reports/cell?template=licheng&from=2023-05-01&to={today}&column=general_found",
            "数据来源",
            "08-dispatch-cell",
        ),
        ("/console/bundles", "佐证材料", "09-bundles"),
    ]
    for path, heading, shot in main:
        pages.goto(path)
        _usable(pages, heading, f"{name}-{shot}")
        if shot == "03-record":  # the decision form, with a clause select per finding
            assert pages.page.locator("button[name=decision][value=approve]").is_visible()
        assert not pages.page.locator("main .error").count(), shot
