"""The console as a browser without JavaScript sees it: sign-in, scope, CSRF, expiry, errors."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.models import AccessToken, Hazard, InspectionStatus, User, utcnow
from tests.backend.ledger.support import RecordingDispatcher, World, problem_answers
from tests.console.conftest import csrf_of, sign_in
from tests.sync_support import save_args


def test_root_redirects_to_the_console(client: FlaskClient) -> None:
    reply = client.get("/")
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/console/queue")


def test_a_page_without_a_session_sends_to_sign_in_and_back(world: World) -> None:
    submitted = world.submit()
    path = f"/console/inspections/{submitted.id}"
    reply = world.client.get(path)
    assert reply.status_code == 302
    assert "/console/login?next=" in reply.headers["Location"]
    login_page = world.client.get(reply.headers["Location"]).get_data(as_text=True)
    assert 'lang="zh-CN"' in login_page
    assert "登录已过期" in login_page
    token = csrf_of(world.client)
    back = world.client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "username": world.supervisor.username,
            "password": "correct horse battery staple",
            "next": path,
        },
    )
    assert back.status_code == 302
    assert back.headers["Location"] == path


def test_the_session_cookie_is_httponly_samesite_and_console_only(world: World) -> None:
    token = csrf_of(world.client)
    reply = world.client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "username": world.supervisor.username,
            "password": "correct horse battery staple",
        },
    )
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("anjian_console=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/console" in cookie


def test_pages_carry_a_strict_content_security_policy(client: FlaskClient) -> None:
    policy = client.get("/console/login").headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_wrong_password_is_said_in_chinese_in_place(world: World) -> None:
    token = csrf_of(world.client)
    reply = world.client.post(
        "/console/login",
        data={"csrf_token": token, "username": world.supervisor.username, "password": "nope"},
    )
    assert reply.status_code == 401
    assert "用户名或密码错误" in reply.get_data(as_text=True)


def test_sign_in_refuses_a_form_without_the_csrf_token(world: World) -> None:
    world.client.get("/console/login")
    reply = world.client.post(
        "/console/login",
        data={"username": world.supervisor.username, "password": "correct horse battery staple"},
    )
    assert reply.status_code == 400
    assert "页面已过期或来源不明" in reply.get_data(as_text=True)


def test_a_review_posted_without_the_csrf_token_is_refused(world: World) -> None:
    submitted = world.submit()
    sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review", data={"decision": "return"}
    )
    assert reply.status_code == 400
    assert "页面已过期或来源不明" in reply.get_data(as_text=True)
    assert _status(world, submitted.id) is InspectionStatus.submitted


def test_a_wrong_csrf_token_is_refused_too(world: World) -> None:
    submitted = world.submit()
    sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={"decision": "return", "csrf_token": "forged"},
    )
    assert reply.status_code == 400
    assert _status(world, submitted.id) is InspectionStatus.submitted


def test_another_units_record_is_404_through_the_console(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.stranger)
    page = world.client.get(f"/console/inspections/{submitted.id}")
    assert page.status_code == 404
    assert "没有找到该记录" in page.get_data(as_text=True)
    decided = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={"decision": "return", "csrf_token": token},
    )
    assert decided.status_code == 404
    assert _status(world, submitted.id) is InspectionStatus.submitted
    queue = world.client.get("/console/queue").get_data(as_text=True)
    assert str(submitted.id) not in queue


def test_another_units_hazard_is_404_through_the_console(world: World) -> None:
    entry = world.approved()[0]
    token = sign_in(world.client, world.stranger)
    assert world.client.get(f"/console/hazards/{entry.id}").status_code == 404
    reply = world.client.post(
        f"/console/hazards/{entry.id}/events",
        data={"type": "rectification_reported", "measures": "x", "csrf_token": token},
    )
    assert reply.status_code == 404


def test_the_queue_lists_the_units_submitted_records(world: World) -> None:
    submitted = world.submit()
    sign_in(world.client, world.supervisor)
    page = world.client.get("/console/queue").get_data(as_text=True)
    assert f"/console/inspections/{submitted.id}" in page
    assert "<h1>审核队列</h1>" in page


def test_the_record_reads_answers_in_words_that_respect_polarity(world: World) -> None:
    submitted = world.submit()
    sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    # 1(a) asks about compliance and was answered 否: the problem is there.
    assert '存在</span> <span class="muted">（否）' in page
    # 1(e) names a problem and was answered 否: it is not there.
    assert '不存在</span> <span class="muted">（否）' in page
    assert "《工贸企业重大事故隐患判定标准》第十三条（一）" in page


def test_an_amendment_is_shown_beside_the_current_version(world: World) -> None:
    submitted = world.submit()
    late = save_args(
        world.session,
        world.enterprise.id,
        inspection_id=submitted.id,
        answers={**problem_answers(), "confined_space.2": "yes"},
    )
    reply = world.tablet.push(world.tablet.command("inspection.save@1", late))
    assert reply.json["results"][0]["code"] == "inspection.locked"
    sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    assert "补正（记录锁定后平板发来的修改，1 次）" in page
    assert "2：当前否 → 补正是" in page


def test_returning_needs_no_findings_and_reaches_the_record(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={"decision": "return", "comment": "请补拍照片", "csrf_token": token},
    )
    assert reply.status_code == 302
    assert _status(world, submitted.id) is InspectionStatus.returned


def test_a_return_comment_reaches_the_tablet(live_app: Flask, live_session: Session) -> None:
    """Committed for real: a pull serves only what every other transaction can see."""
    live_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    world = World(live_app, live_app.test_client(), live_session)
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={"decision": "return", "comment": "请补拍入口照片", "csrf_token": token},
    )
    assert reply.status_code == 302
    deadline = time.monotonic() + 30
    while True:
        reviews = [
            c["data"]["review"]
            for c in world.tablet.pull(limit=2000).json["changes"]
            if c["type"] == "inspection"
            and c["bucket"].startswith("user:")
            and (c.get("data") or {}).get("review")
        ]
        if reviews or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reviews[-1]["decision"] == "return"
    assert reviews[-1]["comment"] == "请补拍入口照片"


def test_the_queue_pages_by_keyset(world: World) -> None:
    world.app.config["CONSOLE_PAGE_SIZE"] = 1
    first, second = world.submit(), world.submit()
    sign_in(world.client, world.supervisor)
    page = world.client.get("/console/queue").get_data(as_text=True)
    assert f"/console/inspections/{first.id}" in page
    assert f"/console/inspections/{second.id}" not in page
    more = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-select="#rows > tr"', page)
    assert more, "no 加载更多 link"
    following = world.client.get(html.unescape(more.group(1))).get_data(as_text=True)
    assert f"/console/inspections/{second.id}" in following


def test_a_refused_decision_is_explained_in_chinese_and_changes_nothing(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={"decision": "reject", "csrf_token": token},
    )
    assert reply.status_code == 422
    assert "驳回必须填写理由" in reply.get_data(as_text=True)
    assert _status(world, submitted.id) is InspectionStatus.submitted


def test_approving_confirms_each_finding_and_queues_the_ledger(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data={
            "decision": "approve",
            "csrf_token": token,
            "finding": [str(submitted.major_finding), str(submitted.general_finding)],
            f"level-{submitted.major_finding}": "major",
            f"clause-{submitted.major_finding}": "gmqy2023.13.1",
            f"level-{submitted.general_finding}": "general",
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert world.jobs.run_all() == ["done"]
    entries = world.hazards(submitted.id)
    assert {(h.level, h.clause) for h in entries} == {("major", "gmqy2023.13.1"), ("general", None)}
    ledger = world.client.get("/console/ledger").get_data(as_text=True)
    assert all(h.number in ledger for h in entries)


def _approve_form(submitted: Any, token: str, **fields: str) -> dict[str, Any]:
    return {
        "decision": "approve",
        "csrf_token": token,
        "finding": [str(submitted.major_finding), str(submitted.general_finding)],
        f"level-{submitted.major_finding}": "major",
        f"clause-{submitted.major_finding}": "gmqy2023.13.1",
        f"level-{submitted.general_finding}": "general",
        **fields,
    }


def _fieldset(page: str, finding_id: Any) -> str:
    """The decision form's fieldset of one finding (where its error is said)."""
    start = page.index(f'name="finding" value="{finding_id}"')
    return page[start : page.index("</fieldset>", start)]


