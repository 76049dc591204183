"""What a supervisor reads before deciding: the inspection list and one inspection in full."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, String, and_, cast, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from backend.errors import InvalidCursor, NotFound
from backend.models import (
    Amendment,
    AuditEntry,
    Change,
    Enterprise,
    Finding,
    FindingConfirmation,
    Hazard,
    Inspection,
    InspectionAnswer,
    InspectionPhoto,
    InspectionReview,
    InspectionStatus,
    MediaObject,
    Unit,
    User,
)
from backend.services import changelog, scope
from backend.services import inspections as stored
from backend.services.pagination import Page, decode, encode
from sync.inspections import KINDS, groups

from .ledger.states import CHINA
from .review import review_summary

MEDIA = "/api/v1/media"


@dataclass(frozen=True)
class Filters:
    status: tuple[InspectionStatus, ...] = ()
    unit_id: uuid.UUID | None = None  # the unit and every unit below it
    enterprise_id: uuid.UUID | None = None
    inspector_id: uuid.UUID | None = None
    kind: str | None = None
    date_from: date | None = None  # the inspection's date (China time), inclusive
    date_to: date | None = None
    has_major: bool | None = None  # a finding claimed, suggested or confirmed major
    awaiting_media: bool | None = None
    has_amendments: bool | None = None
    # a photo whose EXIF capture time lies further than this many seconds outside the
    # inspection's start..finish (the reviewer's capture-time flag)
    photo_flagged_over: int | None = None
    newest_first: bool = False


def get_visible(session: Session, user: User, inspection_id: uuid.UUID) -> Inspection:
    row = session.scalars(
        select(Inspection).where(
            Inspection.id == inspection_id, scope.unit_filter(user, Inspection.unit_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Inspection {inspection_id} was not found.")
    return row


# --- the list ------------------------------------------------------------------------------------


def search(
    session: Session, user: User, filters: Filters, *, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    query = _filtered(session, user, filters)
    rows = _page(session, query, filters.newest_first, limit, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode([rows[-1].created_at.isoformat(), rows[-1].id]) if more else None
    return Page(items=_summaries(session, rows), next_cursor=next_cursor)


def _filtered(session: Session, user: User, f: Filters) -> Select[tuple[Inspection]]:
    query = select(Inspection).where(scope.unit_filter(user, Inspection.unit_id))
    if f.unit_id is not None:
        unit = scope.get_visible_unit(session, user, f.unit_id)
        below = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))
        query = query.where(Inspection.unit_id.in_(below))
    if f.status:
        query = query.where(Inspection.status.in_(f.status))
    for column, value in (
        (Inspection.enterprise_id, f.enterprise_id),
        (Inspection.inspector_id, f.inspector_id),
        (Inspection.kind, f.kind),
    ):
        if value is not None:
            query = query.where(column == value)
    return _flags(_dates(query, f), f)


def _dates(query: Select[tuple[Inspection]], f: Filters) -> Select[tuple[Inspection]]:
    day = func.coalesce(Inspection.started_at, Inspection.created_at)
    if f.date_from is not None:
        query = query.where(day >= datetime.combine(f.date_from, time(), CHINA).astimezone(UTC))
    if f.date_to is not None:
        end = datetime.combine(f.date_to, time(), CHINA).astimezone(UTC)
        query = query.where(day < end + timedelta(days=1))
    return query


def _flags(query: Select[tuple[Inspection]], f: Filters) -> Select[tuple[Inspection]]:
    major = exists(
        select(Finding.id)
        .outerjoin(FindingConfirmation, FindingConfirmation.finding_id == Finding.id)
        .where(
            Finding.inspection_id == Inspection.id,
            or_(
                Finding.claimed_level == "major",
                Finding.suggested_level == "major",
                FindingConfirmation.level == "major",
            ),
        )
    )
    awaiting = cast(Inspection.awaiting_media, String) != "[]"
    amended = exists(select(Amendment.id).where(Amendment.inspection_id == Inspection.id))
    if f.photo_flagged_over is not None:
        query = query.where(
            exists(
                select(InspectionPhoto.sha256).where(
                    InspectionPhoto.inspection_id == Inspection.id,
                    InspectionPhoto.capture_gap_seconds > f.photo_flagged_over,
                )
            )
        )
    for flag, condition in (
        (f.has_major, major),
        (f.awaiting_media, awaiting),
        (f.has_amendments, amended),
    ):
        if flag is not None:
            query = query.where(condition if flag else ~condition)
    return query


def _page(
    session: Session,
    query: Select[tuple[Inspection]],
    newest_first: bool,
    limit: int,
    cursor: str | None,
) -> list[Inspection]:
    keys = (Inspection.created_at, Inspection.id)
    if cursor:
        at, last_id = decode(cursor, 2)
        try:
            position = (datetime.fromisoformat(at), uuid.UUID(last_id))
        except ValueError:
            raise InvalidCursor(
                "The cursor is not one this server issued. Start again without a cursor.",
                errors={"cursor": ["Not a valid cursor."]},
            ) from None
        after = (
            tuple_(*keys) < tuple_(*position) if newest_first else tuple_(*keys) > tuple_(*position)
        )
        query = query.where(after)
    order = [k.desc() for k in keys] if newest_first else list(keys)
    return list(session.scalars(query.order_by(*order).limit(limit + 1)))


def _summaries(session: Session, rows: Sequence[Inspection]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    counts = _finding_counts(session, ids)
    amendments = {
        inspection_id: count
        for inspection_id, count in session.execute(
            select(Amendment.inspection_id, func.count())
            .where(Amendment.inspection_id.in_(ids))
            .group_by(Amendment.inspection_id)
        )
    }
    reviews = _latest_reviews(session, ids)
    enterprises = _by_id(session, Enterprise, {r.enterprise_id for r in rows})
    people = _by_id(session, User, {r.inspector_id for r in rows})
    return [
        {
            **_header(r, enterprises.get(r.enterprise_id), people.get(r.inspector_id)),
            "finding_count": counts.get(r.id, (0, 0))[0],
            "major_finding_count": counts.get(r.id, (0, 0))[1],
            "amendment_count": amendments.get(r.id, 0),
            "review": review_summary(reviews[r.id]) if r.id in reviews else None,
        }
        for r in rows
    ]


def _finding_counts(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    major = or_(Finding.claimed_level == "major", Finding.suggested_level == "major")
    rows = session.execute(
        select(
            Finding.inspection_id,
            func.count(),
            func.count().filter(major),
        )
        .where(Finding.inspection_id.in_(ids))
        .group_by(Finding.inspection_id)
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def _latest_reviews(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, InspectionReview]:
    latest = (
        select(func.max(InspectionReview.id))
        .where(InspectionReview.inspection_id.in_(ids))
        .group_by(InspectionReview.inspection_id)
    )
    rows = session.scalars(select(InspectionReview).where(InspectionReview.id.in_(latest)))
    return {r.inspection_id: r for r in rows}


def _by_id(session: Session, model: Any, ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(model).where(model.id.in_(ids)))}


def _header(
    row: Inspection, enterprise: Enterprise | None, inspector: User | None
) -> dict[str, Any]:
    return {
        "id": row.id,
        "unit_id": row.unit_id,
        "enterprise": {
            "id": row.enterprise_id,
            "name": enterprise.name if enterprise else None,
            "credit_code": enterprise.credit_code if enterprise else None,
        },
        "inspector": {
            "id": row.inspector_id,
            "name": inspector.display_name if inspector else None,
        },
        "kind": row.kind,
        "kind_label": KINDS.get(row.kind, row.kind),
        "checklist": {"code": row.checklist_code, "version": row.checklist_version},
        "status": row.status.value,
        "version": row.version,
        "level": row.level,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "submitted_at": row.submitted_at,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "awaiting_media": list(row.awaiting_media),
    }


# --- one inspection in full ----------------------------------------------------------------------


def detail(session: Session, row: Inspection) -> dict[str, Any]:
    version = stored.checklist_version(session, row.checklist_code, row.checklist_version)
    assert version is not None
    answers = list(
        session.scalars(
            select(InspectionAnswer)
            .where(InspectionAnswer.inspection_id == row.id)
            .order_by(InspectionAnswer.item)
        )
    )
    verdict = version.evaluate({a.item: a.answer for a in answers})  # type: ignore[misc]
    enterprise = session.get(Enterprise, row.enterprise_id)
    inspector = session.get(User, row.inspector_id)
    reviews = list(
        session.scalars(
            select(InspectionReview)
            .where(InspectionReview.inspection_id == row.id)
            .order_by(InspectionReview.id)
        )
    )
    return {
        **_header(row, enterprise, inspector),
        "location": row.location,
        "inspectors": list(row.inspectors),
        "verdict": verdict.to_dict(),
        "answers": [_answer(version, a, set(verdict.defects)) for a in answers],
        "findings": _findings(session, row, version),
        "photos": _photos(session, row),
        "signatures": [_signature(row, s) for s in row.signatures],
        "amendments": _amendments(session, row),
        "reviews": [review_summary(r) for r in reviews],
        "history": _history(session, row),
    }


def _answer(version: Any, answer: InspectionAnswer, defects: set[str]) -> dict[str, Any]:
    fact = version.fact(answer.item)  # a fact a clause needs (中毒风险 …) has no 序号
    item = None if fact else version.item(answer.item)
    return {
        "item": answer.item,
        "seq": item.seq if item else None,
        "text": item.text if item else fact.text,
        "answer": answer.answer,
        "note": answer.note,
        "defect": answer.item in defects,
    }


def _findings(session: Session, row: Inspection, version: Any) -> list[dict[str, Any]]:
    rules = {rule.code: rule.to_dict() for rule in version.rules}
    found = session.execute(
        select(Finding, FindingConfirmation, Hazard)
        .outerjoin(FindingConfirmation, FindingConfirmation.finding_id == Finding.id)
        .outerjoin(Hazard, Hazard.finding_id == Finding.id)
        .where(Finding.inspection_id == row.id)
        .order_by(Finding.position)
    )
    rows = list(found)
    # One situation, one major: findings suggested major by one rule show their group's lead,
    # and a finding merged into another's entry shows that entry.
    leads = groups(
        [{"id": f.id} for f, _c, _e in rows],
        {f.id: (f.suggested_level, f.suggested_rule) for f, _c, _e in rows},
    )
    entries = {f.id: e for f, _c, e in rows if e is not None}
    result = []
    for finding, confirmation, own in rows:
        entry = own or (entries.get(confirmation.merged_into) if confirmation else None)
        lead = leads.get(finding.id)
        result.append(
            {
                "id": finding.id,
                "position": finding.position,
                "items": list(finding.items),
                "description": finding.description,
                "requirement": finding.requirement,
                "deadline": "immediate" if finding.immediate else finding.deadline,
                "claimed_level": finding.claimed_level,
                "suggested_level": finding.suggested_level,
                "suggested_rule": rules.get(finding.suggested_rule or ""),
                "suggested_group": str(lead) if lead is not None else None,
                "suggestion_notes": list(finding.suggestion_notes),
                "sector": finding.sector,
                "photos": [_links(sha) for sha in finding.photos],
                "confirmation": _confirmation(confirmation),
                "hazard": (
                    {"id": entry.id, "number": entry.number, "state": entry.state.value}
                    if entry
                    else None
                ),
            }
        )
    return result


def _confirmation(confirmation: FindingConfirmation | None) -> dict[str, Any] | None:
    if confirmation is None:
        return None
    return {
        "level": confirmation.level,
        "rule": confirmation.rule,
        "clause": confirmation.clause,
        "merged_into": confirmation.merged_into,
        "override_reason": confirmation.override_reason,
        "deadline": confirmation.deadline,
    }


def _photos(session: Session, row: Inspection) -> list[dict[str, Any]]:
    photos = list(
        session.scalars(
            select(InspectionPhoto)
            .where(InspectionPhoto.inspection_id == row.id)
            .order_by(InspectionPhoto.sha256)
        )
    )
    objects = {
        m.sha256: m
        for m in session.scalars(
            select(MediaObject).where(MediaObject.sha256.in_([p.sha256 for p in photos]))
        )
    }
    awaiting = set(row.awaiting_media)
    return [_photo(p, objects.get(p.sha256), p.sha256 not in awaiting) for p in photos]


def _photo(photo: InspectionPhoto, media: MediaObject | None, arrived: bool) -> dict[str, Any]:
    info = (media.info if media else None) or {}
    return {
        **_links(photo.sha256),
        "item": photo.item,
        "caption": photo.caption,
        "taken_at": photo.taken_at,  # the tablet's clock
        "arrived": arrived,
        "exif": {
            "taken_at": media.taken_at if media else None,
            "has_time": bool(media and media.taken_at),
            "has_gps": bool(info.get("gps")),
            "capture_gap_seconds": photo.capture_gap_seconds,
        },
    }


def _signature(row: Inspection, signature: dict[str, Any]) -> dict[str, Any]:
    return {
        "role": signature.get("role"),
        "name": signature.get("name"),
        **_links(signature.get("sha256", "")),
        "arrived": signature.get("sha256") not in set(row.awaiting_media),
    }


def _links(sha256: str) -> dict[str, Any]:
    return {
        "sha256": sha256,
        "links": {"original": f"{MEDIA}/{sha256}", "thumbnail": f"{MEDIA}/{sha256}/thumbnail"},
    }


def _amendments(session: Session, row: Inspection) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Amendment).where(Amendment.inspection_id == row.id).order_by(Amendment.created_at)
    )
    return [
        {
            "id": a.id,
            "user_id": a.user_id,
            "device_id": a.device_id,
            "reason": a.reason,
            "base_version": a.base_version,
            "created_at": a.created_at,
            "payload": a.payload,
        }
        for a in rows
    ]


def _history(session: Session, row: Inspection) -> list[dict[str, Any]]:
    """Every version the tablet wrote (from the change log) and every decision (audit log)."""
    versions = session.execute(
        select(Change.created_at, Change.version, Change.data)
        .where(
            Change.bucket == changelog.user_bucket(row.inspector_id),
            Change.entity_type == "inspection",
            Change.entity_id == str(row.id),
        )
        .order_by(Change.id)
    )
    entries: list[dict[str, Any]] = [
        {
            "at": at,
            "action": "inspection.version",
            "actor_id": row.inspector_id,
            "version": number,
            "status": (data or {}).get("status"),
        }
        for at, number, data in versions
        if not (data or {}).get("review")  # a decision's own version: its audit entry says it
    ]
    audits = session.scalars(
        select(AuditEntry)
        .where(and_(AuditEntry.entity_type == "inspection", AuditEntry.entity_id == str(row.id)))
        .order_by(AuditEntry.id)
    )
    entries += [
        {
            "at": a.at,
            "action": a.action,
            "actor_id": a.actor_id,
            "version": a.data.get("version"),
            "status": a.data.get("status"),
            "reason": a.reason,
        }
        for a in audits
    ]
    return sorted(entries, key=lambda e: e["at"])
