"""The access matrix (issue 12): every registered route, as every role, against resources of the
caller's unit, a sibling, the parent and a child unit; and with no token, a revoked token and a
deactivated user. The expected result of every cell is in ROWS (and ALSO); a route that is in
no table fails the test, and so does a route whose path names something without a row in ROWS
(or a reason in NAMES_NO_UNITS_RESOURCE), so a new route cannot arrive without deciding who may
use it where.

Units are two levels deep (a district, its towns and departments): inspectors, supervisors and
an admin of the town T (beside its sibling town S, under the district D) and of the district D
(whose child is T). Cells:

- "ok": the caller got past authentication, authorisation and the scope check (any status but
  401, 403 and 404: a 200, or a 409/422 about the request itself);
- "403": the role may not do this; "404": the resource is outside the caller's scope and reads
  as missing (nothing leaks); "401": not signed in.

ROWS holds the routes whose path names a unit's resource (unit, user, device, enterprise,
inspection, hazard, photo, activity, enforcement action, document), each tried against that
unit's resource in every place; ALSO some of them again on another kind of resource they name
(hazards the district lists, 挂牌督办, which its supervisors follow below it; photos only a record
cites); UNSCOPED the rest, tried as each role.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfWriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Hazard, Role, Unit, UnitKind, User, utcnow
from backend.services import auth
from tests.backend.ledger.support import RecordingDispatcher, problem_answers, two_findings
from tests.backend.media.support import camera_jpeg
from tests.backend.records.support import example
from tests.conftest import AppFactory
from tests.factories import PASSWORD, bearer_headers, make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, checklist_version, complete_confined_space_answers, save_args

CALLERS = (
    "inspector",
    "supervisor",
    "admin",
    "district_inspector",
    "district_supervisor",
    "district_admin",
)
PLACES = ("own", "sibling", "parent", "child")
STATES = ("no_token", "revoked_token", "deactivated_user")

OK, FORBIDDEN, MISSING, UNAUTHENTICATED = "ok", "403", "404", "401"

# Which unit a caller sits in; PLACE_UNIT[caller][place] names the unit a resource is in.
PLACE_UNIT = {
    "inspector": {"own": "T", "sibling": "S", "parent": "D"},
    "supervisor": {"own": "T", "sibling": "S", "parent": "D"},
    "admin": {"own": "T", "sibling": "S", "parent": "D"},
    "district_inspector": {"own": "D", "child": "T"},
    "district_supervisor": {"own": "D", "child": "T"},
    "district_admin": {"own": "D", "child": "T"},
}
ADMINS = ("admin", "district_admin")


def scoped(
    resource: str,
    *,
    roles: tuple[str, ...] = CALLERS,
    admin_sees_below: bool = True,
) -> dict[str, dict[str, str]]:
    """Cells for a route on one resource: callers with the role see their own unit's, an admin
    also the units below (inspectors and supervisors of a parent unit do not); the rest reads
    as missing. Other roles: 403 (checked first)."""
    cells: dict[str, dict[str, str]] = {}
    for caller in CALLERS:
        places = PLACE_UNIT[caller]
        if caller not in roles:
            cells[caller] = dict.fromkeys(places, FORBIDDEN)
            continue
        below = admin_sees_below and caller in ADMINS
        cells[caller] = {
            place: OK if place == "own" or (place == "child" and below) else MISSING
            for place in places
        }
    return cells


def anyone() -> dict[str, dict[str, str]]:
    """Cells for a route every signed-in caller may use on any unit's resource."""
    return {caller: dict.fromkeys(places, OK) for caller, places in PLACE_UNIT.items()}


def seen_but(cells: dict[str, dict[str, str]], *roles: str) -> dict[str, dict[str, str]]:
    """The same cells, with 403 where a caller in `roles` sees the resource (a role that may
    read it but not do this: the scope is checked first, so what it cannot see stays 404)."""
    return {
        caller: {
            place: FORBIDDEN if caller in roles and cell == OK else cell
            for place, cell in places.items()
        }
        for caller, places in cells.items()
    }


def unscoped(roles: tuple[str, ...] = CALLERS) -> dict[str, dict[str, str]]:
    """Cells for a route on no unit's resource: the role decides."""
    return {caller: {"own": OK if caller in roles else FORBIDDEN} for caller in CALLERS}


