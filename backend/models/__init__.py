"""SQLAlchemy models, one module per area. Import from here."""

from .audit import AuditEntry
from .base import Base, utcnow
from .bundles import Bundle, BundleState, Notice, NoticeCounter
from .checklists import Checklist, ChecklistItem, ChecklistVersion
from .enterprises import ENTITY_TYPE_LABELS, Enterprise, EntityType
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
    ListingCounter,
)
from .media import InspectionMedia, MediaClaim, MediaCollected, MediaObject
from .organisation import AccessToken, Device, Role, Unit, UnitKind, User
from .outbox import OutboxItem
from .records import (
    Campaign,
    DocumentClaim,
    DocumentObject,
    Record,
    RecordFamily,
    RecordMedia,
    RecordVersion,
)
from .reports import ReportFiling
from .sync import Change, SyncCommand, SyncMeta

__all__ = [
    "DECISIONS",
    "EDITABLE",
    "ENTITY_TYPE_LABELS",
    "AccessToken",
    "Amendment",
    "AuditEntry",
    "Base",
    "Bundle",
    "BundleState",
    "Campaign",
    "Change",
    "Checklist",
    "ChecklistItem",
    "ChecklistVersion",
    "Device",
    "DocumentClaim",
    "DocumentObject",
    "Enterprise",
    "EntityType",
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
    "ListingCounter",
    "MediaClaim",
    "MediaCollected",
    "MediaObject",
    "Notice",
    "NoticeCounter",
    "OutboxItem",
    "Record",
    "RecordFamily",
    "RecordMedia",
    "RecordVersion",
    "ReportFiling",
    "Role",
    "SyncCommand",
    "SyncMeta",
    "Unit",
    "UnitKind",
    "User",
    "utcnow",
]
