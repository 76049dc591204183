"""The bundle scopes: name → who may have it and what it holds (docs/bundles.md)."""

from __future__ import annotations

from .report import authorise_report, collect_report
from .scopes import (
    Scope,
    authorise_hazard,
    authorise_inspection,
    collect_hazard,
    collect_inspection,
)

SCOPES: dict[str, Scope] = {
    "inspection": Scope("inspection", "检查记录", authorise_inspection, collect_inspection),
    "hazard": Scope("hazard", "隐患闭环", authorise_hazard, collect_hazard),
    "report": Scope("report", "调度表", authorise_report, collect_report),
}

# Scopes the design has but whose records are not there yet: asked for, they are refused with
# ``bundle.scope_not_available`` and the sentence given here (none at present; ``report`` was
# one until filed 调度表 existed).
PLANNED: dict[str, str] = {}