def test_the_record_offers_the_clauses_in_force_for_the_sector_with_the_suggestion_chosen(
    world: World,
) -> None:
    submitted = world.submit()
    sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    major = _fieldset(page, submitted.major_finding)
    # The catalogue's clauses for a 有限空间 enterprise: the 工贸 standard's, not the gas one's.
    assert re.search(r'<option value="gmqy2023\.13\.1" selected>', major), major
    assert 'value="gmqy2023.13.2"' in major
    assert 'value="czrq2023.6.1"' not in major
    # The chosen clause's text as printed, and each of its conditions met.
    assert "未对有限空间进行辨识、建立安全管理台账，并且未设置明显的安全警示标志的" in major
    assert "本次检查结果满足该条款" in major
    general = _fieldset(page, submitted.general_finding)
    assert re.search(r'<option value="" selected>|<option value="">', general)
    assert " selected>" not in general.split('name="clause-')[1].split("</select>")[0]


def test_the_clause_fragment_names_the_missing_condition(world: World) -> None:
    answers = {**problem_answers(), "confined_space.1.b": "yes"}  # 警示标志 present
    submitted = world.submit(answers=answers)
    sign_in(world.client, world.supervisor)
    fid = submitted.major_finding
    reply = world.client.get(
        f"/console/inspections/{submitted.id}/findings/{fid}/clause",
        query_string={f"clause-{fid}": "gmqy2023.13.1"},
    )
    assert reply.status_code == 200
    text = reply.get_data(as_text=True)
    assert "本次检查结果不满足该条款" in text
    assert re.search(r"1\(b\) [^；]*✗ 缺少", text), text
    assert re.search(r"1\(a\) [^；]*✓", text), text
    unknown = world.client.get(
        f"/console/inspections/{submitted.id}/findings/{fid}/clause",
        query_string={f"clause-{fid}": "no.such.clause"},
    )
    assert unknown.status_code == 404


