"""The access matrix (issue 12): every registered route, as every role, against resources of the
caller's unit, a sibling, the parent and (for a district admin) a child unit; and with no token,
a revoked token and a deactivated user. The expected result of every cell is in ROWS; a route
that is not in ROWS fails the test, so a new route cannot arrive without deciding who may use it.

Units are two levels deep (a district, its towns and departments), so the callers sit in the
town T under the district D, beside the sibling town S; the district admin is the caller that
has a child unit (T). Cells:

- "ok": the caller got past authentication, authorisation and the scope check (any status but
  401, 403 and 404: a 200, or a 409/422 about the request itself);
- "403": the role may not do this; "404": the resource is outside the caller's scope and reads
  as missing (nothing leaks); "401": not signed in.

ROWS holds the routes whose path names a unit's resource (unit, user, device, enterprise,
inspection), each tried against the resource in every place; UNSCOPED the rest, tried as each
role. Hazards and photos are named there by made-up ids (404 to everyone); their own unit
dimension is tested in tests/backend/ledger/ and tests/backend/media/test_access.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import Role, Unit, UnitKind, User, utcnow
from backend.services import auth
from tests.factories import PASSWORD, bearer_headers, make_enterprise, make_unit, make_user
from tests.sync_support import Tablet, checklist_version, complete_confined_space_answers, save_args

CALLERS = ("inspector", "supervisor", "admin", "district_admin")
PLACES = ("own", "sibling", "parent", "child")
STATES = ("no_token", "revoked_token", "deactivated_user")

OK, FORBIDDEN, MISSING, UNAUTHENTICATED = "ok", "403", "404", "401"

# Which unit a caller sits in; PLACE_UNIT[caller][place] names the unit a resource is in.
PLACE_UNIT = {
    "inspector": {"own": "T", "sibling": "S", "parent": "D"},
    "supervisor": {"own": "T", "sibling": "S", "parent": "D"},
    "admin": {"own": "T", "sibling": "S", "parent": "D"},
    "district_admin": {"own": "D", "child": "T"},
}


def scoped(
    resource: str,
    *,
    roles: tuple[str, ...] = CALLERS,
    admin_sees_below: bool = True,
) -> dict[str, dict[str, str]]:
    """Cells for a route on one resource: callers with the role see their own unit's, an admin
    also the units below; the rest reads as missing. Other roles: 403 (checked first)."""
    cells: dict[str, dict[str, str]] = {}
    for caller in CALLERS:
        places = PLACE_UNIT[caller]
        if caller not in roles:
            cells[caller] = dict.fromkeys(places, FORBIDDEN)
            continue
        cells[caller] = {
            place: OK if place == "own" or (place == "child" and admin_sees_below) else MISSING
            for place in places
        }
    return cells


def unscoped(roles: tuple[str, ...] = CALLERS) -> dict[str, dict[str, str]]:
    """Cells for a route on no unit's resource: the role decides."""
    return {caller: {"own": OK if caller in roles else FORBIDDEN} for caller in CALLERS}


ADMINS = ("admin", "district_admin")

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
        {
            **scoped("inspection"),
            "inspector": {"own": FORBIDDEN, "sibling": MISSING, "parent": MISSING},
            "admin": {"own": FORBIDDEN, "sibling": MISSING, "parent": MISSING},
            "district_admin": {"own": FORBIDDEN, "child": FORBIDDEN},
        },
        UNAUTHENTICATED,
    ),
}


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
    for caller, unit in (
        ("inspector", "T"),
        ("supervisor", "T"),
        ("admin", "T"),
        ("district_admin", "D"),
    ):
        role = Role.inspector if caller == "inspector" else Role.supervisor
        role = Role.admin if caller.endswith("admin") else role
        m.callers[caller] = make_user(session, m.units[unit], role)
    for name, unit in m.units.items():
        enterprise = make_enterprise(session, unit, sector="confined_space")
        owner = make_user(session, unit, Role.inspector)
        m.resources[("unit", name)] = str(unit.id)
        m.resources[("user", name)] = str(owner.id)
        m.resources[("enterprise", name)] = str(enterprise.id)
        session.commit()
        tablet = Tablet(client, m.token(owner))
        session.commit()
        m.resources[("device", name)] = tablet.device_id
        args = save_args(session, enterprise.id, answers=complete_confined_space_answers())
        reply = tablet.push(
            tablet.command("inspection.save@1", args),
            tablet.command("inspection.submit@1", {"id": args["id"]}),
        )
        assert [r["status"] for r in reply.json["results"]] == ["applied", "applied"], reply.json
        m.resources[("inspection", name)] = args["id"]
    for caller, user in m.callers.items():
        m.headers[caller] = m.token(user)
        session.commit()
        m.devices[user.id] = Tablet(client, m.headers[caller]).device_id
    session.commit()
    return m


