"""Documents as evidence (纪要, 方案, 决定书, 通知): PDFs and scans, checked, then kept like photos.

Addressed by the SHA-256 of their bytes, under ``documents/`` in the object store. Every check
runs before anything is stored: the size while the body is read, then the hash, then what the
bytes are (a PDF must parse; a scan must decode as a JPEG or PNG) and that it is what the
upload declared. A refused file leaves no object and no row. The unit of the uploader claims
the document; a user may download it when a record they may see references it and that
record's unit holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.models import DocumentClaim, DocumentObject, Record, RecordMedia, User
from backend.services import scope
from media import ObjectStore, TooLarge, validate_sha256
from media.documents import TypeMismatch, document_key, inspect_document

from .errors import MediaNotFound, MediaNotUploaded
from .receiving import Limits, receive, verified


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    content_type: str
    pages: int
    created: bool


def check_length(length: int | None, max_bytes: int) -> None:
    """Refuse a declared length over the limit before a byte of the body is read."""
    if length is not None and length > max_bytes:
        raise TooLarge(length, max_bytes)


def upload(
    session: Session,
    store: ObjectStore,
    user: User,
    sha256: str,
    declared: str | None,
    stream: IO[bytes],
    length: int | None,
    max_bytes: int,
) -> Stored:
    check_length(length, max_bytes)
    validate_sha256(sha256)
    data = receive(stream, Limits(max_bytes=max_bytes, max_pixels=0), length)
    body = verified(data, sha256)
    info = inspect_document(body.data, max_bytes=max_bytes)
    if declared and declared != info.content_type:
        raise TypeMismatch(declared, info.content_type)
    row = session.get(DocumentObject, sha256)
    created = row is None
    if row is None:
        store.put(document_key(sha256), body.data, content_type=info.content_type, sha256=sha256)
        row = DocumentObject(
            sha256=sha256,
            size=body.size,
            content_type=info.content_type,
            pages=info.pages,
            uploaded_by=user.id,
        )
        _insert(session, row)
    if session.get(DocumentClaim, (sha256, user.unit_id)) is None:
        _insert(session, DocumentClaim(sha256=sha256, unit_id=user.unit_id, user_id=user.id))
    return Stored(sha256, row.size, row.content_type, row.pages, created)


def _insert(session: Session, row: object) -> None:
    """Another upload of the same bytes may have written the row first: theirs stands."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        pass


def find(session: Session, user: User, sha256: str) -> DocumentObject:
    """The document, if a record the user may see references it and that record's unit holds
    it; otherwise the same not-found as for a hash nobody uploaded."""
    referencing = (
        select(Record.unit_id)
        .join(RecordMedia, RecordMedia.record_id == Record.id)
        .where(
            RecordMedia.sha256 == sha256,
            RecordMedia.role == "document",
            scope.unit_filter(user, Record.unit_id),
        )
    )
    if not session.scalar(select(exists(referencing))):
        raise MediaNotFound(sha256[:80])
    held = exists(
        select(DocumentClaim.sha256).where(
            DocumentClaim.sha256 == sha256, DocumentClaim.unit_id.in_(referencing)
        )
    )
    row = session.scalars(
        select(DocumentObject).where(DocumentObject.sha256 == sha256, held)
    ).one_or_none()
    if row is None:
        raise MediaNotUploaded(sha256)
    return row
