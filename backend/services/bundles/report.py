"""The ``report`` scope: a filed 调度表, its frozen figures, and every record and hazard behind
every cell as the figure saw them when it was filed (docs/bundles-report-scope.md).

``collect`` reads the filing, never today's report: each record at the version the filing
counted, each hazard's loop cut at the last event the filing counted. A correction made after
the filing is therefore not in the bundle; a re-filing is a new filing, so a new bundle.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.models import (
    Enterprise,
    Hazard,
    HazardEvent,
    Inspection,
    Record,
    RecordVersion,
    ReportFiling,
    Unit,
    User,
)
from backend.services import scope as unit_scope
from backend.services.ledger import states
from reports import Template, TemplateError, load_template

from .plan import Plan, jsonable, safe_segment
from .scopes import (
    _document_hashes,
    _Documents,
    _notices,
    _Photos,
    _record_hashes,
    _steps,
    _zip_time,
    records_data,
)

TYPE_LABELS = {"hazard": "隐患", "record": "记录", "inspection": "检查", "reinspection": "复查"}


@dataclass
class Counted:
    """What the filing counted, cell by cell: ``cells[(row unit id, column key)]`` lists the
    items as ``(type, id, version)``; records at their version, hazards at their cut."""

    cells: dict[tuple[str, str], list[tuple[str, str, int | None]]] = field(default_factory=dict)
    records: set[tuple[uuid.UUID, int]] = field(default_factory=set)
    hazards: dict[uuid.UUID, int | None] = field(default_factory=dict)
    inspections: set[uuid.UUID] = field(default_factory=set)
    reinspections: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, filing: ReportFiling) -> Counted:
        out = cls()
        for row_id, columns in sorted(filing.cells.items()):
            for key, items in columns.items():
                out.cells[(row_id, key)] = [(str(t), str(i), v) for t, i, v in items]
                for kind, item_id, version in items:
                    out._add(str(kind), str(item_id), version)
        return out

    def _add(self, kind: str, item_id: str, version: int | None) -> None:
        if kind == "record":
            self.records.add((uuid.UUID(item_id), int(version or 1)))
        elif kind == "hazard":
            cut = self.hazards.get(uuid.UUID(item_id))
            self.hazards[uuid.UUID(item_id)] = version if cut is None else max(cut, version or 0)
        elif kind == "inspection":
            self.inspections.add(uuid.UUID(item_id))
        elif kind == "reinspection":
            self.reinspections.add(int(item_id.split(":", 1)[1]))


def _filing(session: Session, filing_id: uuid.UUID) -> ReportFiling:
    filing = session.get(ReportFiling, filing_id)
    if filing is None:
        raise NotFound(f"Filed 调度表 {filing_id} was not found.")
    return filing


def authorise_report(session: Session, user: User, filing_id: uuid.UUID) -> None:
    """The filing's unit and the unit of every record, hazard and inspection it counted."""
    filing = _filing(session, filing_id)
    counted = Counted.of(filing)
    units = {filing.unit_id}
    ids = [r for r, _ in counted.records]
    if ids:
        units |= set(session.scalars(select(Record.unit_id).where(Record.id.in_(ids))))
    if counted.hazards:
        found = select(Hazard.unit_id).where(Hazard.id.in_(list(counted.hazards)))
        units |= set(session.scalars(found))
    if counted.inspections:
        seen = select(Inspection.unit_id).where(Inspection.id.in_(list(counted.inspections)))
        units |= set(session.scalars(seen))
    if not all(unit_scope.can_see(user, session.get_one(Unit, u)) for u in units):
        raise NotFound(f"Filed 调度表 {filing_id} was not found.")


