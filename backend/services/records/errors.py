"""What the records refuse. Each error carries its stable code; `backend.api.errors` maps them
once, and an offline command that hits one is rejected with the same code."""

from __future__ import annotations

from typing import Any, ClassVar

from backend.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class RecordError(DomainError):
    status: ClassVar[int] = 422
    code: str = "record.invalid"


class RecordRefused(InvalidInput, RecordError):
    """A rule of the record's kind refuses it; `code` names the rule."""

    def __init__(self, code: str, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message, errors=errors)
        self.code = code


class RecordNotFound(NotFound, RecordError):
    status, code = 404, "record.not_found"


class RecordForbidden(PermissionDenied, RecordError):
    status, code = 403, "record.forbidden"


class RecordStale(Conflict, RecordError):
    status, code = 409, "record.stale_version"


class RecordExists(Conflict, RecordError):
    status, code = 409, "record.exists"


class CampaignUnknown(InvalidInput, RecordError):
    code = "record.campaign_unknown"


ERRORS: tuple[type[RecordError], ...] = (
    RecordNotFound,
    RecordForbidden,
    RecordStale,
    RecordExists,
    CampaignUnknown,
    RecordRefused,
    RecordError,
)
