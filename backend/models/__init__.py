"""SQLAlchemy models, one module per area. Import from here."""

from .audit import AuditEntry
from .base import Base, utcnow
from .checklists import Checklist, ChecklistItem, ChecklistVersion
from .enterprises import Enterprise
from .organisation import AccessToken, Device, Role, Unit, UnitKind, User

__all__ = [
    "AccessToken",
    "AuditEntry",
    "Base",
    "Checklist",
    "ChecklistItem",
    "ChecklistVersion",
    "Device",
    "Enterprise",
    "Role",
    "Unit",
    "UnitKind",
    "User",
    "utcnow",
]
