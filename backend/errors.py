"""Domain errors: plain exceptions raised by services, mapped once to HTTP in backend.api.errors.

Messages are for people: they say what went wrong and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """Base for every error a service raises on purpose."""

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


class InvalidInput(DomainError):
    """Well-formed request, but a value breaks a rule (reported per field in `errors`)."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicates, stale versions)."""


class InvalidCredentials(DomainError):
    pass


class AccountLocked(DomainError):
    pass


class AuthenticationRequired(DomainError):
    pass


class TokenRevoked(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class DeviceTaken(Conflict):
    pass


class DeviceRevoked(DomainError):
    pass


class InvalidCursor(DomainError):
    pass


class DuplicateEnterprise(Conflict):
    pass


class StaleVersion(Conflict):
    pass


class UnknownDevice(NotFound):
    pass


class PushTooLarge(DomainError):
    pass


class ProtocolUnsupported(DomainError):
    pass


class WrongPassword(PermissionDenied):
    """The current password given to change it is wrong (counted like a failed sign-in)."""


class UsernameTaken(Conflict):
    pass


class UnitNameTaken(Conflict):
    pass
