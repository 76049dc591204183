"""Who may see which unit. The one place the unit-scope rule lives.

An inspector or a supervisor sees their own unit; an admin sees their unit and every unit below.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from backend.errors import NotFound, PermissionDenied
from backend.models import Role, Unit, User


def visible_units(user: User) -> ColumnElement[bool]:
    """A filter over Unit rows the user may see."""
    if user.role is Role.admin:
        return Unit.path.startswith(user.unit.path, autoescape=True)
    return Unit.id == user.unit_id


def unit_filter(user: User, column: Any) -> ColumnElement[bool]:
    """A filter over a unit_id column: rows belonging to units the user may see."""
    if user.role is Role.admin:
        return column.in_(select(Unit.id).where(visible_units(user)))
    return column == user.unit_id  # type: ignore[no-any-return]


def can_see(user: User, unit: Unit) -> bool:
    if user.role is Role.admin:
        return unit.path.startswith(user.unit.path)
    return unit.id == user.unit_id


def get_visible_unit(session: Session, user: User, unit_id: uuid.UUID) -> Unit:
    """The unit, or NotFound when it does not exist or is out of the user's scope."""
    unit = session.get(Unit, unit_id)
    if unit is None or not can_see(user, unit):
        raise NotFound(f"Unit {unit_id} was not found.")
    return unit


def require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        names = " or ".join(r.value for r in roles)
        raise PermissionDenied(f"This needs the {names} role; you are signed in as {user.role}.")
