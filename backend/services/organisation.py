"""Units and users: the admin side of who belongs where."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from backend.models import Role, Unit, UnitKind, User, utcnow

from . import audit, auth, scope
from .pagination import Page, paginate


def create_unit(
    session: Session, actor: User | None, *, name: str, kind: UnitKind, parent: Unit | None
) -> Unit:
    if parent is None and kind is not UnitKind.district:
        raise InvalidInput(
            "Only a district can be a top-level unit; give a parent_id.",
            errors={"parent_id": ["Required for towns and departments."]},
        )
    if parent is not None and parent.kind is not UnitKind.district:
        raise InvalidInput(
            "Towns and departments belong to a district unit.",
            errors={"parent_id": ["Must be a district."]},
        )
    _unique_unit_name(session, parent, name)
    unit = Unit(id=uuid.uuid4(), name=name, kind=kind, parent_id=parent.id if parent else None)
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.add(unit)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="unit.create",
        entity_type="unit",
        entity_id=unit.id,
        data={"name": name, "kind": kind.value, "parent_id": unit.parent_id},
    )
    return unit


def rename_unit(session: Session, actor: User, unit: Unit, name: str) -> Unit:
    if name != unit.name:
        _unique_unit_name(session, unit.parent, name)
        diff = audit.changes(unit, {"name": name})
        audit.record(
            session,
            actor=actor,
            action="unit.update",
            entity_type="unit",
            entity_id=unit.id,
            data=diff,
        )
        session.flush()
    return unit


def _unique_unit_name(session: Session, parent: Unit | None, name: str) -> None:
    same_parent = Unit.parent_id.is_(None) if parent is None else Unit.parent_id == parent.id
    clash = session.scalar(
        select(func.count()).select_from(Unit).where(same_parent, Unit.name == name)
    )
    if clash:
        raise Conflict(
            f"A unit named {name!r} already exists there; choose another name.",
            errors={"name": ["Already used by a sibling unit."]},
        )


def list_units(session: Session, user: User, *, limit: int, cursor: str | None) -> Page[Unit]:
    query = select(Unit).where(scope.visible_units(user))
    return paginate(session, query, [Unit.path], limit=limit, cursor=cursor)


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    unit: Unit,
) -> User:
    if actor is not None:
        _check_may_assign(actor, role, unit)
    if session.scalar(select(func.count()).select_from(User).where(User.username == username)):
        raise Conflict(
            f"The username {username!r} is taken; choose another.",
            errors={"username": ["Already taken."]},
        )
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        unit_id=unit.id,
        password_hash=auth.hash_password(password),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        data={"username": username, "role": role.value, "unit_id": unit.id},
    )
    return user


def update_user(session: Session, actor: User, user: User, values: dict[str, Any]) -> User:
    values = dict(values)
    password = values.pop("password", None)
    unit = values.pop("unit", None)
    if unit is not None:
        values["unit_id"] = unit.id
    if "role" in values or unit is not None:
        _check_may_assign(actor, values.get("role", user.role), unit or user.unit)
    if user.id == actor.id and (values.get("active") is False or "role" in values):
        raise PermissionDenied("You cannot disable yourself or change your own role.")
    diff = audit.changes(user, values)
    now = utcnow()
    if password is not None:
        user.password_hash = auth.hash_password(password)
        user.password_changed_at = now
        user.failed_logins = 0
        user.locked_until = None
        diff["password"] = "changed"  # noqa: S105 (an audit note, not a secret)
    if password is not None or values.get("active") is False:
        auth.revoke_user_tokens(session, user.id, now)
    if diff:
        audit.record(
            session,
            actor=actor,
            action="user.update",
            entity_type="user",
            entity_id=user.id,
            data=diff,
        )
    session.flush()
    return user


def _check_may_assign(actor: User, role: Role, unit: Unit) -> None:
    if not scope.can_see(actor, unit):
        raise PermissionDenied("You can only place users in your unit or the units below it.")
    if role is Role.admin and unit.id == actor.unit_id and actor.unit.parent_id is not None:
        # An admin may appoint peers only at the top of the tree; below that, only downwards.
        raise PermissionDenied("Only an admin of a higher unit can appoint an admin here.")


def list_users(
    session: Session, actor: User, *, unit_id: uuid.UUID | None, limit: int, cursor: str | None
) -> Page[User]:
    query = select(User).where(scope.unit_filter(actor, User.unit_id))
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    return paginate(session, query, [User.username], limit=limit, cursor=cursor)


def get_visible_user(session: Session, actor: User, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or not scope.can_see(actor, user.unit):
        raise NotFound(f"User {user_id} was not found.")
    return user