def collect_report(session: Session, filing_id: uuid.UUID) -> Plan:
    filing = _filing(session, filing_id)
    unit = session.get_one(Unit, filing.unit_id)
    counted = Counted.of(filing)
    folder = f"调度表-{safe_segment(unit.name, 40)}-{period_name(filing)}"
    records = _record_versions(session, counted.records)
    hazards = _hazard_loops(session, counted.hazards, filing)
    photos = _Photos(session, [*_loop_hashes(hazards), *_record_hashes(records)])
    documents = _Documents(session, _document_hashes(records))
    shown_hazards = [_hazard(session, entry, events, photos, folder) for entry, events in hazards]
    shown_records = records_data(session, records, photos, documents, folder)
    files = _files_of(shown_hazards, shown_records)
    rows = _cell_paths(counted, files)
    summary = {
        "kind": "report",
        "report": _head(session, filing, unit),
        "table": printed_table(_template(filing), filing.figures),
        "cells": _cells_shown(_template(filing), filing, counted, files, shown_hazards),
        "hazards": shown_hazards,
        "records": shown_records,
    }
    return Plan(
        scope="report",
        subject_id=filing.id,
        title=folder,
        files=(*photos.entries.values(), *documents.entries.values()),
        summary=jsonable(summary),
        date_time=_zip_time(filing.filed_at),
        about=_about(filing, unit, counted, rows, records, hazards, photos, documents),
    )


def period_name(filing: ReportFiling) -> str:
    """A month for a monthly template (2023-09), else the interval (2023-05-01至2023-09-26)."""
    t = _template(filing)
    if t.period.selection == "month":
        return f"{filing.period_to.year:04d}-{filing.period_to.month:02d}"
    return f"{filing.period_from.isoformat()}至{filing.period_to.isoformat()}"


def _template(filing: ReportFiling) -> Template:
    try:
        return load_template(filing.template_id)
    except TemplateError:
        raise NotFound(f"The filing's template {filing.template_id!r} is gone.") from None


# -- what the filing counted, as it stood ---------------------------------------------------------


def _record_versions(
    session: Session, wanted: set[tuple[uuid.UUID, int]]
) -> list[tuple[Record, RecordVersion]]:
    """Each record at the version counted, in the order they happened (as that version says)."""
    if not wanted:
        return []
    rows = session.execute(
        select(Record, RecordVersion)
        .join(RecordVersion, RecordVersion.record_id == Record.id)
        .where(tuple_(RecordVersion.record_id, RecordVersion.version).in_(sorted(wanted)))
    ).all()
    pairs = [(record, version) for record, version in rows]
    return sorted(
        pairs,
        key=lambda p: (str(p[1].content.get("occurred_on")), p[0].created_at, str(p[0].id)),
    )


def _hazard_loops(
    session: Session, wanted: dict[uuid.UUID, int | None], filing: ReportFiling
) -> list[tuple[Hazard, list[HazardEvent]]]:
    """Each hazard with the events the as-of replay counted: up to the filing's cut and the
    cut-off (the created event always). A filing made before cuts were kept (None) is cut at
    the earlier of its cut-off and its filing time."""
    if not wanted:
        return []
    cutoff = datetime.fromisoformat(str(filing.figures["period"]["cutoff"]))
    entries = session.scalars(select(Hazard).where(Hazard.id.in_(list(wanted))))
    events: dict[uuid.UUID, list[HazardEvent]] = defaultdict(list)
    for event in session.scalars(
        select(HazardEvent)
        .where(HazardEvent.hazard_id.in_(list(wanted)))
        .order_by(HazardEvent.hazard_id, HazardEvent.id)
    ):
        events[event.hazard_id].append(event)
    out = []
    for entry in sorted(entries, key=lambda h: h.number):
        cut = wanted[entry.id]
        until = cutoff if cut is not None else min(cutoff, _aware(filing.filed_at))
        kept = [
            e
            for e in events[entry.id]
            if e.type == "created" or ((cut is None or e.id <= cut) and _aware(e.at) <= until)
        ]
        out.append((entry, kept))
    return out


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _loop_hashes(hazards: list[tuple[Hazard, list[HazardEvent]]]) -> list[str]:
    return [
        sha
        for entry, events in hazards
        for sha in [*entry.before_photos, *(s for e in events for s in e.data.get("photos", []))]
    ]


