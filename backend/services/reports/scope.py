"""全口径: a town's figures cover its whole area (seed 004 (六): "各开发区、镇（街）填报本地区全口径
数据，市直各部门填报市本级数据"), so other units' records about enterprises located in the town
count in its row too (docs/decision-report-templates.md).

An enterprise's town is ``enterprises.town_id``: for hazards and inspections as it is now, for a
record as its version says (``content.facts.town_id``, kept when the version was made). The
facts of units outside the report are loaded with the same ``facts.load`` and kept only where
they are about an enterprise in the area.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import Enterprise, Hazard, Inspection, Record, Unit

from . import facts as facts_
from .facts import Facts, Moments, RecordFact


@dataclass
class Area:
    towns: dict[uuid.UUID, uuid.UUID]  # enterprise id -> its town, for enterprises in the areas
    extra: Facts  # what units outside the report did about those enterprises
    outside: dict[uuid.UUID, Unit]

    @classmethod
    def of(
        cls,
        session: Session,
        area_units: set[uuid.UUID],
        report_units: list[uuid.UUID],
        m: Moments,
        monthly: bool,
    ) -> Area:
        if not area_units:
            return cls({}, Facts([], [], []), {})
        towns: dict[uuid.UUID, uuid.UUID] = {}
        for chunk in facts_._chunks(sorted(area_units)):
            rows = session.execute(
                select(Enterprise.id, Enterprise.town_id).where(Enterprise.town_id.in_(chunk))
            )
            towns |= {e: t for e, t in rows if t is not None}
        units: set[uuid.UUID] = set()
        for chunk in facts_._chunks(list(towns)):
            for model in (Hazard, Inspection, Record):
                query = select(model.unit_id).where(model.enterprise_id.in_(chunk)).distinct()
                units |= set(session.scalars(query))
        units -= set(report_units)
        outside = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(units)))}
        area = cls(towns, Facts([], [], []), outside)
        if units:
            loaded = facts_.load(session, sorted(units), m, monthly=monthly)
            area.extra = area.about(area.by_town(loaded), area_units, exclude=set())
        return area

    def by_town(self, f: Facts) -> dict[uuid.UUID, Facts]:
        """The facts about enterprises in a town of the areas, by town (one pass)."""
        out: dict[uuid.UUID, Facts] = {}
        for name in ("hazards", "visits", "records"):
            for fact in getattr(f, name):
                town = self.town_of(fact)
                if town is not None:
                    getattr(out.setdefault(town, Facts([], [], [])), name).append(fact)
        return out

    def town_of(self, fact: Any) -> uuid.UUID | None:
        if isinstance(fact, RecordFact):
            recorded = fact.content.get("facts") or {}
            if "town_id" in recorded:
                return uuid.UUID(recorded["town_id"]) if recorded["town_id"] else None
            enterprise = fact.content.get("enterprise_id")
            return self.towns.get(uuid.UUID(enterprise)) if enterprise else None
        return self.towns.get(fact.enterprise_id)

    def about(
        self, in_towns: dict[uuid.UUID, Facts], area: set[uuid.UUID], *, exclude: set[uuid.UUID]
    ) -> Facts:
        """The facts of units not in ``exclude`` about enterprises located in ``area``
        (``in_towns`` from ``by_town``)."""
        parts = [in_towns[t] for t in sorted(area, key=str) if t in in_towns]
        return Facts(
            hazards=[h for p in parts for h in p.hazards if h.unit_id not in exclude],
            visits=[v for p in parts for v in p.visits if v.unit_id not in exclude],
            records=sorted(
                (r for p in parts for r in p.records if r.unit_id not in exclude),
                key=lambda r: (r.day, str(r.id)),
            ),
        )

    def units(self, f: Facts) -> list[Unit]:
        ids = {x.unit_id for x in (*f.hazards, *f.visits, *f.records)}
        return sorted((self.outside[i] for i in ids), key=lambda u: (u.path, u.name))
