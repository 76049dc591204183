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
from .ledger import (
    DECISIONS,
    FindingConfirmation,
    Hazard,
    HazardEvent,
    HazardSource,
    HazardState,
    InspectionReview,
    LedgerCounter,
)
from .media import InspectionMedia, MediaClaim, MediaCollected, MediaObject
from .organisation import AccessToken, Device, Role, Unit, UnitKind, User
from .outbox import OutboxItem
from .sync import Change, SyncCommand, SyncMeta

__all__ = [
    "DECISIONS",
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
    "FindingConfirmation",
    "Hazard",
    "HazardEvent",
    "HazardSource",
    "HazardState",
    "Inspection",
    "InspectionAnswer",
    "InspectionMedia",
    "InspectionPhoto",
    "InspectionReview",
    "InspectionStatus",
    "LedgerCounter",
    "MediaClaim",
    "MediaCollected",
    "MediaObject",
    "OutboxItem",
    "Role",
    "SyncCommand",
    "SyncMeta",
    "Unit",
    "UnitKind",
    "User",
    "utcnow",
]
