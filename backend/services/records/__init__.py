"""Enforcement actions and activities: create, correct (a new version, never an overwrite),
search and history, scoped by unit and role (docs/records.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from backend.models import (
    Campaign,
    DocumentClaim,
    Enterprise,
    Hazard,
    Inspection,
    MediaClaim,
    MediaObject,
    Record,
    RecordFamily,
    RecordMedia,
    RecordVersion,
    Role,
    Unit,
    User,
    utcnow,
)
from backend.services import audit, scope
from backend.services.pagination import Page, paginate

from . import content as content_
from .errors import (
    CampaignUnknown,
    RecordExists,
    RecordForbidden,
    RecordNotFound,
    RecordRefused,
    RecordStale,
)
from .kinds import KINDS, Kind

__all__ = [
    "as_of",
    "correct",
    "create",
    "get_visible",
    "history",
    "save_offline",
    "search",
    "view",
]


def create(
    session: Session,
    user: User,
    family: RecordFamily,
    values: dict[str, Any],
    *,
    unit: Unit | None = None,
    record_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
) -> Record:
    kind, content, flags = content_.load(values, family)
    unit_id = unit.id if unit is not None else user.unit_id
    _check_references(session, user, content)
    content["facts"] = _facts(session, content)
    record = Record(
        id=record_id or uuid.uuid4(),
        family=family,
        unit_id=unit_id,
        created_by=user.id,
        **_header(kind, content, flags),
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        raise RecordExists(
            f"A record {record.id} exists already; correct it instead.",
            errors={"id": ["Taken."]},
        ) from None
    _new_version(session, record, content, user, reason=None, device_id=device_id)
    audit.record(
        session,
        actor=user,
        action=f"{family.value}.create",
        entity_type="record",
        entity_id=record.id,
        data={"kind": kind.code, "version": 1},
    )
    return record


def correct(
    session: Session,
    user: User,
    record: Record,
    values: dict[str, Any],
    *,
    reason: str,
    expected_version: int,
    device_id: uuid.UUID | None = None,
) -> Record:
    """A new version with the reason; the old ones stay as they were."""
    _may_correct(user, record)
    if expected_version != record.version:
        raise RecordStale(
            f"The record changed since you read it (now version {record.version}). "
            "Fetch it again and re-apply your correction.",
            errors={"expected_version": [f"Current version is {record.version}."]},
        )
    merged = {**_current(session, record), **values}
    merged.pop("facts", None)
    merged.setdefault("kind", record.kind)
    if merged["kind"] != record.kind:
        raise RecordRefused(
            "record.kind_changed",
            f"A correction cannot change the kind ({record.kind}); record a new one instead.",
            {"kind": ["Cannot change."]},
        )
    kind, content, flags = content_.load(merged, record.family)
    _check_references(session, user, content)
    content["facts"] = _facts(session, content)
    for key, value in _header(kind, content, flags).items():
        setattr(record, key, value)
    record.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()  # version_id_col: version + 1, or StaleDataError
    except StaleDataError:
        raise RecordStale(
            "The record was corrected by someone else while you saved. Fetch it again.",
            errors={"expected_version": ["Changed meanwhile."]},
        ) from None
    _new_version(session, record, content, user, reason=reason, device_id=device_id)
    audit.record(
        session,
        actor=user,
        action=f"{record.family.value}.correct",
        entity_type="record",
        entity_id=record.id,
        data={"kind": kind.code, "version": record.version},
        reason=reason,
    )
    return record


def save_offline(
    session: Session,
    user: User,
    family: RecordFamily,
    device_id: uuid.UUID,
    record_id: uuid.UUID,
    values: dict[str, Any],
    *,
    base_version: int | None,
    reason: str | None,
) -> tuple[Record, bool]:
    """activity.save@1 and enforcement.save@1: the first save creates the record under the
    tablet's id; a later save of the same content changes nothing; a changed one is a
    correction made on base_version. Returns the record and whether a version was added."""
    record = session.get(Record, record_id)
    if record is None:
        return create(session, user, family, values, record_id=record_id, device_id=device_id), True
    if record.family is not family or record.unit_id != user.unit_id:
        raise RecordExists(
            f"The id {record_id} belongs to another record; generate a new id.",
            errors={"id": ["Taken."]},
        )
    _, content, _ = content_.load(values, family)
    current = _current(session, record)
    current.pop("facts", None)
    if content == current:
        return record, False
    return correct(
        session,
        user,
        record,
        values,
        reason=reason or "更正 (tablet)",
        expected_version=base_version if base_version is not None else record.version,
        device_id=device_id,
    ), True


def _header(kind: Kind, content: dict[str, Any], flags: list[str]) -> dict[str, Any]:
    return {
        "kind": kind.code,
        "campaign_code": content["campaign"],
        "enterprise_id": _uuid(content.get("enterprise_id")),
        "inspection_id": _uuid(content.get("inspection_id")),
        "occurred_on": date.fromisoformat(content["occurred_on"]),
        "countable": not flags,
        "flags": flags,
    }


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _new_version(
    session: Session,
    record: Record,
    content: dict[str, Any],
    user: User,
    *,
    reason: str | None,
    device_id: uuid.UUID | None,
) -> None:
    session.add(
        RecordVersion(
            record_id=record.id,
            version=record.version,
            content=content,
            countable=record.countable,
            flags=list(record.flags),
            reason=reason,
            author_id=user.id,
            device_id=device_id,
            created_at=record.updated_at,
        )
    )
    session.query(RecordMedia).filter(RecordMedia.record_id == record.id).delete()
    refs = {(d["sha256"], "document") for d in content["documents"]}
    refs |= {(sha, "photo") for sha in content["photos"]}
    session.add_all(RecordMedia(record_id=record.id, sha256=s, role=r) for s, r in sorted(refs))
    session.flush()


def _check_references(session: Session, user: User, content: dict[str, Any]) -> None:
    """Campaign, enterprise, inspection and hazards must exist and be the caller's to see."""
    if session.get(Campaign, content["campaign"]) is None:
        raise CampaignUnknown(
            f"Unknown campaign {content['campaign']!r}; the 2023 专项行动 is "
            f"{content_.DEFAULT_CAMPAIGN!r}.",
            errors={"campaign": ["Unknown campaign."]},
        )
    ids = [("enterprise_id", Enterprise, content.get("enterprise_id"))]
    ids.append(("inspection_id", Inspection, content.get("inspection_id")))
    ids += [("hazard_ids", Hazard, h) for h in content["hazard_ids"]]
    for place in content["detail"].get("places", []):
        ids.append(("detail.places", Enterprise, place.get("enterprise_id")))
    for field, model, value in ids:
        if value is None:
            continue
        row: Any = session.get(model, uuid.UUID(value))
        if row is None or not scope.can_see(user, session.get_one(Unit, row.unit_id)):
            raise RecordRefused(
                "record.reference_unknown",
                f"{field} {value} is not one your unit can see.",
                {field: ["Unknown."]},
            )
    town = content["detail"].get("town_id")
    if town is not None and session.get(Unit, uuid.UUID(town)) is None:
        raise RecordRefused(
            "record.reference_unknown", f"Unknown town {town}.", {"detail.town_id": ["Unknown."]}
        )