# route → (resource the path names, or None; cells; what signing out does: 401 or "ok").
ROWS: dict[str, tuple[str | None, dict[str, dict[str, str]], str]] = {
    "GET /api/v1/units/<uuid:unit_id>": ("unit", scoped("unit"), UNAUTHENTICATED),
    # Only an admin of a higher unit renames a unit (a town admin may not rename their town).
    "PATCH /api/v1/units/<uuid:unit_id>": (
        "unit",
        {
            **scoped("unit", roles=ADMINS),
            "admin": {"own": FORBIDDEN, "sibling": MISSING, "parent": MISSING},
        },
        UNAUTHENTICATED,
    ),
    "GET /api/v1/users/<uuid:user_id>": ("user", scoped("user", roles=ADMINS), UNAUTHENTICATED),
    "PATCH /api/v1/users/<uuid:user_id>": ("user", scoped("user", roles=ADMINS), UNAUTHENTICATED),
    "GET /api/v1/users/<uuid:user_id>/devices": (
        "user",
        scoped("user", roles=ADMINS),
        UNAUTHENTICATED,
    ),
    "POST /api/v1/devices/<uuid:device_id>/revoke": (
        "device",
        scoped("device", roles=ADMINS),
        UNAUTHENTICATED,
    ),
    "GET /api/v1/enterprises/<uuid:enterprise_id>": (
        "enterprise",
        scoped("enterprise"),
        UNAUTHENTICATED,
    ),
    "PATCH /api/v1/enterprises/<uuid:enterprise_id>": (
        "enterprise",
        scoped("enterprise"),
        UNAUTHENTICATED,
    ),
    "GET /api/v1/inspections/<uuid:inspection_id>": (
        "inspection",
        scoped("inspection"),
        UNAUTHENTICATED,
    ),
    # Supervisors of the unit review; anyone else who may see the inspection gets 403
    # (docs/ledger.md), anyone who may not, 404.
    "POST /api/v1/inspections/<uuid:inspection_id>/review": (
        "inspection",
        seen_but(
            scoped("inspection"), "inspector", "admin", "district_inspector", "district_admin"
        ),
        UNAUTHENTICATED,
    ),
    # The ledger (docs/ledger.md): the users of the hazard's unit, an admin of a unit above.
    "GET /api/v1/hazards/<uuid:hazard_id>": ("hazard", scoped("hazard"), UNAUTHENTICATED),
    # 整改情况报告 is the inspectors' and supervisors' (an admin who sees it: 403).
    "POST /api/v1/hazards/<uuid:hazard_id>/events": (
        "hazard",
        seen_but(scoped("hazard"), "admin", "district_admin"),
        UNAUTHENTICATED,
    ),
    # Photos (docs/media.md): whoever may see a record that references the photo, when that
    # record's unit holds it. Sending the bytes is anyone's: it claims them for the sender's
    # unit and shows nothing of anyone else's.
    **{
        f"GET /api/v1/media/<sha256>{tail}": ("photo", scoped("photo"), UNAUTHENTICATED)
        for tail in ("", "/info", "/thumbnail", "/display")
    },
    "PUT /api/v1/media/<sha256>": ("photo", anyone(), UNAUTHENTICATED),
    # With nothing staged at the caller's direct-upload URL: 409 media.upload_missing, whoever's
    # photo the hash names (it never claims a photo for the caller without its bytes).
    "POST /api/v1/media/<sha256>/complete": ("photo", anyone(), UNAUTHENTICATED),
    # Records (docs/records.md): the unit's users and the admins above read them; the recorder,
    # a supervisor of the unit or an admin above corrects one (403 record.forbidden).
    **{
        route.format(family=family): (family, cells, UNAUTHENTICATED)
        for family in ("activities", "enforcement-actions")
        for route, cells in (
            ("GET /api/v1/{family}/<uuid:record_id>", scoped(family)),
            ("GET /api/v1/{family}/<uuid:record_id>/history", scoped(family)),
            (
                "POST /api/v1/{family}/<uuid:record_id>/corrections",
                seen_but(scoped(family), "inspector", "district_inspector"),
            ),
        )
    },
    # Documents (docs/records.md): as photos, through the records that cite them.
    "GET /api/v1/documents/<sha256>": ("document", scoped("document"), UNAUTHENTICATED),
    "PUT /api/v1/documents/<sha256>": ("document", anyone(), UNAUTHENTICATED),
}

