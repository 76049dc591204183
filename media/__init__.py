"""Photo evidence: object storage, image checks and derivatives. Knows nothing of Flask."""

from media.store import (
    LocalStore,
    ObjectNotFound,
    ObjectStore,
    S3Settings,
    S3Store,
    StoreError,
    StoreUnavailable,
    store_from_settings,
    validate_key,
)

__all__ = [
    "LocalStore",
    "ObjectNotFound",
    "ObjectStore",
    "S3Settings",
    "S3Store",
    "StoreError",
    "StoreUnavailable",
    "store_from_settings",
    "validate_key",
]
