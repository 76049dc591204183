"""What a bundle of each scope holds, and who may have it.

A scope is one entry of :data:`~.registry.SCOPES`: ``authorise`` raises NotFound unless the
user may see every record the bundle holds, ``collect`` turns the records into a session-free
:class:`~.plan.Plan`. ``report`` (a filed 调度表) is in :mod:`.report`, built on these pieces.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, literal_column, or_, select, text
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import (
    DocumentObject,
    Enterprise,
    Finding,
    FindingConfirmation,
    Hazard,
    HazardEvent,
    HazardSource,
    Inspection,
    InspectionAnswer,
    InspectionPhoto,
    InspectionReview,
    MediaObject,
    Record,
    RecordVersion,
    Unit,
    User,
)
from backend.services import inspections as stored_inspections
from backend.services import scope as unit_scope
from backend.services.ledger import queries as ledger_queries
from backend.services.ledger import states
from backend.services.records import kinds as record_kinds
from media import content_key
from media.bundle import Entry
from media.documents import document_key
from sync.inspections import KINDS

from . import labels, notices
from .plan import Plan, extension, jsonable, safe_segment

CHINA = states.CHINA
ANSWER_LABELS = {"yes": "是", "no": "否", "na": "不涉及"}
DECISION_LABELS = {"approve": "通过", "return": "退回", "reject": "不予通过"}


@dataclass(frozen=True)
class Scope:
    name: str
    label: str
    authorise: Callable[[Session, User, uuid.UUID], None]
    collect: Callable[[Session, uuid.UUID], Plan]


# -- shared pieces -------------------------------------------------------------------------------


class _Photos:
    """Looks up the stored originals and names them in the order given, folder by folder.

    A photo is stored once per bundle, under the first name it is given (the scopes add the
    place a person looks for first first: a hazard's 整改前 before its inspection's 检查记录);
    a later place refers to it: its manifest entry's ``also`` lists the other places (path it
    would have had, record), and the summary shows the stored file there."""

    def __init__(self, session: Session, hashes: Iterable[str]) -> None:
        wanted = sorted(set(hashes))
        self.objects = {
            m.sha256: m
            for m in session.scalars(
                select(MediaObject).where(
                    MediaObject.sha256.in_(wanted), MediaObject.collecting_since.is_(None)
                )
            )
        }
        self.entries: dict[str, Entry] = {}
        self.stored: dict[str, str] = {}  # sha256 → the name it is stored under
        self.missing: list[str] = []

    def add(
        self,
        folder: str,
        hashes: Iterable[str],
        record: dict[str, Any],
        *,
        stem: str | None = None,
        **meta: Any,
    ) -> list[dict[str, Any]]:
        """Name each photo ``<folder>/NN.<ext>`` (or one photo ``<folder>/<stem>.<ext>``);
        returns what the summary shows of each."""
        shown = []
        for n, sha in enumerate(dict.fromkeys(hashes), start=1):
            media = self.objects.get(sha)
            if media is None:
                self.missing.append(sha)
                shown.append({"sha256": sha, "path": None, "missing": True, **meta})
                continue
            name = f"{folder}/{stem or f'{n:02d}'}.{extension(media.content_type)}"
            if name in self.entries:
                raise ValueError(f"two files of the bundle would be named {name}")
            info = media.info or {}
            exif = {"taken_at": media.taken_at, "gps": info.get("gps")}
            taken = _local(media.taken_at)
            kept = self.stored.get(sha)
            if kept is not None:
                _refer(self.entries, kept, {"path": name, "record": record, **meta})
                shown.append(
                    jsonable(
                        {"sha256": sha, "path": kept, "same_as": name, "exif": exif}
                        | {"taken": taken, **meta}
                    )
                )
                continue
            self.stored[sha] = name
            self.entries[name] = Entry(
                name,
                sha,
                media.size,
                key=content_key(sha),
                meta=jsonable(
                    {"record": record, "content_type": media.content_type, "exif": exif, **meta}
                ),
            )
            shown.append(
                jsonable({"sha256": sha, "path": name, "exif": exif, "taken": taken, **meta})
            )
        return shown


def _refer(entries: dict[str, Entry], kept: str, place: dict[str, Any]) -> None:
    """One more place of the file stored as ``kept``: listed in its manifest entry's ``also``."""
    entry = entries[kept]
    also = [*entry.meta.get("also", []), jsonable(place)]
    entries[kept] = dataclasses.replace(entry, meta={**entry.meta, "also": also})


