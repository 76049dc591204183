"""Units and users: the admin side of who belongs where.

The rank rule: an admin manages the users of their unit and the units below it, except other
admins, whom only an admin of a strictly higher unit may change. Nobody raises their own
privileges: one's own password changes through auth.change_password, with the current one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import (
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UnitNameTaken,
    UsernameTaken,
)
from backend.models import Device, Role, Unit, UnitKind, User, utcnow

from . import audit, auth, scope
from .pagination import Page, paginate

# What a user may not change on their own record (the admin API); see auth.change_password.
NOT_ON_ONESELF = ("password", "role", "active", "unit")


def add_unit(
    session: Session, actor: User, *, parent_id: uuid.UUID, name: str, kind: UnitKind
) -> Unit:
    """The admin API's way in: only below a unit the actor sees. Top-level units come from the
    command line (`anjian init`), which calls create_unit directly."""
    parent = scope.get_visible_unit(session, actor, parent_id)
    return create_unit(session, actor, name=name, kind=kind, parent=parent)


def create_unit(
    session: Session, actor: User | None, *, name: str, kind: UnitKind, parent: Unit | None
) -> Unit:
    _check_placement(kind, parent)
    _unique_unit_name(session, parent, name)
    unit = Unit(id=uuid.uuid4(), name=name, kind=kind, parent_id=parent.id if parent else None)
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    with _unique(session, _unit_name_taken):
        session.add(unit)
    audit.record(
        session,
        actor=actor,
        action="unit.create",
        entity_type="unit",
        entity_id=unit.id,
        data={"name": name, "kind": kind.value, "parent_id": unit.parent_id},
    )
    return unit


def _check_placement(kind: UnitKind, parent: Unit | None) -> None:
    if parent is None and kind is not UnitKind.district:
        raise InvalidInput(
            "Only a district can be a top-level unit; give a parent_id.",
            errors={"parent_id": ["Required for towns and departments."]},
        )
    if parent is not None and kind is UnitKind.district:
        raise InvalidInput(
            "A district is a top-level unit; below a district create a town or a department.",
            errors={"kind": ["Must be town or department under a parent."]},
        )
    if parent is not None and parent.kind is not UnitKind.district:
        raise InvalidInput(
            "Towns and departments belong to a district unit.",
            errors={"parent_id": ["Must be a district."]},
        )


def rename_unit(session: Session, actor: User, unit: Unit, name: str) -> Unit:
    if unit.id == actor.unit_id and unit.parent_id is not None:
        raise PermissionDenied("Only an admin of a higher unit can rename your unit.")
    if name != unit.name:
        _unique_unit_name(session, unit.parent, name)
        with _unique(session, _unit_name_taken):
            diff = audit.changes(unit, {"name": name})
        audit.record(
            session,
            actor=actor,
            action="unit.update",
            entity_type="unit",
            entity_id=unit.id,
            data=diff,
        )
    return unit


def _unique_unit_name(session: Session, parent: Unit | None, name: str) -> None:
    """The nicer early answer; the unique indexes are the guarantee (see _unique)."""
    same_parent = Unit.parent_id.is_(None) if parent is None else Unit.parent_id == parent.id
    clash = session.scalar(
        select(func.count()).select_from(Unit).where(same_parent, Unit.name == name)
    )
    if clash:
        raise _unit_name_taken()


def _unit_name_taken() -> UnitNameTaken:
    # Names no unit: the sibling may be out of the caller's sight.
    return UnitNameTaken(
        "Another unit under the same parent already has this name; choose another name.",
        errors={"name": ["Already used under this parent."]},
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
        raise _username_taken(username)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        unit_id=unit.id,
        password_hash=auth.hash_password(password),
    )
    with _unique(session, lambda: _username_taken(username)):
        session.add(user)
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        data={"username": username, "role": role.value, "unit_id": unit.id},
    )
    return user


def _username_taken(username: str) -> UsernameTaken:
    return UsernameTaken(
        f"The username {username!r} is taken; choose another.",
        errors={"username": ["Already taken."]},
    )


@contextmanager
def _unique(session: Session, error: Callable[[], DomainError]) -> Iterator[None]:
    """Make the changes of the block in a savepoint and flush them: a unique index that a
    parallel request beat us to becomes `error` instead of a 500, and the session stays
    usable. (Changes made before the block would be flushed outside the savepoint.)"""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise error() from None


def update_user(session: Session, actor: User, user: User, values: dict[str, Any]) -> User:
    """`values` may hold display_name, role, active, password and unit (a Unit)."""
    _check_may_update(actor, user, values)
    changes = dict(values)
    password = changes.pop("password", None)
    unit = changes.pop("unit", None)
    if unit is not None:
        changes["unit_id"] = unit.id
    diff = audit.changes(user, changes)
    now = utcnow()
    if password is not None:
        user.password_hash = auth.hash_password(password)
        user.password_changed_at = now
        auth.clear_failures(session, user.username)
        diff["password"] = "reset"  # noqa: S105 (an audit note, not a secret)
    if password is not None or changes.get("active") is False:
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


def _check_may_update(actor: User, user: User, values: dict[str, Any]) -> None:
    if user.id == actor.id:
        own = sorted(key for key in NOT_ON_ONESELF if key in values)
        if own:
            raise PermissionDenied(
                "You cannot change your own password, role, unit or active flag here. Change "
                "your password with POST /api/v1/auth/password; ask an admin of a higher unit "
                "for the rest.",
                errors={("unit_id" if key == "unit" else key): ["Not on yourself."] for key in own},
            )
        return
    _check_may_manage(actor, user)
    if "role" in values or "unit" in values:
        _check_may_assign(actor, values.get("role", user.role), values.get("unit") or user.unit)


def _check_may_manage(actor: User, user: User) -> None:
    """Another admin is changed only by an admin of a strictly higher unit."""
    if user.role is Role.admin and user.unit_id == actor.unit_id:
        raise PermissionDenied("Only an admin of a higher unit can change another admin.")


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


def list_devices(session: Session, actor: User, user_id: uuid.UUID) -> list[Device]:
    user = get_visible_user(session, actor, user_id)
    return list(session.scalars(select(Device).where(Device.user_id == user.id)))


def revoke_device(session: Session, actor: User, device_id: uuid.UUID, *, reason: str) -> Device:
    """Revoke a device of oneself or of a user one manages (see the rank rule above)."""
    device = session.get(Device, device_id)
    if device is None or not scope.can_see(actor, device.user.unit):
        raise NotFound(f"Device {device_id} was not found.")
    if device.user_id != actor.id:
        _check_may_manage(actor, device.user)
    return auth.revoke_device(session, actor, device, reason=reason)