def _facts(session: Session, content: dict[str, Any]) -> dict[str, Any]:
    """What the counting rules need about the enterprise, as it was when the version was made."""
    facts: dict[str, Any] = {}
    if content.get("enterprise_id"):
        enterprise = session.get_one(Enterprise, uuid.UUID(content["enterprise_id"]))
        facts["entity_type"] = enterprise.entity_type.value
        facts["key_enterprise"] = enterprise.key_enterprise
        facts["town_id"] = str(enterprise.town_id) if enterprise.town_id else None
    return facts


def _may_correct(user: User, record: Record) -> None:
    if user.role is Role.inspector and record.created_by != user.id:
        raise RecordForbidden(
            "Only the user who recorded it, or a supervisor of its unit, may correct it."
        )


def _current(session: Session, record: Record) -> dict[str, Any]:
    row = session.get_one(RecordVersion, (record.id, record.version))
    return dict(row.content)


def get_visible(session: Session, user: User, record_id: uuid.UUID, family: RecordFamily) -> Record:
    record = session.get(Record, record_id)
    if (
        record is None
        or record.family is not family
        or not scope.can_see(user, session.get_one(Unit, record.unit_id))
    ):
        raise RecordNotFound(f"Record {record_id} was not found.")
    return record


def search(
    session: Session,
    user: User,
    family: RecordFamily,
    *,
    limit: int,
    cursor: str | None,
    kind: str | None = None,
    unit_id: uuid.UUID | None = None,
    enterprise_id: uuid.UUID | None = None,
    campaign: str | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
    countable: bool | None = None,
) -> Page[Record]:
    query = select(Record).where(Record.family == family, scope.unit_filter(user, Record.unit_id))
    for column, value in (
        (Record.kind, kind),
        (Record.unit_id, unit_id),
        (Record.enterprise_id, enterprise_id),
        (Record.campaign_code, campaign),
        (Record.countable, countable),
    ):
        if value is not None:
            query = query.where(column == value)
    if occurred_from is not None:
        query = query.where(Record.occurred_on >= occurred_from)
    if occurred_to is not None:
        query = query.where(Record.occurred_on <= occurred_to)
    return paginate(session, query, [Record.id], limit=limit, cursor=cursor)