BODIES: dict[str, dict[str, Any]] = {
    "PATCH /api/v1/units/<uuid:unit_id>": {"name": "改名单位"},
    "PATCH /api/v1/users/<uuid:user_id>": {"display_name": "改名"},
    "POST /api/v1/devices/<uuid:device_id>/revoke": {"reason": "丢失"},
    "PATCH /api/v1/enterprises/<uuid:enterprise_id>": {"address": "新地址"},
    "POST /api/v1/inspections/<uuid:inspection_id>/review": {
        "decision": "return",
        "comment": "补充",
    },
}


def _path(rule: str, resource_id: str) -> str:
    head, _, rest = rule.partition("<")
    _, _, tail = rest.partition(">")
    return head + resource_id + tail


def _call(m: Matrix, route: str, resource_id: str, headers: dict[str, str]) -> int:
    method, rule = route.split(" ", 1)
    reply = m.client.open(
        _path(rule, resource_id), method=method, headers=headers, json=BODIES.get(route)
    )
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
    for route in ROWS:
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
NEEDS_TOKEN = dict.fromkeys(STATES, UNAUTHENTICATED)
PUBLIC = dict.fromkeys(STATES, OK)
NOT_A_HASH = "f" * 64
RANDOM = "3f2a8c9e-0000-4000-8000-000000000000"

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
    "GET /api/v1/hazards/<uuid:hazard_id>": Unscoped(
        f"/api/v1/hazards/{RANDOM}", NOWHERE, NEEDS_TOKEN
    ),
    "POST /api/v1/hazards/<uuid:hazard_id>/events": Unscoped(
        f"/api/v1/hazards/{RANDOM}/events", NOWHERE, NEEDS_TOKEN, {"type": "closed"}
    ),
    "POST /api/v1/media": Unscoped(
        "/api/v1/media",
        ALL_OK,
        NEEDS_TOKEN,
        {"sha256": NOT_A_HASH, "size": 1000, "content_type": "image/jpeg"},
    ),
    "GET /api/v1/media/<sha256>": Unscoped(f"/api/v1/media/{NOT_A_HASH}", NOWHERE, NEEDS_TOKEN),
    "PUT /api/v1/media/<sha256>": Unscoped(f"/api/v1/media/{NOT_A_HASH}", ALL_OK, NEEDS_TOKEN),
    "POST /api/v1/media/<sha256>/complete": Unscoped(
        f"/api/v1/media/{NOT_A_HASH}/complete", ALL_OK, NEEDS_TOKEN
    ),
    "GET /api/v1/media/<sha256>/info": Unscoped(
        f"/api/v1/media/{NOT_A_HASH}/info", NOWHERE, NEEDS_TOKEN
    ),
    "GET /api/v1/media/<sha256>/thumbnail": Unscoped(
        f"/api/v1/media/{NOT_A_HASH}/thumbnail", NOWHERE, NEEDS_TOKEN
    ),
    "GET /api/v1/media/<sha256>/display": Unscoped(
        f"/api/v1/media/{NOT_A_HASH}/display", NOWHERE, NEEDS_TOKEN
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
    # Records (enforcement actions and activities) and their documents: per-unit cases are in
    # tests/backend/records; here each route is placed with a made-up id or an empty body.
    **{
        route: row
        for family in ("activities", "enforcement-actions")
        for route, row in {
            f"GET /api/v1/{family}": Unscoped(f"/api/v1/{family}", ALL_OK, NEEDS_TOKEN),
            f"GET /api/v1/{family}/kinds": Unscoped(f"/api/v1/{family}/kinds", ALL_OK, NEEDS_TOKEN),
            f"POST /api/v1/{family}": Unscoped(f"/api/v1/{family}", ALL_OK, NEEDS_TOKEN, {}),
            f"GET /api/v1/{family}/<uuid:record_id>": Unscoped(
                f"/api/v1/{family}/{RANDOM}", NOWHERE, NEEDS_TOKEN
            ),
            f"GET /api/v1/{family}/<uuid:record_id>/history": Unscoped(
                f"/api/v1/{family}/{RANDOM}/history", NOWHERE, NEEDS_TOKEN
            ),
            # An empty correction is a 422 before any record is looked up: nothing leaks.
            f"POST /api/v1/{family}/<uuid:record_id>/corrections": Unscoped(
                f"/api/v1/{family}/{RANDOM}/corrections", ALL_OK, NEEDS_TOKEN, {}
            ),
        }.items()
    },
    "GET /api/v1/documents/<sha256>": Unscoped(
        f"/api/v1/documents/{NOT_A_HASH}", NOWHERE, NEEDS_TOKEN
    ),
    "PUT /api/v1/documents/<sha256>": Unscoped(
        f"/api/v1/documents/{NOT_A_HASH}", ALL_OK, NEEDS_TOKEN
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