def _hazard(
    session: Session,
    entry: Hazard,
    events: list[HazardEvent],
    photos: _Photos,
    folder: str,
) -> dict[str, Any]:
    """What the summary prints of one counted hazard: its loop up to the cut, with photos under
    ``<folder>/隐患/<number>/``, and its notices' numbers."""
    here = f"{folder}/隐患/{safe_segment(entry.number, 40)}"
    record = {"type": "hazard", "id": str(entry.id), "number": entry.number}
    before = photos.add(f"{here}/整改前", entry.before_photos, {**record, "step": "整改前"})
    steps = _steps(session, entry, events, photos, here, record)
    enterprise = session.get_one(Enterprise, entry.enterprise_id)
    notices = _notices(session, entry, events, enterprise)
    level, clause = _level_at_cut(events)
    last = events[-1] if events else None
    return {
        "id": str(entry.id),
        "number": entry.number,
        "cut": last.id if last else None,
        "enterprise": enterprise.name,
        "unit": session.get_one(Unit, entry.unit_id).name,
        "description": entry.description,
        "found_on": entry.found_on,
        "level": states.LEVEL_LABELS.get(level, level),
        "clause": clause,
        "state": states.STATE_LABELS.get(states.HazardState(last.state_after)) if last else None,
        "before_photos": before,
        "steps": steps,
        "notices": {
            "rectification": notices["rectification"]["number"],
            "reinspections": [r["number"] for r in notices["reinspections"]],
            "listing": (
                notices["listing"]["number"]
                if notices["listing"] and any(e.type == "listed" for e in events)
                else None
            ),
        },
    }


def _level_at_cut(events: list[HazardEvent]) -> tuple[str, str | None]:
    """The level and clause the replay counted: the created event's, as reclassified since."""
    level, clause = "general", None
    for event in events:
        if event.type in ("created", "reclassified"):
            level = str(event.data.get("level") or level)
            clause = event.data.get("clause")
    return level, clause


# -- cells and their files ------------------------------------------------------------------------

Key = tuple[str, str]  # (type, id) of a counted item


