"""Bundle errors, mapped to HTTP once in backend.api.errors."""

from __future__ import annotations

from backend.errors import InvalidInput, NotFound


class UnknownScope(InvalidInput):
    status = 422
    code = "bundle.unknown_scope"


class ScopeNotYetAvailable(InvalidInput):
    """A scope the design names but whose records do not exist yet (``report``: issue 13)."""

    status = 422
    code = "bundle.scope_not_available"


class BundleNotFound(NotFound):
    status = 404
    code = "bundle.not_found"


class DownloadExpired(NotFound):
    status = 404
    code = "bundle.link_expired"


ERRORS = (UnknownScope, ScopeNotYetAvailable, BundleNotFound, DownloadExpired)