def test_the_clause_fragment_of_another_units_record_is_missing(world: World) -> None:
    submitted = world.submit()
    sign_in(world.client, world.stranger)
    fid = submitted.major_finding
    reply = world.client.get(f"/console/inspections/{submitted.id}/findings/{fid}/clause")
    assert reply.status_code == 404


def test_a_major_without_a_clause_is_refused_in_place_in_chinese(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data=_approve_form(submitted, token, **{f"clause-{submitted.major_finding}": ""}),
    )
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert "确认为重大事故隐患须选择所依据的判定条款" in _fieldset(page, submitted.major_finding)
    assert 'class="error"' not in _fieldset(page, submitted.general_finding)
    assert _status(world, submitted.id) is InspectionStatus.submitted
    assert world.jobs.run_all() == []


def test_a_general_finding_made_major_without_a_clause_is_refused_in_its_place(
    world: World,
) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    fields = {
        f"level-{submitted.general_finding}": "major",
        f"reason-{submitted.general_finding}": "现场情况严重",
    }
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data=_approve_form(submitted, token, **fields),
    )
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert "确认为重大事故隐患须选择所依据的判定条款" in _fieldset(page, submitted.general_finding)
    assert 'class="error"' not in _fieldset(page, submitted.major_finding)
    assert _status(world, submitted.id) is InspectionStatus.submitted


def test_a_clause_that_does_not_bind_the_sector_is_refused_in_place(world: World) -> None:
    submitted = world.submit()
    token = sign_in(world.client, world.supervisor)
    fields = {
        f"clause-{submitted.major_finding}": "czrq2023.6.1",  # gas: not this enterprise's
        f"reason-{submitted.major_finding}": "试图引用燃气条款",
    }
    reply = world.client.post(
        f"/console/inspections/{submitted.id}/review",
        data=_approve_form(submitted, token, **fields),
    )
    assert reply.status_code == 422
    place = _fieldset(reply.get_data(as_text=True), submitted.major_finding)
    assert "不适用于该企业的行业领域" in place
    assert _status(world, submitted.id) is InspectionStatus.submitted


