"""SQLAlchemy models, one module per area. Import from here."""

from .audit import AuditEntry
from .base import Base, utcnow
from .checklists import Checklist, ChecklistItem, ChecklistVersion
from .enterprises import Enterprise
from .inspections import (
    EDITABLE,
    Amendment,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionPhoto,
    InspectionStatus,
)
from .organisation import AccessToken, Device, Role, Unit, UnitKind, User
from .sync import Change, SyncCommand, SyncMeta

__all__ = [
    "EDITABLE",
    "AccessToken",
    "Amendment",
    "AuditEntry",
    "Base",
    "Change",
    "Checklist",
    "ChecklistItem",
    "ChecklistVersion",
    "Device",
    "Enterprise",
    "Finding",
    "Inspection",
    "InspectionAnswer",
    "InspectionPhoto",
    "InspectionStatus",
    "Role",
    "SyncCommand",
    "SyncMeta",
    "Unit",
    "UnitKind",
    "User",
    "utcnow",
]