# Routes of ROWS tried again on another kind of resource they name: resource → route → cells.
ALSO: dict[str, dict[str, dict[str, dict[str, str]]]] = {
    # A major hazard listed (挂牌督办) by the district D: its supervisors follow another unit's
    # hazard to 销号; its inspectors neither see nor change it.
    "listed": {
        "GET /api/v1/hazards/<uuid:hazard_id>": {
            **scoped("listed"),
            "district_supervisor": {"own": OK, "child": OK},
        },
        "POST /api/v1/hazards/<uuid:hazard_id>/events": {
            **seen_but(scoped("listed"), "admin", "district_admin"),
            "district_supervisor": {"own": OK, "child": OK},
        },
    },
    # A photo no inspection references, only a record (an activity): shown to those who may
    # see the record (docs/records.md).
    "record_photo": {
        f"GET /api/v1/media/<sha256>{tail}": scoped("record_photo")
        for tail in ("", "/info", "/thumbnail", "/display")
    },
}

# Routes that name something by its path but no unit's resource, each with the reason; any
# other route with a path parameter must have a row in ROWS (test_every_named_resource_...).
NAMES_NO_UNITS_RESOURCE = {
    "GET /api/docs/static/<path:filename>": "a file of the API docs page",
    "GET /static/<path:filename>": "Flask's static folder (empty)",
    "POST /api/v1/admin/jobs/<int:item_id>/retry": "an outbox row: no unit's, top admins only",
    "GET /api/v1/checklists/<code>": "the published checklists are everyone's",
    "GET /api/v1/checklists/<code>/versions": "the published checklists are everyone's",
    "GET /api/v1/checklists/<code>/versions/<version>": "the published checklists are everyone's",
    "POST /api/v1/checklists/<code>/versions/<version>/evaluate": "a checklist, no record",
    "GET /api/v1/standards/<code>": "the clause catalogue is everyone's (docs/standards.md)",
    "GET /api/v1/bundles/<uuid:bundle_id>": "a bundle is seen when all its records are: "
    "tests/backend/bundles",
    "GET /api/v1/bundles/<uuid:bundle_id>/download": "a signed link: tests/backend/bundles",
}


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """Jobs (ledger entries, derivatives) run when the test says, on its own connection."""
    flask_app = make_app()
    flask_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    return flask_app


@dataclass
class Matrix:
    client: FlaskClient
    session: Session
    app: Flask
    units: dict[str, Unit] = field(default_factory=dict)
    resources: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, unit) → id
    callers: dict[str, User] = field(default_factory=dict)
    devices: dict[uuid.UUID, str] = field(default_factory=dict)  # user → registered tablet
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    owners: dict[tuple[str, Role], User] = field(default_factory=dict)  # (unit, role) → user
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # sha256 → bytes, type

    def token(self, user: User) -> dict[str, str]:
        return bearer_headers(self.app, self.session, user)


def _build(client: FlaskClient, session: Session, app: Flask) -> Matrix:
    m = Matrix(client, session, app)
    district = make_unit(session, kind=UnitKind.district)
    m.units = {
        "D": district,
        "T": make_unit(session, parent=district),
        "S": make_unit(session, parent=district),
    }
    for caller in CALLERS:
        role = Role(caller.removeprefix("district_"))
        m.callers[caller] = make_user(session, m.units[PLACE_UNIT[caller]["own"]], role)
    for name, unit in m.units.items():
        _place_resources(m, name, unit)
    for name in m.units:  # listed by the district, as a supervisor of the hazard's unit asks
        lister = m.owners[(name, Role.supervisor)]
        reply = client.post(
            f"/api/v1/hazards/{m.resources[('listed', name)]}/events",
            headers=m.token(lister),
            json={
                "type": "listed",
                "unit_id": str(district.id),
                "comment": "区挂牌督办",
                "requirements": "落实一患一策，按期整改销号",
                "deadline": "2027-03-31",
            },
        )
        assert reply.status_code == 200, reply.json
        session.commit()
    for caller, user in m.callers.items():
        m.headers[caller] = m.token(user)
        session.commit()
        m.devices[user.id] = Tablet(client, m.headers[caller]).device_id
    session.commit()
    return m