class _Documents:
    """The documents (PDFs, scans) of the records a bundle holds, named for a person."""

    def __init__(self, session: Session, hashes: Iterable[str]) -> None:
        wanted = sorted(set(hashes))
        self.objects = {
            d.sha256: d
            for d in session.scalars(
                select(DocumentObject).where(DocumentObject.sha256.in_(wanted))
            )
        }
        self.entries: dict[str, Entry] = {}
        self.stored: dict[str, str] = {}  # sha256 → the name it is stored under
        self.missing: list[str] = []

    def add(
        self, folder: str, documents: Iterable[dict[str, Any]], record: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Name each document ``<folder>/NN-<role>.<ext>`` in the order the record lists them;
        one the bundle already holds is stored once, as :class:`_Photos` does."""
        shown: list[dict[str, Any]] = []
        for n, document in enumerate(documents, start=1):
            sha, role = str(document["sha256"]), str(document.get("role") or "other")
            label = record_kinds.DOCUMENT_ROLES.get(role, role)
            stored = self.objects.get(sha)
            if stored is None:
                self.missing.append(sha)
                shown.append({"sha256": sha, "path": None, "role": label, "missing": True})
                continue
            ext = DOCUMENT_EXTENSIONS.get(stored.content_type, "bin")
            name = f"{folder}/{n:02d}-{safe_segment(label, 20)}.{ext}"
            if name in self.entries:
                raise ValueError(f"two files of the bundle would be named {name}")
            kept = self.stored.get(sha)
            if kept is not None:
                _refer(self.entries, kept, {"path": name, "record": record, "role": role})
                shown.append(
                    {"sha256": sha, "path": kept, "same_as": name, "role": label}
                    | {"pages": stored.pages}
                )
                continue
            self.stored[sha] = name
            self.entries[name] = Entry(
                name,
                sha,
                stored.size,
                key=document_key(sha),
                meta=jsonable(
                    {
                        "record": record,
                        "content_type": stored.content_type,
                        "role": role,
                        "pages": stored.pages,
                    }
                ),
            )
            shown.append({"sha256": sha, "path": name, "role": label, "pages": stored.pages})
        return shown


DOCUMENT_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _names(session: Session, model: Any, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    column = model.display_name if model is User else model.name
    rows = session.execute(select(model.id, column).where(model.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    local = moment.astimezone(CHINA)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def _enterprise(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "name": enterprise.name,
        "credit_code": enterprise.credit_code,
        "address": enterprise.address,
        "contact_name": enterprise.contact_name,
        "contact_phone": enterprise.contact_phone,
    }


# -- records (执法措施, 工作开展情况) behind an inspection or a hazard ----------------------------


def related_records(
    session: Session, inspection_ids: Iterable[uuid.UUID], hazard_ids: Iterable[uuid.UUID]
) -> list[tuple[Record, RecordVersion]]:
    """The enforcement actions and activities whose current version names one of the
    inspections or hazards, in the order they happened."""
    inspections = sorted(set(inspection_ids))
    hazards = sorted({str(h) for h in hazard_ids})
    conditions = []
    if inspections:
        conditions.append(Record.inspection_id.in_(inspections))
    if hazards:
        conditions.append(_names_a_hazard(session, hazards))
    if not conditions:
        return []
    rows = session.execute(
        select(Record, RecordVersion)
        .join(
            RecordVersion,
            (RecordVersion.record_id == Record.id) & (RecordVersion.version == Record.version),
        )
        .where(or_(*conditions))
        .order_by(Record.occurred_on, Record.created_at, Record.id)
    )
    return [(record, version) for record, version in rows]


def _names_a_hazard(session: Session, hazards: list[str]) -> Any:
    """``record_versions.content`` lists one of ``hazards`` in its ``hazard_ids`` (a JSON array:
    each database's own way of looking inside one)."""
    if session.get_bind().dialect.name == "postgresql":
        elements = text(
            "SELECT 1 FROM jsonb_array_elements_text(record_versions.content -> 'hazard_ids') "
            "AS listed(value) WHERE listed.value IN :hazards"
        )
    else:
        elements = text(
            "SELECT 1 FROM json_each(record_versions.content, '$.hazard_ids') AS listed "
            "WHERE listed.value IN :hazards"
        )
    elements = elements.bindparams(bindparam("hazards", hazards, expanding=True))
    return exists(elements.columns(literal_column("1")))


def _authorise_records(
    session: Session, user: User, records: list[tuple[Record, RecordVersion]]
) -> bool:
    units = {record.unit_id for record, _ in records}
    return all(unit_scope.can_see(user, session.get_one(Unit, u)) for u in units)


def _record_hashes(records: list[tuple[Record, RecordVersion]]) -> list[str]:
    return [sha for _, version in records for sha in version.content.get("photos", [])]


def _document_hashes(records: list[tuple[Record, RecordVersion]]) -> list[str]:
    return [d["sha256"] for _, v in records for d in v.content.get("documents", [])]


def records_data(
    session: Session,
    records: list[tuple[Record, RecordVersion]],
    photos: _Photos,
    documents: _Documents,
    folder: str,
) -> list[dict[str, Any]]:
    """What the summary prints of each record; names its documents and photos."""
    units = _names(session, Unit, [r.unit_id for r, _ in records])
    people = _names(session, User, [v.author_id for _, v in records])
    firms = _names(session, Enterprise, [_enterprise_of(r, v) for r, v in records])
    shown = []
    for n, (record, version) in enumerate(records, start=1):
        kind = record_kinds.KINDS.get(record.kind)
        label = kind.label if kind else record.kind
        content = version.content
        # The version's own day and enterprise: a report's version may be an older one.
        occurred_on = str(content.get("occurred_on") or record.occurred_on)
        enterprise_id = _enterprise_of(record, version)
        here = f"{folder}/执法与工作记录/{n:02d}-{safe_segment(label, 20)}-{occurred_on}"
        about = {
            "type": "record",
            "id": str(record.id),
            "version": version.version,  # the version shown: a report's may be an older one
            "family": record.family.value,
            "kind": record.kind,
        }
        shown.append(
            {
                "n": n,
                "id": str(record.id),
                "version": version.version,
                "family": "执法措施" if record.family.value == "enforcement" else "工作开展情况",
                "kind": label,
                "occurred_on": occurred_on,
                "unit": units.get(record.unit_id),
                "enterprise": firms.get(enterprise_id) if enterprise_id else None,
                "author": people.get(version.author_id),
                "recorded_at": _local(version.created_at),
                "reason": version.reason,
                "countable": version.countable,
                "flags": [labels.flag(f) for f in version.flags],
                "note": content.get("note"),
                "detail": _detail_rows(kind, content.get("detail") or {}),
                "documents": documents.add(here, content.get("documents", []), about),
                "photos": photos.add(f"{here}/照片", content.get("photos", []), about),
            }
        )
    return shown


def _enterprise_of(record: Record, version: RecordVersion) -> uuid.UUID | None:
    if "enterprise_id" not in version.content:
        return record.enterprise_id
    value = version.content["enterprise_id"]
    return uuid.UUID(str(value)) if value else None


def _detail_rows(kind: Any, detail: dict[str, Any]) -> list[dict[str, str]]:
    """The kind's fields as label and value, in the schema's order; a field's label is its
    Chinese description where it has a short one."""
    fields = kind.schema().fields if kind else {}
    rows = []
    for name in [*fields, *(k for k in detail if k not in fields)]:
        if name not in detail or detail[name] in (None, "", []):
            continue
        value = detail[name]
        named = labels.choices(fields[name]) if name in fields else {}
        if isinstance(value, str) and value in named:
            value = named[value]
        rows.append({"label": labels.FIELDS.get(name, name), "value": _printed(value)})
    return rows


def _printed(value: Any) -> str:
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list):
        return "；".join(_printed(v) for v in value)
    if isinstance(value, dict):
        return "，".join(_printed(v) for v in value.values() if v not in (None, ""))
    return str(value)


# -- inspection -----------------------------------------------------------------------------------


def _visible_inspection(session: Session, user: User, inspection_id: uuid.UUID) -> Inspection:
    row = session.get(Inspection, inspection_id)
    if row is None or not unit_scope.can_see(user, session.get_one(Unit, row.unit_id)):
        raise NotFound(f"Inspection {inspection_id} was not found.")
    return row


def authorise_inspection(session: Session, user: User, inspection_id: uuid.UUID) -> None:
    """The inspection and every record (执法措施, 工作开展情况) the bundle holds with it."""
    _visible_inspection(session, user, inspection_id)
    if not _authorise_records(session, user, _inspection_records(session, inspection_id)):
        raise NotFound(f"Inspection {inspection_id} was not found.")


def _inspection_records(
    session: Session, inspection_id: uuid.UUID
) -> list[tuple[Record, RecordVersion]]:
    hazards = session.scalars(select(Hazard.id).where(Hazard.inspection_id == inspection_id))
    return related_records(session, [inspection_id], hazards)


def collect_inspection(session: Session, inspection_id: uuid.UUID) -> Plan:
    row = session.get(Inspection, inspection_id)
    if row is None:
        raise NotFound(f"Inspection {inspection_id} was not found.")
    enterprise = session.get_one(Enterprise, row.enterprise_id)
    day = (row.started_at or row.created_at).astimezone(CHINA).date().isoformat()
    folder = f"检查-{day}-{safe_segment(enterprise.name, 40)}"
    records = _inspection_records(session, row.id)
    photos = _Photos(session, [*_inspection_hashes(session, row), *_record_hashes(records)])
    documents = _Documents(session, _document_hashes(records))
    record = inspection_data(session, row, enterprise, photos, folder)
    summary = {
        "kind": "inspection",
        "inspection": record,
        "records": records_data(session, records, photos, documents, folder),
    }
    about = {
        "scope": "inspection",
        "subject": {"type": "inspection", "id": str(row.id), "version": row.version},
        "records": [{"id": str(r.id), "version": v.version} for r, v in records],
    }
    last = max([row.updated_at, *(r.updated_at for r, _ in records)])
    return Plan(
        scope="inspection",
        subject_id=row.id,
        title=folder,
        files=(*photos.entries.values(), *documents.entries.values()),
        summary=jsonable(summary),
        date_time=_zip_time(last),
        about={**about, "missing": sorted([*photos.missing, *documents.missing])},
    )


def _inspection_hashes(session: Session, row: Inspection) -> list[str]:
    photos = session.scalars(
        select(InspectionPhoto.sha256).where(InspectionPhoto.inspection_id == row.id)
    )
    findings = session.scalars(select(Finding.photos).where(Finding.inspection_id == row.id))
    signatures = [s.get("sha256", "") for s in row.signatures]
    return [*photos, *(sha for found in findings for sha in found), *signatures]


def inspection_data(
    session: Session, row: Inspection, enterprise: Enterprise, photos: _Photos, folder: str
) -> dict[str, Any]:
    """Everything the summary prints of one inspection; names its photos into ``photos``."""
    version = stored_inspections.checklist_version(
        session, row.checklist_code, row.checklist_version
    )
    answers = {
        a.item: a
        for a in session.scalars(
            select(InspectionAnswer).where(InspectionAnswer.inspection_id == row.id)
        )
    }
    verdict = version.evaluate({k: a.answer for k, a in answers.items()}) if version else None
    defects = set(verdict.defects) if verdict else set()
    record = {"type": "inspection", "id": str(row.id), "version": row.version}
    reviews = list(
        session.scalars(
            select(InspectionReview)
            .where(InspectionReview.inspection_id == row.id)
            .order_by(InspectionReview.id)
        )
    )
    people = _names(session, User, [row.inspector_id, *(r.reviewer_id for r in reviews)])
    unit = session.get_one(Unit, row.unit_id)
    return {
        "id": str(row.id),
        "version": row.version,
        "unit": unit.name,
        "enterprise": _enterprise(enterprise),
        "kind_label": KINDS.get(row.kind, row.kind),
        "checklist": {
            "title": version.title if version else row.checklist_code,
            "label": version.label if version else row.checklist_version,
            "attachment": version.attachment if version else None,
        },
        "status": row.status.value,
        "started_at": _local(row.started_at),
        "finished_at": _local(row.finished_at),
        "submitted_at": _local(row.submitted_at),
        "location": row.location,
        "inspector": people.get(row.inspector_id),
        "inspectors": [i.get("name") for i in row.inspectors],
        "rows": _printed_items(version, answers, defects) if version else [],
        "findings": _findings(session, row, photos, folder, record),
        "photos": _general_photos(session, row, photos, folder, record),
        "signatures": _signatures(row, photos, folder, record),
        "reviews": [
            {
                "decision": DECISION_LABELS.get(r.decision, r.decision),
                "reviewer": people.get(r.reviewer_id),
                "comment": r.comment,
                "at": _local(r.reviewed_at),
            }
            for r in reviews
        ],
    }


def _printed_items(version: Any, answers: dict[str, Any], defects: set[str]) -> list[Any]:
    """The checklist as printed, item by item with its sub-checks, each with its answer."""

    def one(item: Any, depth: int) -> dict[str, Any]:
        answer = answers.get(item.code)
        return {
            "seq": item.seq,
            "depth": depth,
            "category": item.category,
            "text": item.text,
            "answer": (
                ANSWER_LABELS.get(answer.answer, answer.answer)
                if answer
                else ("见各子项" if item.checks else "未答")
            ),
            "note": answer.note if answer else None,
            "defect": item.code in defects,
        }

    rows = []
    for item in version.items:
        rows.append(one(item, 0))
        rows.extend(one(check, 1) for check in item.checks)
    return rows


def _findings(
    session: Session, row: Inspection, photos: _Photos, folder: str, record: dict[str, Any]
) -> list[dict[str, Any]]:
    found = session.execute(
        select(Finding, FindingConfirmation, Hazard)
        .outerjoin(FindingConfirmation, FindingConfirmation.finding_id == Finding.id)
        .outerjoin(Hazard, Hazard.finding_id == Finding.id)
        .where(Finding.inspection_id == row.id)
        .order_by(Finding.position)
    )
    result = []
    for finding, confirmation, entry in found:
        result.append(
            {
                "position": finding.position,
                "description": finding.description,
                "requirement": finding.requirement,
                "deadline": "立即整改" if finding.immediate else finding.deadline,
                "level": states.LEVEL_LABELS.get(
                    confirmation.level if confirmation else finding.claimed_level, ""
                ),
                "confirmed": confirmation is not None,
                "number": entry.number if entry else None,
                "photos": photos.add(
                    f"{folder}/隐患{finding.position + 1:02d}",
                    finding.photos,
                    {**record, "finding": str(finding.id)},
                ),
            }
        )
    return result


def _general_photos(
    session: Session, row: Inspection, photos: _Photos, folder: str, record: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = sorted(
        session.scalars(select(InspectionPhoto).where(InspectionPhoto.inspection_id == row.id)),
        key=lambda p: (p.item or "", p.taken_at or row.created_at, p.sha256),
    )
    shown = []
    for n, photo in enumerate(rows, start=1):
        # One at a time, so each keeps its own caption and item in the manifest.
        shown.extend(
            photos.add(
                f"{folder}/现场照片",
                [photo.sha256],
                record,
                stem=f"{n:02d}",
                caption=photo.caption,
                item=photo.item,
            )
        )
    return shown


def _signatures(
    row: Inspection, photos: _Photos, folder: str, record: dict[str, Any]
) -> list[dict[str, Any]]:
    shown = []
    for n, signature in enumerate(row.signatures, start=1):
        role, name = signature.get("role") or "", signature.get("name") or ""
        [item] = photos.add(
            f"{folder}/签名",
            [signature.get("sha256", "")],
            record,
            stem=f"{n:02d}-{safe_segment(role, 20)}-{safe_segment(name, 20)}",
            role=role,
        )
        shown.append({**item, "role": role, "name": name})
    return shown


# -- hazard ---------------------------------------------------------------------------------------


def authorise_hazard(session: Session, user: User, hazard_id: uuid.UUID) -> None:
    """The hazard and the inspection it came from: a listing unit that sees only the entry
    does not see the inspection's record and photos, so it gets 404 too."""
    entry = ledger_queries.get_visible(session, user, hazard_id)
    try:
        _visible_inspection(session, user, entry.inspection_id)
    except NotFound:
        raise NotFound(f"Hazard {hazard_id} was not found.") from None
    if not _authorise_records(session, user, _hazard_records(session, entry)):
        raise NotFound(f"Hazard {hazard_id} was not found.")


def _hazard_records(session: Session, entry: Hazard) -> list[tuple[Record, RecordVersion]]:
    return related_records(session, [entry.inspection_id], [entry.id])


def collect_hazard(session: Session, hazard_id: uuid.UUID) -> Plan:
    entry = session.get(Hazard, hazard_id)
    if entry is None:
        raise NotFound(f"Hazard {hazard_id} was not found.")
    inspection = session.get_one(Inspection, entry.inspection_id)
    enterprise = session.get_one(Enterprise, entry.enterprise_id)
    events = list(
        session.scalars(
            select(HazardEvent).where(HazardEvent.hazard_id == entry.id).order_by(HazardEvent.id)
        )
    )
    folder = f"隐患-{entry.number}"
    event_photos = [sha for e in events for sha in e.data.get("photos", [])]
    records = _hazard_records(session, entry)
    photos = _Photos(
        session,
        [
            *entry.before_photos,
            *event_photos,
            *_inspection_hashes(session, inspection),
            *_record_hashes(records),
        ],
    )
    documents = _Documents(session, _document_hashes(records))
    record = {"type": "hazard", "id": str(entry.id), "number": entry.number}
    before = photos.add(f"{folder}/整改前", entry.before_photos, {**record, "step": "整改前"})
    steps = _steps(session, entry, events, photos, folder, record)
    checked = inspection_data(session, inspection, enterprise, photos, f"{folder}/检查记录")
    summary = {
        "kind": "hazard",
        "hazard": _hazard_data(session, entry, enterprise, before, steps),
        "notices": _notices(session, entry, events, enterprise),
        "inspection": checked,
        "records": records_data(session, records, photos, documents, folder),
    }
    last = max([entry.updated_at, *(e.at for e in events), *(r.updated_at for r, _ in records)])
    about = {
        "scope": "hazard",
        "subject": {"type": "hazard", "id": str(entry.id), "version": entry.version},
        "number": entry.number,
        # Every step of the loop, with or without photos, and the files it holds.
        "steps": [
            {
                "n": step["n"],
                "event": events[step["n"] - 1].id,
                "type": step["type"],
                "label": step["label"],
                "at": step["at"],
                "actor": step["actor"],
                "state_after": step["state_after"],
                "files": [p["path"] for p in step["photos"] if p["path"]],
            }
            for step in steps
        ],
        "records": [{"id": str(r.id), "version": v.version} for r, v in records],
        "missing": sorted([*photos.missing, *documents.missing]),
    }
    return Plan(
        scope="hazard",
        subject_id=entry.id,
        title=folder,
        files=(*photos.entries.values(), *documents.entries.values()),
        summary=jsonable(summary),
        date_time=_zip_time(last),
        about=about,
    )


def _hazard_data(
    session: Session,
    entry: Hazard,
    enterprise: Enterprise,
    before: list[dict[str, Any]],
    steps: list[dict[str, Any]],
) -> dict[str, Any]:
    people = _names(session, User, [entry.confirmed_by])
    units = _names(session, Unit, [entry.unit_id, entry.listed_unit_id])
    return {
        "number": entry.number,
        "enterprise": _enterprise(enterprise),
        "unit": units.get(entry.unit_id),
        "level": states.LEVEL_LABELS.get(entry.level, entry.level),
        "source": states.SOURCE_LABELS[entry.source],
        "rule_label": entry.rule_label,
        "override_reason": entry.override_reason,
        "description": entry.description,
        "requirement": entry.requirement,
        "deadline": entry.deadline,
        "original_deadline": entry.original_deadline,
        "found_on": entry.found_on,
        "state": states.STATE_LABELS[entry.state],
        "listed_unit": units.get(entry.listed_unit_id) if entry.listed_unit_id else None,
        "listed_on": entry.listed_on,
        "measures": entry.measures,
        "funds_yuan": entry.funds_yuan,
        "responsible_person": entry.responsible_person,
        "confirmed_by": people.get(entry.confirmed_by),
        "confirmed_at": _local(entry.confirmed_at),
        "rectified_at": _local(entry.rectified_at),
        "closed_at": _local(entry.closed_at),
        "before_photos": before,
        "steps": steps,
    }


def _steps(
    session: Session,
    entry: Hazard,
    events: list[HazardEvent],
    photos: _Photos,
    folder: str,
    record: dict[str, Any],
) -> list[dict[str, Any]]:
    """The history, event by event, each with its photos in a folder of its own."""
    people = _names(session, User, [e.actor_id for e in events])
    steps = []
    for n, event in enumerate(events, start=1):
        label = _event_label(event)
        step_folder = f"{folder}/{n:02d}-{label}"
        steps.append(
            {
                "n": n,
                "type": event.type,
                "label": label,
                "at": _local(event.at),
                "actor": people.get(event.actor_id) if event.actor_id else "系统",
                "state_before": _state_label(event.state_before),
                "state_after": _state_label(event.state_after),
                "reason": event.reason,
                "comment": event.data.get("comment"),
                "measures": event.data.get("measures"),
                "photos": photos.add(
                    step_folder,
                    event.data.get("photos", []),
                    {**record, "event": event.id, "step": label},
                ),
            }
        )
    return steps


def _event_label(event: HazardEvent) -> str:
    label = states.EVENT_LABELS.get(event.type, event.type)
    if event.type == "reinspected":
        return f"{label}（{'合格' if event.data.get('passed') else '不合格'}）"
    if event.type == "rectification_reported" and event.data.get("completed") is False:
        return f"{label}（整改中）"
    return label


def _state_label(value: str | None) -> str | None:
    if value is None:
        return None
    return states.STATE_LABELS.get(states.HazardState(value), value)


def _notices(
    session: Session, entry: Hazard, events: list[HazardEvent], enterprise: Enterprise
) -> dict[str, Any]:
    """The official notices the ledger backs, each with its number (given once, then kept)."""
    unit = session.get_one(Unit, entry.unit_id)
    issued = notices.number(
        session, notices.RECTIFICATION, f"hazard:{entry.id}", unit, entry.found_on.year
    )
    people = _names(session, User, [e.actor_id for e in events])
    reinspections = []
    for event in events:
        if event.type != "reinspected":
            continue
        actor = session.get(User, event.actor_id) if event.actor_id else None
        by = session.get_one(Unit, actor.unit_id) if actor else unit
        reinspections.append(
            {
                "number": notices.number(
                    session,
                    notices.REINSPECTION,
                    f"event:{event.id}",
                    by,
                    event.at.astimezone(CHINA).year,
                ),
                "unit": by.name,
                "passed": bool(event.data.get("passed")),
                "comment": event.data.get("comment"),
                "by": people.get(event.actor_id) if event.actor_id else None,
                "at": _local(event.at),
                "refers_to": issued,
            }
        )
    listing = None
    if entry.listed_unit_id is not None:
        lister = session.get_one(Unit, entry.listed_unit_id)
        listed = next((e for e in events if e.type == "listed"), None)
        year = (entry.listed_on or entry.found_on).year
        listing = {
            "number": notices.number(session, notices.LISTING, f"hazard:{entry.id}", lister, year),
            "unit": lister.name,
            "on": entry.listed_on,
            "comment": listed.data.get("comment") if listed else None,
        }
    return {
        "rectification": {
            "number": issued,
            "unit": unit.name,
            # A department's inspection orders (责令); an enterprise's own check notifies.
            "title": (
                "责令整改通知书" if entry.source is HazardSource.department else "隐患整改通知书"
            ),
            "enterprise": enterprise.name,
            "on": entry.found_on,
        },
        "reinspections": reinspections,
        "listing": listing,
    }
