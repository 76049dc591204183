"""Enterprises (被检查单位): create, update, search, scoped to units."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.domain import credit_code
from backend.domain.sectors import SECTORS
from backend.errors import DuplicateEnterprise, InvalidInput, NotFound, StaleVersion
from backend.models import Enterprise, EntityType, Unit, UnitKind, User

from . import audit, changelog, scope
from .pagination import Page, paginate

FIELDS = (
    "name",
    "credit_code",
    "sector",
    "address",
    "contact_name",
    "contact_phone",
    "entity_type",
    "key_enterprise",
    "town_id",
)
DEFAULTS: dict[str, Any] = {"entity_type": EntityType.enterprise, "key_enterprise": False}


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and check the fields; raise InvalidInput naming each bad one."""
    clean = dict(values)
    errors: dict[str, list[str]] = {}
    code = clean.get("credit_code")
    if code is not None:
        code = credit_code.normalise(code) or None
        clean["credit_code"] = code
        problem = credit_code.problem(code) if code else None
        if problem:
            errors["credit_code"] = [f"Not a valid 统一社会信用代码: {problem}."]
    sector = clean.get("sector")
    if sector is not None and sector not in SECTORS:
        errors["sector"] = [f"Unknown sector {sector!r}; use one of {', '.join(SECTORS)}."]
    for key in ("name", "address", "contact_name", "contact_phone"):
        if isinstance(clean.get(key), str):
            clean[key] = clean[key].strip() or None
    if "name" in clean and not clean["name"]:
        errors["name"] = ["Must not be empty."]
    if errors:
        fields = ", ".join(sorted(errors))
        raise InvalidInput(f"Fix these fields and send again: {fields}.", errors=errors)
    return clean


def create(session: Session, actor: User | None, unit: Unit, values: dict[str, Any]) -> Enterprise:
    clean = {**DEFAULTS, **validate(values)}
    _check_town(session, clean.get("town_id"))
    _no_duplicate(session, unit.id, clean.get("credit_code"), None)
    enterprise = Enterprise(unit_id=unit.id, **{k: clean.get(k) for k in FIELDS})
    with _saving(session, clean.get("credit_code")):
        session.add(enterprise)
    audit.record(
        session,
        actor=actor,
        action="enterprise.create",
        entity_type="enterprise",
        entity_id=enterprise.id,
        data={k: clean.get(k) for k in FIELDS},
    )
    _publish(session, enterprise)
    return enterprise


def update(
    session: Session,
    actor: User,
    enterprise: Enterprise,
    values: dict[str, Any],
    *,
    expected_version: int | None = None,
) -> Enterprise:
    if expected_version is not None and expected_version != enterprise.version:
        raise StaleVersion(
            f"The enterprise changed since you read it (now version {enterprise.version}). "
            "Fetch it again and re-apply your change.",
            errors={"version": [f"Current version is {enterprise.version}."]},
        )
    clean = validate(values)
    _check_town(session, clean.get("town_id"))
    if "credit_code" in clean:
        _no_duplicate(session, enterprise.unit_id, clean["credit_code"], enterprise.id)
    with _saving(session, clean.get("credit_code")):
        diff = audit.changes(enterprise, clean)
    if diff:
        audit.record(
            session,
            actor=actor,
            action="enterprise.update",
            entity_type="enterprise",
            entity_id=enterprise.id,
            data=diff,
        )
        _publish(session, enterprise)
    return enterprise


def as_dict(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "id": str(enterprise.id),
        "unit_id": str(enterprise.unit_id),
        "version": enterprise.version,
        **{k: getattr(enterprise, k) for k in FIELDS},
        "entity_type": enterprise.entity_type.value,
        "town_id": str(enterprise.town_id) if enterprise.town_id else None,
    }


def _check_town(session: Session, town_id: uuid.UUID | None) -> None:
    """The town an enterprise lies in is a 镇街 unit (towns report 全口径)."""
    if town_id is None:
        return
    town = session.get(Unit, town_id)
    if town is None or town.kind is not UnitKind.town:
        raise InvalidInput(
            f"{town_id} is not a town (镇街); give the id of the town the enterprise lies in.",
            errors={"town_id": ["Not a town."]},
        )


def _publish(session: Session, enterprise: Enterprise) -> None:
    """Tell the unit's tablets (pull, bucket unit:<id>)."""
    changelog.record(
        session,
        [
            changelog.ChangeRow(
                changelog.unit_bucket(enterprise.unit_id),
                "enterprise",
                str(enterprise.id),
                "upsert",
                enterprise.version,
                as_dict(enterprise),
            )
        ],
    )


def _no_duplicate(
    session: Session, unit_id: uuid.UUID, code: str | None, own_id: uuid.UUID | None
) -> None:
    if not code:
        return
    other = session.scalar(
        select(Enterprise.id).where(Enterprise.unit_id == unit_id, Enterprise.credit_code == code)
    )
    if other is not None and other != own_id:
        raise _duplicate(code)


@contextmanager
def _saving(session: Session, code: str | None) -> Iterator[None]:
    """Make the block's changes in a savepoint and flush them there. The unique index is the
    guarantee against duplicates (the check above only gives the nicer message); the version
    column, against a parallel update that committed first and left ours matching no row."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        raise _duplicate(code) from None
    except StaleDataError:
        raise StaleVersion(
            "The enterprise was changed by someone else while you saved. Fetch it again and "
            "re-apply your change.",
            errors={"version": ["Changed meanwhile."]},
        ) from None


def _duplicate(code: str | None) -> DuplicateEnterprise:
    return DuplicateEnterprise(
        f"An enterprise with 统一社会信用代码 {code} already exists in this unit; update that one.",
        errors={"credit_code": ["Already registered in this unit."]},
    )


def get_visible(session: Session, user: User, enterprise_id: uuid.UUID) -> Enterprise:
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None or not scope.can_see(user, enterprise.unit):
        raise NotFound(f"Enterprise {enterprise_id} was not found.")
    return enterprise


def search(
    session: Session,
    user: User,
    *,
    q: str | None,
    sector: str | None,
    unit_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[Enterprise]:
    query = select(Enterprise).where(scope.unit_filter(user, Enterprise.unit_id))
    if q:
        term = q.strip()
        query = query.where(
            or_(
                Enterprise.name.icontains(term, autoescape=True),
                Enterprise.credit_code == term.upper(),
                Enterprise.address.icontains(term, autoescape=True),
            )
        )
    if sector:
        query = query.where(Enterprise.sector == sector)
    if unit_id:
        query = query.where(Enterprise.unit_id == unit_id)
    return paginate(session, query, [Enterprise.name, Enterprise.id], limit=limit, cursor=cursor)