def _place_resources(m: Matrix, name: str, unit: Unit) -> None:
    """In one unit: an enterprise, a user and their tablet, a submitted inspection, an approved
    one with its photo and two ledger entries (a general one; a major one the district will
    list), an activity citing a document, an enforcement action."""
    client, session = m.client, m.session
    enterprise = make_enterprise(session, unit, sector="confined_space")
    owner = make_user(session, unit, Role.inspector)
    supervisor = make_user(session, unit, Role.supervisor)
    m.owners[(name, Role.inspector)], m.owners[(name, Role.supervisor)] = owner, supervisor
    m.resources[("unit", name)] = str(unit.id)
    m.resources[("user", name)] = str(owner.id)
    m.resources[("enterprise", name)] = str(enterprise.id)
    session.commit()
    headers = m.token(owner)
    session.commit()
    tablet = Tablet(client, headers)
    m.resources[("device", name)] = tablet.device_id
    args = save_args(session, enterprise.id, answers=complete_confined_space_answers())
    reply = tablet.push(
        tablet.command("inspection.save@1", args),
        tablet.command("inspection.submit@1", {"id": args["id"]}),
    )
    assert [r["status"] for r in reply.json["results"]] == ["applied", "applied"], reply.json
    m.resources[("inspection", name)] = args["id"]

    photo = camera_jpeg()
    sha = hashlib.sha256(photo).hexdigest()
    uploaded = client.put(
        f"/api/v1/media/{sha}", data=photo, headers={**headers, "Content-Type": "image/jpeg"}
    )
    assert uploaded.status_code == 200, uploaded.json
    m.resources[("photo", name)], m.blobs[sha] = sha, (photo, "image/jpeg")
    findings = two_findings()
    approved = save_args(
        session,
        enterprise.id,
        answers=problem_answers(),
        findings=findings,
        photos=[{"sha256": sha, "item": None, "caption": "现场", "taken_at": None}],
    )
    reply = tablet.push(
        tablet.command("inspection.save@1", approved),
        tablet.command("inspection.submit@1", {"id": approved["id"]}),
    )
    assert [r["status"] for r in reply.json["results"]] == ["applied", "applied"], reply.json
    review = {
        "decision": "approve",
        "comment": "同意",
        "findings": [
            {"id": findings[0]["id"], "level": "major"},
            {"id": findings[1]["id"], "level": "general"},
        ],
    }
    reviewed = client.post(
        f"/api/v1/inspections/{approved['id']}/review", headers=m.token(supervisor), json=review
    )
    assert reviewed.status_code == 200, reviewed.json
    session.commit()
    dispatcher = m.app.extensions["anjian"].dispatcher
    assert isinstance(dispatcher, RecordingDispatcher)
    dispatcher.run_all()  # the ledger entries, the photo's derivatives
    hazards = {
        h.level.value if hasattr(h.level, "value") else h.level: str(h.id)
        for h in session.scalars(
            select(Hazard).where(Hazard.inspection_id == uuid.UUID(approved["id"]))
        )
    }
    m.resources[("hazard", name)], m.resources[("listed", name)] = (
        hazards["general"],
        hazards["major"],
    )

    document = _pdf(f"{name} 约谈笔录")
    digest = hashlib.sha256(document).hexdigest()
    put = client.put(
        f"/api/v1/documents/{digest}",
        data=document,
        headers={**headers, "Content-Type": "application/pdf"},
    )
    assert put.status_code == 200, put.json
    m.resources[("document", name)], m.blobs[digest] = digest, (document, "application/pdf")
    record_photo = camera_jpeg()
    photo_sha = hashlib.sha256(record_photo).hexdigest()
    uploaded = client.put(
        f"/api/v1/media/{photo_sha}",
        data=record_photo,
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 200, uploaded.json
    m.resources[("record_photo", name)] = photo_sha
    values = example("interview_notice", make_enterprise(session, unit), unit)
    values["documents"] = [{"sha256": digest, "role": "minutes"}]
    values["photos"] = [photo_sha]
    session.commit()
    activity = client.post("/api/v1/activities", headers=headers, json=values)
    assert activity.status_code == 201, activity.json
    m.resources[("activities", name)] = activity.json["id"]
    action = client.post(
        "/api/v1/enforcement-actions", headers=headers, json=example("seizure", enterprise, unit)
    )
    assert action.status_code == 201, action.json
    m.resources[("enforcement-actions", name)] = action.json["id"]
    session.commit()
    dispatcher.run_all()  # the record photo's derivatives


def _pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FUTURE = "2027-06-30"
Body = dict[str, Any] | Callable[["Matrix", str], tuple[bytes, str]]


def _blob(m: Matrix, resource_id: str) -> tuple[bytes, str]:
    return m.blobs[resource_id]


BODIES: dict[str, Body] = {
    "PATCH /api/v1/units/<uuid:unit_id>": {"name": "改名单位"},
    "PATCH /api/v1/users/<uuid:user_id>": {"display_name": "改名"},
    "POST /api/v1/devices/<uuid:device_id>/revoke": {"reason": "丢失"},
    "PATCH /api/v1/enterprises/<uuid:enterprise_id>": {"address": "新地址"},
    "POST /api/v1/inspections/<uuid:inspection_id>/review": {
        "decision": "return",
        "comment": "补充",
    },
    # A plan (一患一策): allowed again and again while 整改中, so every cell can be tried.
    "POST /api/v1/hazards/<uuid:hazard_id>/events": {
        "type": "rectification_reported",
        "measures": "制定整改方案",
        "completed": False,
    },
    "PUT /api/v1/media/<sha256>": _blob,
    "PUT /api/v1/documents/<sha256>": _blob,
    # The second correction of a record is a 409 (its version moved): still past the checks.
    "POST /api/v1/activities/<uuid:record_id>/corrections": {
        "reason": "矩阵核对",
        "expected_version": 1,
    },
    "POST /api/v1/enforcement-actions/<uuid:record_id>/corrections": {
        "reason": "矩阵核对",
        "expected_version": 1,
    },
}


def _path(rule: str, resource_id: str) -> str:
    head, _, rest = rule.partition("<")
    _, _, tail = rest.partition(">")
    return head + resource_id + tail


def _call(m: Matrix, route: str, resource_id: str, headers: dict[str, str]) -> int:
    method, rule = route.split(" ", 1)
    body = BODIES.get(route)
    if callable(body):
        data, content_type = body(m, resource_id)
        reply = m.client.open(
            _path(rule, resource_id),
            method=method,
            headers={**headers, "Content-Type": content_type},
            data=data,
        )
    else:
        reply = m.client.open(_path(rule, resource_id), method=method, headers=headers, json=body)
    reply.close()  # a photo or document is streamed
    m.session.rollback()  # the app committed on its own connection scope; see nothing stale
    return reply.status_code


def _cell(status: int) -> str:
    return str(status) if status in (401, 403, 404) else OK


# The console signs in with a cookie, not a bearer token: its unit scope and CSRF checks are
# tested through it (tests/console/test_console_views.py), not in this table.
CONSOLE = ("/console/", "/")


def _registered(app: Flask) -> set[str]:
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
        and not (rule.rule == "/" or rule.rule.startswith(CONSOLE[0]))
    }