def view(session: Session, record: Record) -> dict[str, Any]:
    content = _current(session, record)
    kind = KINDS[record.kind]
    return {
        **content,
        "id": record.id,
        "family": record.family.value,
        "kind_label": kind.label,
        "unit_id": record.unit_id,
        "version": record.version,
        "countable": record.countable,
        "flags": record.flags,
        "figures": figures(kind, content),
        "awaiting_media": awaiting(session, record, content),
        "created_by": record.created_by,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def figures(kind: Kind, content: dict[str, Any]) -> dict[str, Any]:
    """The numbers a 调度表 reads off the record: amounts in 万元, attendee counts…"""
    detail = content["detail"]
    out: dict[str, Any] = {}
    for key in ("amount_yuan", "enterprise_amount_yuan", "principal_amount_yuan", "reward_yuan"):
        if detail.get(key) is not None:
            wan = (Decimal(detail[key]) / 10000).normalize()
            out[key.replace("_yuan", "_wan")] = format(wan, "f")
    if kind.code == "training":
        attendees = detail["attendees"]
        out["attendees"] = len(attendees)
        out["law_enforcement_attendees"] = sum(a["role"] == "law_enforcement" for a in attendees)
    if kind.code in ("judicial_referral", "criminal_liability", "disciplinary"):
        out["persons"] = len(detail["persons"])
    if kind.code == "accountability":
        out["persons"] = len(detail["entries"])
    return out


def awaiting(session: Session, record: Record, content: dict[str, Any]) -> list[str]:
    """The referenced photos and documents the record's unit has not uploaded yet."""
    documents = [d["sha256"] for d in content["documents"]]
    photos = content["photos"]
    held = set(
        session.scalars(
            select(DocumentClaim.sha256).where(
                DocumentClaim.unit_id == record.unit_id, DocumentClaim.sha256.in_(documents)
            )
        )
    )
    held |= set(
        session.scalars(
            select(MediaClaim.sha256)
            .join(MediaObject, MediaObject.sha256 == MediaClaim.sha256)
            .where(
                MediaClaim.unit_id == record.unit_id,
                MediaClaim.sha256.in_(photos),
                MediaObject.collecting_since.is_(None),
            )
        )
    )
    return [sha for sha in dict.fromkeys([*documents, *photos]) if sha not in held]


def history(session: Session, record: Record) -> list[dict[str, Any]]:
    rows = session.execute(
        select(RecordVersion, User.display_name, User.username)
        .join(User, User.id == RecordVersion.author_id)
        .where(RecordVersion.record_id == record.id)
        .order_by(RecordVersion.version)
    )
    return [
        {
            "version": v.version,
            "content": v.content,
            "countable": v.countable,
            "flags": v.flags,
            "reason": v.reason,
            "author": {"id": v.author_id, "display_name": name, "username": username},
            "device_id": v.device_id,
            "created_at": v.created_at,
        }
        for v, name, username in rows
    ]


def as_of(
    session: Session,
    at: datetime,
    *,
    family: RecordFamily | None = None,
    unit_ids: list[uuid.UUID] | None = None,
) -> list[tuple[Record, RecordVersion]]:
    """Each record as it stood at ``at``: its last version created by then (records created
    later are left out). What a report as of a cut-off counts; later corrections do not change
    it."""
    latest = (
        select(RecordVersion.record_id, func.max(RecordVersion.version).label("version"))
        .where(RecordVersion.created_at <= at)
        .group_by(RecordVersion.record_id)
        .subquery()
    )
    query = (
        select(Record, RecordVersion)
        .join(latest, latest.c.record_id == Record.id)
        .join(
            RecordVersion,
            (RecordVersion.record_id == Record.id) & (RecordVersion.version == latest.c.version),
        )
        .order_by(Record.id)
    )
    if family is not None:
        query = query.where(Record.family == family)
    if unit_ids is not None:
        query = query.where(Record.unit_id.in_(unit_ids))
    return [(record, version) for record, version in session.execute(query)]
