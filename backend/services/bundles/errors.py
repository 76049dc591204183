"""Bundle errors, mapped to HTTP once in backend.api.errors."""

from __future__ import annotations

from backend.errors import InvalidInput, NotFound


class UnknownScope(InvalidInput):
    status = 422
    code = "bundle.unknown_scope"


class BundleNotFound(NotFound):
    status = 404
    code = "bundle.not_found"


class DownloadExpired(NotFound):
    status = 404
    code = "bundle.link_expired"


ERRORS = (UnknownScope, BundleNotFound, DownloadExpired)