def test_every_route_has_a_row(app: Flask) -> None:
    missing = sorted(_registered(app) - set(ROWS) - set(UNSCOPED))
    assert not missing, f"Add these routes to ROWS or UNSCOPED: {missing}"
    assert not set(ROWS) & set(UNSCOPED), "one row per route"


def test_every_route_that_names_a_resource_is_tried_in_every_unit(app: Flask) -> None:
    """A path parameter names something: a unit's resource (a row in ROWS, tried in the
    caller's unit, a sibling, the parent and a child), or something of no unit's, said why."""
    named = {route for route in _registered(app) if "<" in route}
    untried = sorted(named - set(ROWS) - set(NAMES_NO_UNITS_RESOURCE))
    assert not untried, f"Add these routes to ROWS, with a resource in every unit: {untried}"
    assert not set(ROWS) & set(NAMES_NO_UNITS_RESOURCE)
    assert all(set(routes) <= set(ROWS) for routes in ALSO.values())


def test_every_cell_is_as_the_table_says(client: FlaskClient, session: Session, app: Flask) -> None:
    m = _build(client, session, app)
    actual: dict[str, dict[str, dict[str, str]]] = {}
    for route, (resource, cells, _signed_out) in ROWS.items():
        assert resource is not None
        for caller, places in cells.items():
            for place in places:
                unit = PLACE_UNIT[caller][place]
                status = _call(m, route, m.resources[(resource, unit)], m.headers[caller])
                actual.setdefault(route, {}).setdefault(caller, {})[place] = _cell(status)
    expected = {route: cells for route, (_r, cells, _s) in ROWS.items()}
    for resource, routes in ALSO.items():
        for route, cells in routes.items():
            key = f"{route} ({resource})"
            expected[key] = cells
            for caller, places in cells.items():
                for place in places:
                    unit = PLACE_UNIT[caller][place]
                    status = _call(m, route, m.resources[(resource, unit)], m.headers[caller])
                    actual.setdefault(key, {}).setdefault(caller, {})[place] = _cell(status)
    for route in expected:
        if actual[route] != expected[route]:
            print("ACTUAL", route, actual[route])  # what to write in ROWS, once judged
    assert actual == expected


