"""Download links for ready bundles: presigned by S3, or signed by us for the local store.

A local link names the bundle, the user it was made for and when it expires, signed with the
secret key: it works without a bearer token (a browser can follow it) until it expires, and
only while that user may still see every record in the bundle.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import quote, urlencode

from backend.models import Bundle
from media import ObjectStore

LINK_SECONDS = 600  # a link works for 10 minutes


def file_name(bundle: Bundle) -> str:
    return f"佐证材料-{bundle.title}.zip"


def link(
    store: ObjectStore, secret: str, bundle: Bundle, user_id: uuid.UUID, *, now: float | None = None
) -> tuple[str, int]:
    """The download URL and when it expires (Unix seconds)."""
    assert bundle.key is not None
    expires = int(now if now is not None else time.time()) + LINK_SECONDS
    url = store.presigned_get(bundle.key, expires_in=LINK_SECONDS, filename=file_name(bundle))
    if url is not None:
        return url, expires
    query = urlencode(
        {
            "user": str(user_id),
            "expires": expires,
            "signature": sign(secret, bundle, user_id, expires),
        }
    )
    return f"/api/v1/bundles/{quote(str(bundle.id))}/download?{query}", expires


def sign(secret: str, bundle: Bundle, user_id: uuid.UUID, expires: int) -> str:
    message = f"bundle-download:{bundle.id}:{bundle.sha256}:{user_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def valid(secret: str, bundle: Bundle, user_id: uuid.UUID, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(sign(secret, bundle, user_id, expires), signature)
