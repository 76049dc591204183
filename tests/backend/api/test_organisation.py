"""The admin API for units and users, and who may use it."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import UnitNameTaken
from backend.models import AuditEntry, Role, Unit, UnitKind, User
from backend.services import organisation
from tests.factories import PASSWORD, auth_headers, make_unit, make_user

NEW_PASSWORD = "a brand new long password"


class Tree:
    """Two districts; the first with two towns. Admins: two in district one, two in town one."""

    def __init__(self, client: FlaskClient, session: Session) -> None:
        self.client = client
        self.district = make_unit(session, "区一")
        self.town = make_unit(session, "镇一", parent=self.district)
        self.other_town = make_unit(session, "镇二", parent=self.district)
        self.other_district = make_unit(session, "区二")
        self.district_admin = make_user(session, self.district, Role.admin)
        self.district_admin2 = make_user(session, self.district, Role.admin)
        self.town_admin = make_user(session, self.town, Role.admin)
        self.town_admin2 = make_user(session, self.town, Role.admin)
        self.inspector = make_user(session, self.town)

    def patch(self, actor: User, target: User, **values: object) -> int:
        reply = self.client.patch(
            f"/api/v1/users/{target.id}", json=values, headers=auth_headers(self.client, actor)
        )
        return reply.status_code

    def signs_in(self, user: User, password: str) -> bool:
        reply = self.client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": password}
        )
        return reply.status_code == 200


@pytest.fixture
def tree(client: FlaskClient, session: Session) -> Tree:
    return Tree(client, session)


def audit_actions(session: Session, entity_id: object) -> list[str]:
    query = select(AuditEntry.action).where(AuditEntry.entity_id == str(entity_id))
    return list(session.scalars(query.order_by(AuditEntry.id)))


def test_an_admin_creates_a_town_under_their_district(
    client: FlaskClient, session: Session
) -> None:
    district = make_unit(session)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/units",
        headers=headers,
        json={"name": "城关街道", "kind": "town", "parent_id": str(district.id)},
    )
    assert reply.status_code == 201
    assert reply.json["parent_id"] == str(district.id)
    listed = client.get("/api/v1/units", headers=headers).json["items"]
    assert {u["name"] for u in listed} == {district.name, "城关街道"}


def test_a_town_admin_cannot_create_units_elsewhere(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district)
    other_district = make_unit(session)
    headers = auth_headers(client, make_user(session, town, Role.admin))
    reply = client.post(
        "/api/v1/units",
        headers=headers,
        json={"name": "x", "kind": "town", "parent_id": str(other_district.id)},
    )
    assert reply.status_code == 404


def test_a_supervisor_cannot_use_the_admin_api(client: FlaskClient, session: Session) -> None:
    unit = make_unit(session)
    headers = auth_headers(client, make_user(session, unit, Role.supervisor))
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "x1",
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(unit.id),
            "password": "long enough password",
        },
    )
    assert reply.status_code == 403


def test_an_admin_creates_a_user_who_can_sign_in(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    town = make_unit(session, parent=district, kind=UnitKind.town)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "li.jiancha",
            "display_name": "李检查",
            "role": "inspector",
            "unit_id": str(town.id),
            "password": "a long password",
        },
    )
    assert reply.status_code == 201
    assert "password" not in reply.json
    token = client.post(
        "/api/v1/auth/token", json={"username": "li.jiancha", "password": "a long password"}
    )
    assert token.status_code == 200


def test_a_short_password_is_refused(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    headers = auth_headers(client, make_user(session, district, Role.admin))
    reply = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "shorty",
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(district.id),
            "password": "short",
        },
    )
    assert reply.status_code == 422
    assert "password" in reply.json["errors"]


def test_a_taken_username_is_409(client: FlaskClient, session: Session) -> None:
    district = make_unit(session)
    admin = make_user(session, district, Role.admin)
    reply = client.post(
        "/api/v1/users",
        headers=auth_headers(client, admin),
        json={
            "username": admin.username,
            "display_name": "x",
            "role": "inspector",
            "unit_id": str(district.id),
            "password": "a long password",
        },
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "user.username_taken"


def test_users_of_another_district_are_invisible(client: FlaskClient, session: Session) -> None:
    mine, theirs = make_unit(session), make_unit(session)
    stranger = make_user(session, theirs)
    headers = auth_headers(client, make_user(session, mine, Role.admin))
    assert client.get(f"/api/v1/users/{stranger.id}", headers=headers).status_code == 404
    assert (
        client.patch(
            f"/api/v1/users/{stranger.id}", json={"active": False}, headers=headers
        ).status_code
        == 404
    )


def test_an_admin_cannot_disable_themselves(client: FlaskClient, session: Session) -> None:
    admin = make_user(session, make_unit(session), Role.admin)
    reply = client.patch(
        f"/api/v1/users/{admin.id}", json={"active": False}, headers=auth_headers(client, admin)
    )
    assert reply.status_code == 403


@pytest.mark.parametrize(
    "values",
    [
        {"password": NEW_PASSWORD},
        {"active": False},
        {"role": "inspector"},
        {"display_name": "taken over"},
    ],
    ids=["password", "active", "role", "display_name"],
)
def test_an_admin_cannot_change_an_admin_of_the_same_unit(
    tree: Tree, values: dict[str, object]
) -> None:
    assert tree.patch(tree.town_admin, tree.town_admin2, **values) == 403
    assert tree.patch(tree.district_admin, tree.district_admin2, **values) == 403
    assert tree.signs_in(tree.town_admin2, PASSWORD)
    assert tree.signs_in(tree.district_admin2, PASSWORD)


def test_an_admin_cannot_move_an_admin_of_the_same_unit(tree: Tree) -> None:
    town = str(tree.town.id)
    assert tree.patch(tree.district_admin, tree.district_admin2, unit_id=town) == 403


def test_an_admin_of_a_higher_unit_changes_a_lower_admin(tree: Tree) -> None:
    assert tree.patch(tree.district_admin, tree.town_admin, password=NEW_PASSWORD) == 200
    assert tree.signs_in(tree.town_admin, NEW_PASSWORD)
    assert tree.patch(tree.district_admin, tree.town_admin, role="inspector") == 200


def test_an_admin_changes_an_inspector_of_their_unit(tree: Tree) -> None:
    assert tree.patch(tree.town_admin, tree.inspector, password=NEW_PASSWORD) == 200
    assert tree.signs_in(tree.inspector, NEW_PASSWORD)


@pytest.mark.parametrize(
    "values",
    [{"password": NEW_PASSWORD}, {"role": "inspector"}, {"active": False}],
    ids=["password", "role", "active"],
)
def test_an_admin_cannot_change_their_own_privileges(tree: Tree, values: dict[str, object]) -> None:
    assert tree.patch(tree.district_admin, tree.district_admin, **values) == 403
    assert tree.signs_in(tree.district_admin, PASSWORD)


def test_an_admin_cannot_move_themselves(tree: Tree) -> None:
    town = str(tree.town.id)
    assert tree.patch(tree.district_admin, tree.district_admin, unit_id=town) == 403


def test_an_admin_renames_themselves(tree: Tree, session: Session) -> None:
    assert tree.patch(tree.town_admin, tree.town_admin, display_name="王站长") == 200
    session.refresh(tree.town_admin)
    assert tree.town_admin.display_name == "王站长"


def test_a_user_update_is_audited(tree: Tree, session: Session) -> None:
    assert tree.patch(tree.town_admin, tree.inspector, display_name="改名") == 200
    assert audit_actions(session, tree.inspector.id) == ["user.update"]


def test_a_nul_in_a_name_is_422_naming_the_field(tree: Tree) -> None:
    reply = tree.client.patch(
        f"/api/v1/users/{tree.inspector.id}",
        json={"display_name": "a\u0000b"},
        headers=auth_headers(tree.client, tree.town_admin),
    )
    assert reply.status_code == 422
    assert "display_name" in reply.json["errors"]["json"]


def create_unit(tree: Tree, actor: User, **body: object) -> tuple[int, dict[str, object]]:
    reply = tree.client.post("/api/v1/units", json=body, headers=auth_headers(tree.client, actor))
    return reply.status_code, reply.json


def test_a_district_cannot_have_a_parent(tree: Tree) -> None:
    status, body = create_unit(
        tree, tree.district_admin, name="嵌套区", kind="district", parent_id=str(tree.district.id)
    )
    assert status == 422
    assert "kind" in body["errors"]  # type: ignore[operator]


def test_top_level_units_are_not_made_through_the_api(tree: Tree) -> None:
    status, body = create_unit(tree, tree.district_admin, name="新区", kind="district")
    assert status == 422
    assert "parent_id" in body["errors"]["json"]  # type: ignore[index]


def test_top_level_units_are_made_by_the_command_line_service(session: Session) -> None:
    unit = organisation.create_unit(
        session, None, name="命令行区", kind=UnitKind.district, parent=None
    )
    assert unit.parent_id is None
    assert audit_actions(session, unit.id) == ["unit.create"]


def test_top_level_names_are_unique_in_the_database(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    organisation.create_unit(session, None, name="同名区", kind=UnitKind.district, parent=None)
    # As if a parallel request had passed the early check too: the index must still refuse.
    monkeypatch.setattr(organisation, "_unique_unit_name", lambda *_args: None)
    with pytest.raises(UnitNameTaken):
        organisation.create_unit(session, None, name="同名区", kind=UnitKind.district, parent=None)
    assert len(session.scalars(select(Unit).where(Unit.name == "同名区")).all()) == 1


def test_a_unit_creation_is_audited(tree: Tree, session: Session) -> None:
    status, body = create_unit(
        tree, tree.district_admin, name="新镇", kind="town", parent_id=str(tree.district.id)
    )
    assert status == 201
    assert audit_actions(session, body["id"]) == ["unit.create"]


def test_a_clash_with_a_unit_out_of_sight_does_not_name_it(tree: Tree) -> None:
    reply = tree.client.patch(
        f"/api/v1/units/{tree.town.id}",
        json={"name": tree.other_town.name},
        headers=auth_headers(tree.client, tree.district_admin),
    )
    assert reply.status_code == 409
    assert reply.json["code"] == "unit.name_taken"
    assert tree.other_town.name not in reply.json["message"]


def test_a_town_admin_cannot_rename_their_own_town(tree: Tree) -> None:
    reply = tree.client.patch(
        f"/api/v1/units/{tree.town.id}",
        json={"name": "改名镇"},
        headers=auth_headers(tree.client, tree.town_admin),
    )
    assert reply.status_code == 403


def revoke(tree: Tree, actor: User, device_id: str) -> int:
    reply = tree.client.post(
        f"/api/v1/devices/{device_id}/revoke",
        json={"reason": "lost"},
        headers=auth_headers(tree.client, actor),
    )
    return reply.status_code


def test_a_device_revocation_is_audited(tree: Tree, session: Session) -> None:
    device_id = str(uuid.uuid4())
    auth_headers(tree.client, tree.inspector, device_id=device_id)
    assert revoke(tree, tree.town_admin, device_id) == 200
    assert "device.revoke" in audit_actions(session, device_id)


def test_an_admin_cannot_revoke_the_device_of_an_admin_of_the_same_unit(tree: Tree) -> None:
    device_id = str(uuid.uuid4())
    auth_headers(tree.client, tree.town_admin2, device_id=device_id)
    assert revoke(tree, tree.town_admin, device_id) == 403
    assert revoke(tree, tree.district_admin, device_id) == 200


def test_an_admin_lists_a_users_devices(tree: Tree) -> None:
    device_id = str(uuid.uuid4())
    auth_headers(tree.client, tree.inspector, device_id=device_id)
    reply = tree.client.get(
        f"/api/v1/users/{tree.inspector.id}/devices",
        headers=auth_headers(tree.client, tree.town_admin),
    )
    assert [d["id"] for d in reply.json] == [device_id]
