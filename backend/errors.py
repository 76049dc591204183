"""Domain errors: plain exceptions raised by services, each carrying its HTTP status and its
stable dotted code. backend.api.errors renders them from these attributes (and keeps a table
only for the exceptions of the framework-free packages), so this is the one list of codes.

Messages are for people: they say what went wrong and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Base for every error a service raises on purpose. A subclass names its own `code`
    (and `status` where it differs from its base's)."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "server.error"

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know it exists."""

    status, code = 404, "not_found"


class InvalidInput(DomainError):
    """Well-formed request, but a value breaks a rule (reported per field in `errors`)."""

    status, code = 422, "validation.invalid"


class Conflict(DomainError):
    """The request clashes with the current state (duplicates, stale versions)."""

    status, code = 409, "conflict"


class InvalidCredentials(DomainError):
    status, code = 401, "auth.invalid_credentials"


class AccountLocked(DomainError):
    status, code = 429, "auth.locked"


class AuthenticationRequired(DomainError):
    status, code = 401, "auth.required"


class TokenRevoked(DomainError):
    status, code = 401, "auth.token_revoked"


class PermissionDenied(DomainError):
    status, code = 403, "auth.forbidden"


class DeviceTaken(Conflict):
    status, code = 409, "auth.device_taken"


class DeviceRevoked(DomainError):
    status, code = 403, "auth.device_revoked"


class InvalidCursor(DomainError):
    status, code = 400, "pagination.invalid_cursor"


class DuplicateEnterprise(Conflict):
    status, code = 409, "enterprise.duplicate"


class StaleVersion(Conflict):
    status, code = 409, "conflict.stale_version"


class UnknownDevice(NotFound):
    status, code = 404, "sync.unknown_device"


class PushTooLarge(DomainError):
    status, code = 413, "sync.too_large"


class ProtocolUnsupported(DomainError):
    status, code = 400, "sync.protocol_unsupported"


class WrongPassword(PermissionDenied):
    """The current password given to change it is wrong (counted like a failed sign-in)."""

    status, code = 403, "auth.wrong_password"


class UsernameTaken(Conflict):
    status, code = 409, "user.username_taken"


class UnitNameTaken(Conflict):
    status, code = 409, "unit.name_taken"