def _files_of(hazards: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[Key, list[str]]:
    """The paths in the ZIP of every file behind each counted hazard and record."""
    out: dict[Key, list[str]] = {}
    for h in hazards:
        shown = [*h["before_photos"], *(p for s in h["steps"] for p in s["photos"])]
        out[("hazard", h["id"])] = [p["path"] for p in shown if p["path"]]
    for r in records:
        shown = [*r["documents"], *r["photos"]]
        out[("record", r["id"])] = [p["path"] for p in shown if p["path"]]
    return out


def _cell_paths(counted: Counted, files: dict[Key, list[str]]) -> dict[str, dict[str, list[str]]]:
    """``{row unit id: {column key: [paths]}}``, only the cells with a counted item."""
    rows: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for (row_id, key), items in counted.cells.items():
        if items:
            paths = [p for t, i, _ in items for p in files.get((t, i), [])]
            rows[row_id][key] = sorted(set(paths))
    return dict(rows)


def _cells_shown(
    t: Template,
    filing: ReportFiling,
    counted: Counted,
    files: dict[Key, list[str]],
    hazards: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Per column with anything counted: its label, the total, and per row the items behind the
    figure with the paths of their files."""
    names = {r["unit_id"]: r["name"] for r in filing.figures["rows"]}
    values = {r["unit_id"]: r["values"] for r in filing.figures["rows"]}
    numbers = {h["id"]: h["number"] for h in hazards}
    out = []
    for col in t.columns:
        rows = []
        for row_id in names:
            items = counted.cells.get((row_id, col.key), [])
            if items:
                rows.append(
                    {
                        "name": names[row_id],
                        "value": values[row_id].get(col.key),
                        "entries": [_item(t_, i, v, files, numbers) for t_, i, v in items],
                    }
                )
        if rows:
            out.append(
                {
                    "key": col.key,
                    "label": column_label(col),
                    "total": filing.figures["total"].get(col.key),
                    "rows": rows,
                }
            )
    return out


def _item(
    kind: str,
    item_id: str,
    version: int | None,
    files: dict[Key, list[str]],
    numbers: dict[str, str],
) -> dict[str, Any]:
    if kind == "hazard":
        label = f"隐患 {numbers.get(item_id, item_id)}"
    elif kind == "record":
        label = f"记录 {item_id[:8]} 第 {version} 版"
    else:
        label = f"{TYPE_LABELS.get(kind, kind)} {item_id.split(':')[-1][:8]}"
    return {"type": kind, "id": item_id, "label": label, "paths": files.get((kind, item_id), [])}


def column_label(col: Any) -> str:
    if col.heading:
        return "／".join(h for h in col.heading if h)
    return f"{col.number}. {col.label}" if col.number else str(col.label)


def printed_table(t: Template, figures: dict[str, Any]) -> dict[str, Any]:
    """The template's table as printed, with the frozen figures: merged header cells for a
    table template, numbered items for a form one."""
    if t.layout != "table":
        return {"layout": "form", "lines": _form_items(t, figures["total"])}
    depth = t.header_rows
    head: list[list[dict[str, Any]]] = []
    for r in range(depth):
        line = [{"text": t.unit_heading or "", "colspan": 1, "rowspan": depth}] if r == 0 else []
        for cell in t.header_cells(r):
            if cell.continued:
                continue
            bottom = r
            while bottom + 1 < depth and _continues(t, bottom + 1, cell.first, cell.last):
                bottom += 1
            span = {"colspan": cell.last - cell.first + 1, "rowspan": bottom - r + 1}
            line.append({"text": cell.text, **span})
        head.append(line)
    body = [(r["name"], r["values"]) for r in figures["rows"]]
    total = (t.total_label or "合计", figures["total"])
    ordered = [total, *body] if t.total_first else [*body, total]
    return {
        "layout": "table",
        "head": head,
        "units": [c.unit or "" for c in t.columns] if t.units_row else None,
        "rows": [
            {"name": name, "figures": [_text(values.get(c.key)) for c in t.columns]}
            for name, values in ordered
        ],
    }


def _continues(t: Template, r: int, first: int, last: int) -> bool:
    return any(c.continued and (c.first, c.last) == (first, last) for c in t.header_cells(r))


def _form_items(t: Template, total: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for col in t.columns:
        value = f"{_text(total.get(col.key))}{col.unit or ''}"
        if items and (items[-1]["block"], items[-1]["number"]) == (col.block, col.number):
            items[-1]["value"] += f"，{value}"
        else:
            items.append(
                {"block": col.block, "number": col.number, "label": col.label, "value": value}
            )
    return items


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _head(session: Session, filing: ReportFiling, unit: Unit) -> dict[str, Any]:
    people = {
        u.id: u.display_name
        for u in session.scalars(
            select(User).where(User.id.in_([filing.preparer_id, filing.reviewer_id]))
        )
    }
    figures = filing.figures
    return {
        "id": str(filing.id),
        "title": figures["template"]["title"],
        "template": filing.template_id,
        "unit": unit.name,
        "from": filing.period_from,
        "to": filing.period_to,
        "version": filing.version,
        "sha256": filing.sha256,
        "filed_at": _local(filing.filed_at),
        "status": "按时" if filing.on_time else "迟报",
        "preparer": people.get(filing.preparer_id),
        "reviewer": people.get(filing.reviewer_id),
        "reason": filing.reason,
        "rates": figures.get("rates", []),
    }


def _local(moment: datetime) -> str:
    return _aware(moment).astimezone(states.CHINA).strftime("%Y-%m-%d %H:%M")


def _about(
    filing: ReportFiling,
    unit: Unit,
    counted: Counted,
    rows: dict[str, dict[str, list[str]]],
    records: list[tuple[Record, RecordVersion]],
    hazards: list[tuple[Hazard, list[HazardEvent]]],
    photos: _Photos,
    documents: _Documents,
) -> dict[str, Any]:
    """The manifest's head: the filing, and ``cells`` (column key → the paths behind the
    total's figure; ``rows`` the same per row unit) so an auditor goes from a figure to its
    files and back."""
    cells: dict[str, set[str]] = defaultdict(set)
    for columns in rows.values():
        for key, paths in columns.items():
            cells[key] |= set(paths)
    return {
        "scope": "report",
        "subject": {
            "type": "report_filing",
            "id": str(filing.id),
            "version": filing.version,
            "sha256": filing.sha256,
        },
        "template": filing.template_id,
        "unit": {"id": str(unit.id), "name": unit.name},
        "period": {"from": filing.period_from.isoformat(), "to": filing.period_to.isoformat()},
        "cells": {key: sorted(paths) for key, paths in sorted(cells.items())},
        "rows": rows,
        "counted": {
            f"{row}:{key}": [list(i) for i in items]
            for (row, key), items in sorted(counted.cells.items())
            if items
        },
        "records": [{"id": str(r.id), "version": v.version} for r, v in records],
        "hazards": [
            {"id": str(h.id), "number": h.number, "cut": events[-1].id if events else None}
            for h, events in hazards
        ],
        "missing": sorted([*photos.missing, *documents.missing]),
    }