def test_an_expired_session_on_a_form_post_returns_to_the_page(world: World) -> None:
    entry = world.approved()[0]
    token = sign_in(world.client, world.supervisor)
    world.session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == world.supervisor.id)
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    world.session.commit()
    page = f"/console/hazards/{entry.id}"
    reply = world.client.post(
        f"{page}/events",
        data={"type": "rectification_reported", "measures": "已整改", "csrf_token": token},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert reply.status_code == 302
    assert "/console/login" in reply.headers["Location"]
    assert f"next={page}&" in reply.headers["Location"]
    assert _hazard(world, entry).measures is None


def test_a_rectification_recorded_through_the_form_moves_the_hazard(world: World) -> None:
    entry = world.approved()[1]  # the general one
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/hazards/{entry.id}/events",
        data={
            "type": "rectification_reported",
            "measures": "补送合同",
            "funds": "1200",
            "csrf_token": token,
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert _hazard(world, entry).state.value == "awaiting_reinspection"
    page = world.client.get(f"/console/hazards/{entry.id}").get_data(as_text=True)
    assert "整改情况报告" in page
    assert "1,200 元" in page


def test_an_event_the_state_does_not_allow_is_refused_in_place(world: World) -> None:
    entry = world.approved()[1]
    token = sign_in(world.client, world.supervisor)
    reply = world.client.post(
        f"/console/hazards/{entry.id}/events",
        data={"type": "closed", "csrf_token": token},
    )
    assert reply.status_code == 409
    assert "当前的状态不允许这一步" in reply.get_data(as_text=True)


def test_the_ledger_export_is_the_spreadsheet(world: World) -> None:
    world.approved()
    sign_in(world.client, world.supervisor)
    reply = world.client.get("/console/ledger/export?level=major")
    assert reply.status_code == 200
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    assert reply.data[:2] == b"PK"


def test_admin_pages_are_for_admins_only(world: World) -> None:
    sign_in(world.client, world.supervisor)
    assert world.client.get("/console/admin/users").status_code == 403


def test_an_admin_revokes_a_lost_tablet(world: World) -> None:
    device = world.tablet.device_id
    token = sign_in(world.client, world.admin)
    page = world.client.get(f"/console/admin/users/{world.inspector.id}/devices")
    assert str(device) in page.get_data(as_text=True)
    reply = world.client.post(
        f"/console/admin/users/{world.inspector.id}/devices",
        data={"device_id": str(device), "reason": "平板丢失", "csrf_token": token},
    )
    assert reply.status_code == 302
    again = world.client.get(f"/console/admin/users/{world.inspector.id}/devices")
    assert "已停用" in again.get_data(as_text=True)


def _status(world: World, inspection_id: object) -> InspectionStatus:
    from backend.models import Inspection

    world.session.expire_all()
    return world.session.get_one(Inspection, inspection_id).status


def _hazard(world: World, entry: Hazard) -> Hazard:
    world.session.expire_all()
    return world.session.get_one(Hazard, entry.id)


def test_an_admin_adds_a_unit_and_a_user_and_disables_the_user(world: World) -> None:
    token = sign_in(world.client, world.admin)
    added = world.client.post(
        "/console/admin/units",
        data={
            "csrf_token": token,
            "name": "城东街道",
            "kind": "town",
            "parent_id": str(world.district.id),
        },
    )
    assert added.status_code == 302, added.get_data(as_text=True)
    assert "城东街道" in world.client.get("/console/admin/units").get_data(as_text=True)
    created = world.client.post(
        "/console/admin/users",
        data={
            "csrf_token": token,
            "username": "chengdong1",
            "display_name": "陈检查",
            "role": "inspector",
            "unit_id": str(world.town.id),
            "password": "a long enough password",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    person = world.session.scalars(select(User).where(User.username == "chengdong1")).one()
    world.client.post(
        "/console/admin/users",
        data={"csrf_token": token, "user_id": str(person.id), "active": "0"},
    )
    world.session.expire_all()
    assert world.session.get_one(User, person.id).active is False


def test_a_taken_username_is_said_in_place(world: World) -> None:
    token = sign_in(world.client, world.admin)
    reply = world.client.post(
        "/console/admin/users",
        data={
            "csrf_token": token,
            "username": world.inspector.username,
            "display_name": "重名",
            "role": "inspector",
            "unit_id": str(world.town.id),
            "password": "a long enough password",
        },
    )
    assert reply.status_code == 422
    assert "该用户名已被使用" in reply.get_data(as_text=True)


def test_an_admin_retries_a_failed_job(world: World) -> None:
    from backend.models import OutboxItem

    item = OutboxItem(
        kind="ledger.create_entries",
        key="ledger:console-test",
        payload={},
        status="failed",
        attempts=5,
        last_error="OperationalError: could not connect to server: 连接被拒绝 " + "x" * 200,
    )
    world.session.add(item)
    world.session.commit()
    token = sign_in(world.client, world.admin)
    page = world.client.get("/console/admin/jobs").get_data(as_text=True)
    assert "ledger:console-test" in page
    assert "OperationalError: could not connect to server: 连接被拒绝" in page  # the reason
    assert f'title="{item.last_error}"' in page  # in full, however long
    reply = world.client.post(
        "/console/admin/jobs", data={"item_id": str(item.id), "csrf_token": token}
    )
    assert reply.status_code == 302
    world.session.expire_all()
    assert world.session.get_one(OutboxItem, item.id).status == "pending"
    assert [job[2] for job in world.jobs.jobs] == [f"outbox-{item.id}"]


def test_reclassifying_to_major_picks_the_clause_from_the_catalogue(world: World) -> None:
    entry = world.approved()[1]  # the general one
    token = sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/hazards/{entry.id}").get_data(as_text=True)
    form = page[page.index('id="form-reclassified"') :]
    form = form[: form.index("</form>")]
    assert 'value="gmqy2023.13.2"' in form
    assert 'value="czrq2023.6.1"' not in form  # gas: not this enterprise's sector
    reply = world.client.post(
        f"/console/hazards/{entry.id}/events",
        data={"type": "reclassified", "level": "major", "reason": "复核", "csrf_token": token},
    )
    assert reply.status_code == 422
    assert "改为重大事故隐患须填写所依据的判定条款" in reply.get_data(as_text=True)
    assert _hazard(world, entry).level == "general"
    reply = world.client.post(
        f"/console/hazards/{entry.id}/events",
        data={
            "type": "reclassified",
            "level": "major",
            "clause": "gmqy2023.13.2",
            "reason": "复核确认未落实作业审批",
            "csrf_token": token,
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert (_hazard(world, entry).level, _hazard(world, entry).clause) == (
        "major",
        "gmqy2023.13.2",
    )
    page = world.client.get(f"/console/hazards/{entry.id}").get_data(as_text=True)
    assert "未落实有限空间作业审批，或者未执行“先通风、再检测、后作业”要求" in page


def test_the_record_shows_the_facts_a_clause_needs(world: World) -> None:
    submitted = world.submit()  # 2023.2, with 中毒风险 recorded as holding
    sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    table = page[page.index('<table id="facts">') :]
    table = table[: table.index("</table>")]
    row = table[table.index("存在硫化氢、一氧化碳等中毒风险的有限空间作业") :]
    row = row[: row.index("</tr>")]
    assert "《工贸企业重大事故隐患判定标准》第十三条" in row
    assert '<span class="badge">是</span>' in row
    assert "未落实有限空间作业审批" in table


def test_findings_of_one_situation_are_shown_as_one_major_and_merged(world: World) -> None:
    from tests.sync_support import finding

    parts = [
        finding(["confined_space.1.a"], description="未对有限空间进行辨识"),
        finding(["confined_space.1.c"], description="未建立有限空间安全管理台账"),
        finding(["confined_space.1.b"], description="未设置明显的安全警示标志"),
    ]
    contract = finding(["confined_space.2"], description="有限空间作业合同未送县级主管部门备查")
    submitted = world.submit(findings=[*parts, contract])
    token = sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    assert page.count("一处重大事故隐患：隐患 1、2、3 共同构成同一判定条款的情形") == 3
    assert "以本条为主登记一条台账" in page
    assert "审核确认后并入隐患 1 的台账条目" in page
    data: dict[str, Any] = {"decision": "approve", "csrf_token": token, "finding": []}
    for part in parts:
        data["finding"].append(part["id"])
        data[f"level-{part['id']}"] = "major"
        data[f"clause-{part['id']}"] = "gmqy2023.13.1"
    data["finding"].append(contract["id"])
    data[f"level-{contract['id']}"] = "general"
    reply = world.client.post(f"/console/inspections/{submitted.id}/review", data=data)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    assert world.jobs.run_all() == ["done"]
    entry, general = world.hazards(submitted.id)
    assert (entry.level, general.level) == ("major", "general")
    assert entry.findings == [p["id"] for p in parts]
    page = world.client.get(f"/console/inspections/{submitted.id}").get_data(as_text=True)
    assert page.count("；并入隐患 1 的台账条目") == 2  # the confirmations of parts 2 and 3
    assert page.count(entry.number) >= 3  # each part links to the one entry
    assert "ledger:console-test" not in world.client.get("/console/admin/jobs").get_data(
        as_text=True
    )
