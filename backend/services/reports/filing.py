"""Filing a 调度表: the frozen copy, signed by its 填表人 and 审核人, on time or 迟报; filing again
is a restatement with its reason and the differences. A parent sees which children filed."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, InvalidInput, PermissionDenied
from backend.models import ReportFiling, Role, Unit, User, utcnow
from backend.services import audit
from backend.services.ledger.states import CHINA
from reports import ReportingPeriod, Template

from . import Item, Report, compute, render


class FilingForbidden(PermissionDenied):
    code = "report.forbidden"


class PreparerInvalid(InvalidInput):
    code = "report.preparer_invalid"


class ReasonRequired(InvalidInput):
    code = "report.reason_required"


class FilingConflict(Conflict):
    code = "report.filing_conflict"


def file(
    session: Session,
    reviewer: User,
    t: Template,
    unit: Unit,
    period: ReportingPeriod,
    *,
    preparer_id: uuid.UUID,
    reason: str | None,
    now: datetime | None = None,
) -> ReportFiling:
    """File the unit's report as computed now; the caller, a supervisor of the unit, is 审核人."""
    if reviewer.role is not Role.supervisor or reviewer.unit_id != unit.id:
        raise FilingForbidden(
            "A 调度表 is filed by a supervisor of its unit, who signs it as 审核人."
        )
    preparer = session.get(User, preparer_id)
    if preparer is None or preparer.unit_id != unit.id or not preparer.active:
        raise PreparerInvalid(
            "填表人 must be an active user of the unit filing the report.",
            errors={"preparer_id": ["Not an active user of this unit."]},
        )
    last = latest(session, t, unit, period)
    reason = (reason or "").strip() or None
    if last is not None and reason is None:
        raise ReasonRequired(
            f"Version {last.version} is filed already: a restatement says why (reason).",
            errors={"reason": ["Required when filing again."]},
        )
    report = compute(session, t, unit, period)
    figures, cells = frozen(report)
    now = now or utcnow()
    filing = ReportFiling(
        template_id=t.id,
        unit_id=unit.id,
        period_from=period.starts_on,
        period_to=period.cutoff,
        version=(last.version + 1) if last else 1,
        figures=figures,
        cells=cells,
        sha256=digest(figures, cells),
        preparer_id=preparer.id,
        reviewer_id=reviewer.id,
        due=period.due,
        on_time=period.due is None or now.astimezone(CHINA).date() <= period.due,
        reason=reason,
        differences=differences(last.figures, figures) if last else [],
        filed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(filing)
            session.flush()
    except IntegrityError:
        raise FilingConflict(
            "Someone filed this report at the same moment; reload and file again."
        ) from None
    audit.record(
        session,
        actor=reviewer,
        action="report.file",
        entity_type="report_filing",
        entity_id=filing.id,
        reason=reason,
        data={"template": t.id, "version": filing.version, "sha256": filing.sha256},
    )
    return filing


def frozen(report: Report) -> tuple[dict[str, Any], dict[str, Any]]:
    body = render.report(report)
    figures = {k: body[k] for k in ("template", "unit", "period", "rows", "total", "rates")}
    figures["warnings"] = body["warnings"]
    cells: dict[str, Any] = {}
    for row in report.rows:
        cells[str(row.unit_id)] = {
            key: [[i.type, i.id, _version(i)] for i in cell.counted]
            for key, cell in row.cells.items()
        }
    return figures, cells


def _version(i: Item) -> int | None:
    """What a counted item stood at: a record's version; a hazard's last event counted (the
    as-of replay's cut), so a 调度表 bundle shows the loop as far as the figure saw it."""
    if i.type == "hazard":
        return int(i.evidence["cut"])
    return i.version


def digest(figures: dict[str, Any], cells: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"figures": figures, "cells": cells},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure that changed: row (unit name, or the total), column, before, after."""
    out = []
    rows_before = {r["unit_id"]: r for r in before.get("rows", [])}
    for row in after["rows"]:
        old = rows_before.get(row["unit_id"], {"values": {}})["values"]
        for key, value in row["values"].items():
            if old.get(key) != value:
                out.append(
                    {"row": row["name"], "column": key, "before": old.get(key), "after": value}
                )
    for key, value in after["total"].items():
        if before.get("total", {}).get(key) != value:
            out.append(
                {"row": None, "column": key, "before": before["total"].get(key), "after": value}
            )
    return out


def latest(
    session: Session, t: Template, unit: Unit, period: ReportingPeriod
) -> ReportFiling | None:
    return session.scalars(
        select(ReportFiling)
        .where(
            ReportFiling.template_id == t.id,
            ReportFiling.unit_id == unit.id,
            ReportFiling.period_from == period.starts_on,
            ReportFiling.period_to == period.cutoff,
        )
        .order_by(ReportFiling.version.desc())
        .limit(1)
    ).first()


def status(session: Session, t: Template, unit: Unit, period: ReportingPeriod) -> dict[str, Any]:
    """The unit's own filings for the period, and which of its children have filed."""
    own = session.scalars(
        select(ReportFiling)
        .where(
            ReportFiling.template_id == t.id,
            ReportFiling.unit_id == unit.id,
            ReportFiling.period_from == period.starts_on,
            ReportFiling.period_to == period.cutoff,
        )
        .order_by(ReportFiling.version)
    ).all()
    children = sorted(
        session.scalars(select(Unit).where(Unit.parent_id == unit.id)),
        key=lambda u: (u.kind.value != "town", u.created_at, u.name),
    )
    out_children = []
    for child in children:
        last = latest(session, t, child, period)
        out_children.append(
            {
                "unit_id": str(child.id),
                "name": child.name,
                "filed": last is not None,
                "version": last.version if last else None,
                "on_time": last.on_time if last else None,
            }
        )
    return {
        "filings": [view(f) for f in own],
        "children": out_children,
        "missing": [c["name"] for c in out_children if not c["filed"]],
    }


def view(f: ReportFiling) -> dict[str, Any]:
    return {
        "id": str(f.id),
        "template": f.template_id,
        "unit_id": str(f.unit_id),
        "from": f.period_from.isoformat(),
        "to": f.period_to.isoformat(),
        "version": f.version,
        "sha256": f.sha256,
        "preparer_id": str(f.preparer_id),
        "reviewer_id": str(f.reviewer_id),
        "filed_at": f.filed_at.isoformat(),
        "due": f.due.isoformat() if f.due else None,
        "on_time": f.on_time,
        "status": "按时" if f.on_time else "迟报",
        "reason": f.reason,
        "differences": f.differences,
        "figures": f.figures,
    }