@dataclass(frozen=True)
class Unscoped:
    """A route whose path names no unit's resource (or one the test cannot place: a made-up id
    reads as missing to everyone). `path` and `body` are templates: {device} is the caller's
    registered tablet, {version} the published checklist version, {username} the caller's."""

    path: str
    cells: dict[str, str]  # caller → cell
    signed_out: dict[str, str]  # state → cell
    body: dict[str, Any] | None = None


ALL_OK = dict.fromkeys(CALLERS, OK)
ADMIN_ONLY = {c: OK if c in ADMINS else FORBIDDEN for c in CALLERS}
TOP_ADMIN = {c: OK if c == "district_admin" else FORBIDDEN for c in CALLERS}
NOWHERE = dict.fromkeys(CALLERS, MISSING)
RANDOM = "3f2a8c9e-0000-4000-8000-000000000000"  # names no bundle
NEEDS_TOKEN = dict.fromkeys(STATES, UNAUTHENTICATED)
PUBLIC = dict.fromkeys(STATES, OK)
NOT_A_HASH = "f" * 64

UNSCOPED: dict[str, Unscoped] = {
    "GET /api/docs": Unscoped("/api/docs", ALL_OK, PUBLIC),
    "GET /api/docs/static/<path:filename>": Unscoped(
        "/api/docs/static/swagger-ui.css", ALL_OK, PUBLIC
    ),
    "GET /api/openapi.json": Unscoped("/api/openapi.json", ALL_OK, PUBLIC),
    "GET /static/<path:filename>": Unscoped(
        "/static/nothing.txt", NOWHERE, dict.fromkeys(STATES, MISSING)
    ),
    "GET /healthz": Unscoped("/healthz", ALL_OK, PUBLIC),
    # Not a user's route at all: without ANJIAN_METRICS_TOKEN it is not served, and no user's
    # token opens it (tests/backend/test_observability.py: its own token does).
    "GET /metrics": Unscoped("/metrics", NOWHERE, dict.fromkeys(STATES, MISSING)),
    "GET /readyz": Unscoped("/readyz", ALL_OK, PUBLIC),
    "GET /api/v1/healthz": Unscoped("/api/v1/healthz", ALL_OK, PUBLIC),
    "GET /api/v1/readyz": Unscoped("/api/v1/readyz", ALL_OK, PUBLIC),
    # Signing in needs no token; a deactivated user's right password is still refused.
    "POST /api/v1/auth/token": Unscoped(
        "/api/v1/auth/token",
        ALL_OK,
        {**PUBLIC, "deactivated_user": UNAUTHENTICATED},
        {"username": "{username}", "password": PASSWORD},
    ),
    "POST /api/v1/auth/logout": Unscoped("/api/v1/auth/logout", ALL_OK, NEEDS_TOKEN),
    "GET /api/v1/auth/me": Unscoped("/api/v1/auth/me", ALL_OK, NEEDS_TOKEN),
    "POST /api/v1/auth/password": Unscoped(
        "/api/v1/auth/password",
        ALL_OK,
        NEEDS_TOKEN,
        {"current_password": "wrong", "new_password": "short"},  # 422 before any check counts
    ),
    # The failed-jobs view is the top unit's admins' alone (a retry of nothing is a 409).
    "GET /api/v1/admin/jobs/failed": Unscoped("/api/v1/admin/jobs/failed", TOP_ADMIN, NEEDS_TOKEN),
    "POST /api/v1/admin/jobs/<int:item_id>/retry": Unscoped(
        "/api/v1/admin/jobs/987654/retry", TOP_ADMIN, NEEDS_TOKEN
    ),
    "GET /api/v1/checklists": Unscoped("/api/v1/checklists", ALL_OK, NEEDS_TOKEN),
    "GET /api/v1/checklists/<code>": Unscoped("/api/v1/checklists/gas", ALL_OK, NEEDS_TOKEN),
    "GET /api/v1/checklists/<code>/versions": Unscoped(
        "/api/v1/checklists/gas/versions", ALL_OK, NEEDS_TOKEN
    ),
    "GET /api/v1/checklists/<code>/versions/<version>": Unscoped(
        "/api/v1/checklists/gas/versions/{version}", ALL_OK, NEEDS_TOKEN
    ),
    "POST /api/v1/checklists/<code>/versions/<version>/evaluate": Unscoped(
        "/api/v1/checklists/gas/versions/{version}/evaluate",
        ALL_OK,
        NEEDS_TOKEN,
        {"answers": []},
    ),
    # The clause catalogue is the same for everyone signed in (docs/standards.md).
    "GET /api/v1/standards": Unscoped("/api/v1/standards", ALL_OK, NEEDS_TOKEN),
    "GET /api/v1/standards/<code>": Unscoped(
        "/api/v1/standards/gmqy2023.13.1", ALL_OK, NEEDS_TOKEN
    ),
    "GET /api/v1/enterprises": Unscoped("/api/v1/enterprises", ALL_OK, NEEDS_TOKEN),
    "POST /api/v1/enterprises": Unscoped(
        "/api/v1/enterprises", ALL_OK, NEEDS_TOKEN, {"name": "矩阵企业", "sector": "gas"}
    ),
    "GET /api/v1/units": Unscoped("/api/v1/units", ALL_OK, NEEDS_TOKEN),
    "POST /api/v1/units": Unscoped(
        "/api/v1/units", ADMIN_ONLY, NEEDS_TOKEN, {"name": "矩阵镇", "kind": "town"}
    ),
    "GET /api/v1/users": Unscoped("/api/v1/users", ADMIN_ONLY, NEEDS_TOKEN),
    "POST /api/v1/users": Unscoped("/api/v1/users", ADMIN_ONLY, NEEDS_TOKEN, {}),
    "GET /api/v1/inspections": Unscoped("/api/v1/inspections", ALL_OK, NEEDS_TOKEN),
    "GET /api/v1/hazards": Unscoped("/api/v1/hazards", ALL_OK, NEEDS_TOKEN),
    # Bundles of made-up records read as missing; their unit dimension (every record of a
    # bundle visible, else 404) is tested in tests/backend/bundles/. A download link needs no
    # token but its signature, so a made-up one is missing to everyone, signed in or not.
    "POST /api/v1/bundles": Unscoped(
        "/api/v1/bundles", NOWHERE, NEEDS_TOKEN, {"scope": "hazard", "id": RANDOM}
    ),
    "GET /api/v1/bundles/<uuid:bundle_id>": Unscoped(
        f"/api/v1/bundles/{RANDOM}", NOWHERE, NEEDS_TOKEN
    ),
    "GET /api/v1/bundles/<uuid:bundle_id>/download": Unscoped(
        f"/api/v1/bundles/{RANDOM}/download?user={RANDOM}&expires=1&signature=00",
        NOWHERE,
        dict.fromkeys(STATES, MISSING),
    ),
    "POST /api/v1/media": Unscoped(
        "/api/v1/media",
        ALL_OK,
        NEEDS_TOKEN,
        {"sha256": NOT_A_HASH, "size": 1000, "content_type": "image/jpeg"},
    ),
    "POST /api/v1/sync/devices": Unscoped(
        "/api/v1/sync/devices", ALL_OK, NEEDS_TOKEN, {"device_id": "{device}"}
    ),
    "POST /api/v1/sync/push": Unscoped(
        "/api/v1/sync/push",
        ALL_OK,
        NEEDS_TOKEN,
        {"device_id": "{device}", "protocol": 1, "mutations": []},
    ),
    "POST /api/v1/sync/pull": Unscoped(
        "/api/v1/sync/pull", ALL_OK, NEEDS_TOKEN, {"device_id": "{device}"}
    ),
    # Records (enforcement actions and activities): the lists, kinds and a new one; each
    # record's own routes are in ROWS.
    **{
        route: row
        for family in ("activities", "enforcement-actions")
        for route, row in {
            f"GET /api/v1/{family}": Unscoped(f"/api/v1/{family}", ALL_OK, NEEDS_TOKEN),
            f"GET /api/v1/{family}/kinds": Unscoped(f"/api/v1/{family}/kinds", ALL_OK, NEEDS_TOKEN),
            f"POST /api/v1/{family}": Unscoped(f"/api/v1/{family}", ALL_OK, NEEDS_TOKEN, {}),
        }.items()
    },
    # Reports: the caller's own unit by default; another unit's is 404 (tests/backend/reports).
    "GET /api/v1/reports/dispatch": Unscoped(
        "/api/v1/reports/dispatch?template=fuzhou&month=2023-09", ALL_OK, NEEDS_TOKEN
    ),
    "GET /api/v1/reports/dispatch/cell": Unscoped(
        "/api/v1/reports/dispatch/cell?template=fuzhou&month=2023-09&column=penalties",
        ALL_OK,
        NEEDS_TOKEN,
    ),
    "GET /api/v1/reports/filings": Unscoped(
        "/api/v1/reports/filings?template=fuzhou&month=2023-09", ALL_OK, NEEDS_TOKEN
    ),
    # An empty filing is a 422 before any unit is looked up; who may file: tests/backend/reports.
    "POST /api/v1/reports/filings": Unscoped("/api/v1/reports/filings", ALL_OK, NEEDS_TOKEN, {}),
    # Checking a hand-filled 调度表 reads only the file sent (an empty body: a 422 about it);
    # those who file the report check it, inspectors do not.
    "POST /api/v1/reports/dispatch/check": Unscoped(
        "/api/v1/reports/dispatch/check",
        {c: FORBIDDEN if c.endswith("inspector") else OK for c in CALLERS},
        NEEDS_TOKEN,
    ),
}


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**values) if "{" in template else template
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


