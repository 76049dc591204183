"""A report and one of its cells as the API returns them (JSON-ready)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from reports import Column

from . import Cell, Item, Report, Value
from .counting import REASONS


def value(v: Value) -> Any:
    """Counts as numbers; amounts and percentages as decimal strings (exact); none as null."""
    if isinstance(v, Decimal):
        return format(v, "f")
    return v


def column(c: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"key": c.key, "unit": c.unit, "metric": c.metric}
    if c.heading:
        out["heading"] = [h for h in c.heading if h]
    else:
        out |= {"block": c.block, "number": c.number, "label": c.label}
    if c.not_for:
        out["not_for"] = sorted(c.not_for)
    return out


def report(r: Report) -> dict[str, Any]:
    t, p, m = r.template, r.period, r.moments
    return {
        "template": {"id": t.id, "title": t.title, "layout": t.layout},
        "unit": {"id": str(r.unit.id), "name": r.unit.name},
        "period": {
            "from": p.starts_on.isoformat(),
            "to": p.cutoff.isoformat(),
            "due": p.due.isoformat() if p.due else None,
            "cutoff": m.cutoff.isoformat(),
            "known_by": m.horizon.isoformat(),
        },
        "late_policy": t.late_policy,
        "columns": [column(c) for c in t.columns],
        "rows": [
            {
                "unit_id": str(row.unit_id),
                "name": row.name,
                "kind": row.kind,
                "values": {k: value(c.value) for k, c in row.cells.items()},
                "scope": row.scope,
                **(
                    {"own_values": {k: value(c.value) for k, c in row.own.items()}}
                    if row.own is not None
                    else {}
                ),
            }
            for row in r.rows
        ],
        "total_label": t.total_label or "合计",
        "total": {k: value(v) for k, v in r.total.items()},
        "rates": [
            {"key": rate.key, "label": rate.label, "value": value(r.rates[rate.key])}
            for rate in t.rates
        ],
        "excluded": [item(i) for i in r.excluded()],
        "late": [item(i) for i in r.late()],
        "warnings": warnings(r),
    }


HAZARD_METRICS = ("hazards.general.found", "hazards.all.found", "hazards.major.")


def warnings(r: Report) -> list[dict[str, Any]]:
    """What to look at before filing (issue 13 §7): late records, units reporting no hazard,
    majors claimed but not confirmed by the standard, records left out for missing evidence."""
    out: list[dict[str, Any]] = []
    excluded, late = r.excluded(), r.late()
    if late:
        out.append(
            {
                "code": "late",
                "message": f"{len(late)} records were entered after the due day (迟报) and are "
                + ("counted" if r.template.late_policy == "count" else "not counted"),
                "items": [f"{i.type}:{i.id}" for i in late],
            }
        )
    hazard_keys = [
        c.key
        for c in r.template.columns
        if c.metric.startswith(HAZARD_METRICS) and c.metric.endswith("found")
    ]
    if hazard_keys:
        zero = [row.name for row in r.rows if not any(row.cells[k].value for k in hazard_keys)]
        if zero:
            out.append(
                {
                    "code": "zero_hazards",
                    "message": "No hazard found in the period: " + "、".join(zero),
                    "items": zero,
                }
            )
    for code, message in (
        ("major.no_clause", "majors claimed but not confirmed by the standard (no clause)"),
        ("evidence.", "records left out for missing evidence"),
    ):
        hits = [i for i in excluded if (i.reason or "").startswith(code)]
        if hits:
            out.append(
                {
                    "code": code.rstrip("."),
                    "message": f"{len(hits)} {message}",
                    "items": [f"{i.type}:{i.id}" for i in hits],
                }
            )
    return out


def item(i: Item) -> dict[str, Any]:
    return {
        "type": i.type,
        "id": i.id,
        "label": i.label,
        "unit_id": i.unit_id,
        "day": i.day.isoformat(),
        "value": value(i.value),
        "counted": i.counted,
        "reason": i.reason,
        "reason_text": REASONS.get(i.reason or "", i.reason),
        "late": i.late,
        "version": i.version,
        "evidence": {**i.evidence, "complete": complete(i)},
    }


def complete(i: Item) -> bool:
    """Whether the evidence the item needs is there: a hazard's photos (after-photos once it is
    rectified), a record's required plan/photos/documents, an inspection's photos (its own or
    its findings', uploaded), a re-inspection's photos of the rectified site."""
    e = i.evidence
    if i.type == "hazard":
        rectified = e.get("state") in ("rectified", "closed")
        return bool(e.get("before_photos")) and (not rectified or bool(e.get("after_photos")))
    if i.type == "record":
        return set(e.get("needs", [])) <= set(e.get("has", []))
    if i.type in ("inspection", "reinspection"):
        return bool(e.get("photos"))
    return True


def cell(r: Report, key: str, row_unit: uuid.UUID | None) -> dict[str, Any]:
    rows = [row for row in r.rows if row_unit is None or row.unit_id == row_unit]
    # The total counts each record once: a 全口径 row adds only its own (本级) cells to it.
    cells: list[Cell] = [(row.cells if row_unit else row.counted_in_total)[key] for row in rows]
    items = [i for c in cells for i in c.items]
    counted = [i for i in items if i.counted]
    figure = r.total[key] if row_unit is None else (cells[0].value if cells else None)
    with_evidence = sum(complete(i) for i in counted)
    return {
        "column": column(r.template.column(key)),
        "row": str(row_unit) if row_unit else None,
        "value": value(figure),
        "items": [item(i) for i in counted],
        "excluded": [item(i) for i in items if not i.counted],
        "evidence": {
            "items": len(counted),
            "complete": with_evidence,
            "summary": f"{with_evidence} of {len(counted)} with complete evidence",
        },
    }
