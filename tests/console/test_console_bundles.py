"""佐证材料 in the console: asked for from a hazard or a record page, its progress polled by htmx
until ready, downloaded through the signed link; another unit's is 404 (docs/bundles.md)."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import Bundle
from tests.backend.bundles.support import BundleWorld, manifest
from tests.console.conftest import sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:weasyprint.*")

BUNDLE_PAGE = re.compile(r"/console/bundles/([0-9a-f-]{36})$")


@pytest.fixture
def bundles_world(app: Flask, client: FlaskClient, session: Session) -> BundleWorld:
    return BundleWorld(app, client, session)


def ask(world: BundleWorld, token: str, scope: str, subject: object) -> Any:
    world.session.commit()
    return world.client.post(
        "/console/bundles", data={"csrf_token": token, "scope": scope, "id": str(subject)}
    )


def test_a_hazard_bundle_is_asked_for_watched_and_downloaded(bundles_world: BundleWorld) -> None:
    world = bundles_world
    loop = world.whole_loop()
    token = sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/hazards/{loop.hazard.id}").get_data(as_text=True)
    assert 'action="/console/bundles"' in page
    assert f'name="id" value="{loop.hazard.id}"' in page

    reply = ask(world, token, "hazard", loop.hazard.id)
    assert reply.status_code == 302, reply.get_data(as_text=True)
    found = BUNDLE_PAGE.search(reply.headers["Location"])
    assert found, reply.headers["Location"]
    bundle_id = found.group(1)
    waiting = world.client.get(f"/console/bundles/{bundle_id}").get_data(as_text=True)
    assert "排队中" in waiting
    poll = f'hx-get="/console/bundles/{bundle_id}/status" hx-trigger="every 1s"'
    assert poll in waiting
    assert "下载" not in waiting

    world.jobs.run_all()
    fragment = world.client.get(f"/console/bundles/{bundle_id}/status")
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "已生成" in text
    assert "hx-get" not in text
    assert "<html" not in text  # a fragment, swapped into the page
    link = re.search(r'id="bundle-download" href="([^"]+)"', text)
    assert link, text
    download = world.client.get(link.group(1).replace("&amp;", "&"))
    assert download.status_code == 200
    data = download.get_data()
    download.close()
    digest = re.search(r'id="bundle-sha256">([0-9a-f]{64})<', text)
    assert digest
    assert hashlib.sha256(data).hexdigest() == digest.group(1)
    assert manifest(data)["subject"]["id"] == str(loop.hazard.id)

    listed = world.client.get("/console/bundles").get_data(as_text=True)
    assert f"/console/bundles/{bundle_id}" in listed
    assert f"隐患-{loop.hazard.number}" in listed
    assert 'href="/console/bundles"' in listed  # in the navigation


def test_a_record_page_asks_for_the_inspection_bundle(bundles_world: BundleWorld) -> None:
    world = bundles_world
    entry = world.approved()[0]
    token = sign_in(world.client, world.supervisor)
    page = world.client.get(f"/console/inspections/{entry.inspection_id}").get_data(as_text=True)
    assert 'name="scope" value="inspection"' in page
    reply = ask(world, token, "inspection", entry.inspection_id)
    assert reply.status_code == 302
    world.jobs.run_all()
    shown = world.client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "已生成" in shown
    assert 'id="bundle-download"' in shown


def test_another_units_bundle_is_404_and_not_listed(bundles_world: BundleWorld) -> None:
    world = bundles_world
    entry = world.approved()[0]
    token = sign_in(world.client, world.supervisor)
    location = ask(world, token, "hazard", entry.id).headers["Location"]
    world.client.post("/console/logout", data={"csrf_token": token})

    other = sign_in(world.client, world.stranger)
    assert world.client.get(location).status_code == 404
    assert world.client.get(f"{location}/status").status_code == 404
    refused = ask(world, other, "hazard", entry.id)
    assert refused.status_code == 404
    assert location not in world.client.get("/console/bundles").get_data(as_text=True)


def test_asking_without_the_csrf_token_or_for_a_filing_that_is_none_is_refused(
    bundles_world: BundleWorld,
) -> None:
    world = bundles_world
    entry = world.approved()[0]
    token = sign_in(world.client, world.supervisor)
    world.session.commit()
    forged = world.client.post("/console/bundles", data={"scope": "hazard", "id": str(entry.id)})
    assert forged.status_code == 400
    report = ask(world, token, "report", uuid.uuid4())  # no such filing
    assert report.status_code == 404
    assert world.count(Bundle) == 0
    assert "还没有申请过佐证材料" in world.client.get("/console/bundles").get_data(as_text=True)


def test_a_failed_bundle_says_why_and_can_be_asked_for_again(bundles_world: BundleWorld) -> None:
    from media import content_key

    world = bundles_world
    loop = world.whole_loop()
    entry = loop.hazard
    store = world.app.extensions["anjian"].store
    photo = loop.after[2]
    original = store.get(content_key(photo))
    store.delete(content_key(photo))
    token = sign_in(world.client, world.supervisor)
    location = ask(world, token, "hazard", entry.id).headers["Location"]
    world.jobs.run_all()
    failed = world.client.get(f"{location}/status").get_data(as_text=True)
    assert "生成失败" in failed
    assert f"隐患-{entry.number}/06-复查（合格）/01.jpg" in failed  # the reason names the file
    assert "重新生成" in failed
    assert "hx-get" not in failed

    store.put(content_key(photo), original, content_type="image/jpeg")
    again = ask(world, token, "hazard", entry.id)
    assert again.headers["Location"] == location  # the same bundle, queued again
    world.jobs.run_all()
    assert "已生成" in world.client.get(location).get_data(as_text=True)


def test_a_filed_report_bundle_is_asked_for_from_the_console(bundles_world: BundleWorld) -> None:
    """The console has no page of filings to put the button on; its bundle request takes the
    report scope like the others, and the bundle page names it."""
    from tests.backend.bundles.test_report_bundle import file_report

    world = bundles_world
    filing = file_report(world)
    token = sign_in(world.client, world.supervisor)
    reply = ask(world, token, "report", filing["id"])
    assert reply.status_code == 302, reply.get_data(as_text=True)
    found = BUNDLE_PAGE.search(reply.headers["Location"])
    assert found, reply.headers["Location"]
    page = world.client.get(found.group(0)).get_data(as_text=True)
    assert "调度表" in page
    assert "冻结" in page  # the page says the bundle holds the figures as filed