def _unscoped_call(
    m: Matrix, row: Unscoped, method: str, user: User, headers: dict[str, str]
) -> str:
    values = {
        "device": m.devices[user.id],
        "version": checklist_version(m.session, "gas"),
        "username": user.username,
    }
    reply = m.client.open(
        _fill(row.path, values), method=method, headers=headers, json=_fill(row.body, values)
    )
    reply.close()  # a static file is streamed
    m.session.rollback()
    return _cell(reply.status_code)


def test_every_unscoped_route_is_as_the_table_says(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    m = _build(client, session, app)
    actual: dict[str, dict[str, str]] = {}
    for route, row in UNSCOPED.items():
        method = route.split(" ", 1)[0]
        for caller in CALLERS:
            user = m.callers[caller]
            headers = m.token(user)  # fresh: signing out revokes the one it is sent with
            m.session.commit()
            actual.setdefault(route, {})[caller] = _unscoped_call(m, row, method, user, headers)
    expected = {route: row.cells for route, row in UNSCOPED.items()}
    for route in UNSCOPED:
        if actual[route] != expected[route]:
            print("ACTUAL", route, actual[route])
    assert actual == expected


@pytest.mark.parametrize("state", STATES)
def test_signed_out_callers_are_refused_everywhere_a_token_is_needed(
    client: FlaskClient, session: Session, app: Flask, state: str
) -> None:
    m = _build(client, session, app)
    user = m.callers["supervisor"]
    headers = m.headers["supervisor"]
    if state == "no_token":
        headers = {}
    elif state == "revoked_token":
        auth.revoke_user_tokens(session, user.id, utcnow())
    else:
        user.active = False
    session.commit()
    actual, expected = {}, {}
    for route, (resource, _cells, signed_out) in ROWS.items():
        assert resource is not None
        actual[route] = _cell(_call(m, route, m.resources[(resource, "T")], headers))
        expected[route] = signed_out
    for route, row in UNSCOPED.items():
        actual[route] = _unscoped_call(m, row, route.split(" ", 1)[0], user, headers)
        expected[route] = row.signed_out[state]
    assert actual == expected
