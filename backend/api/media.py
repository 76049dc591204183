"""Photo evidence: declare, upload, download (docs/media.md)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import jsonify, redirect, request, url_for
from flask.views import MethodView
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from backend.services.media import Limits, access, uploads
from backend.services.media.uploads import Accepted
from media import ACCEPTED_CONTENT_TYPES

from .context import after_commit, current_user, db, login_required, services
from .parsing import Blueprint

blp = Blueprint(
    "media",
    __name__,
    url_prefix="/api/v1/media",
    description="Photo evidence, addressed by the SHA-256 of its bytes (docs/media.md)",
)

RETRY_PENDING_SECONDS = 5
IMMUTABLE = "private, max-age=31536000, immutable"  # the bytes under a hash never change
_BINARY = {"schema": {"type": "string", "format": "binary"}}
PHOTO_BODY = {
    "required": True,
    "description": "The photo's bytes exactly as taken (JPEG, PNG or HEIC)",
    "content": {content_type: _BINARY for content_type in ACCEPTED_CONTENT_TYPES},
}


class DeclareRequest(ma.Schema):
    sha256 = ma.fields.String(required=True, metadata={"description": "lowercase hex SHA-256"})
    size = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1)
    )
    content_type = ma.fields.String(
        required=True, validate=ma.validate.OneOf(ACCEPTED_CONTENT_TYPES)
    )


class UploadTarget(ma.Schema):
    method = ma.fields.String()
    url = ma.fields.String()
    headers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    max_bytes = ma.fields.Integer()
    direct = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "S3 only: a presigned PUT straight to the store "
            "(method, url, headers, expires_in), then POST `complete`"
        },
    )


class DeclareResponse(ma.Schema):
    sha256 = ma.fields.String()
    state = ma.fields.String(metadata={"description": "available | awaiting_upload"})
    upload = ma.fields.Nested(UploadTarget, allow_none=True)


class UploadResponse(ma.Schema):
    sha256 = ma.fields.String()
    state = ma.fields.String(metadata={"description": "available"})
    size = ma.fields.Integer()
    content_type = ma.fields.String(metadata={"description": "sniffed from the bytes"})
    created = ma.fields.Boolean(metadata={"description": "false: the server had these bytes"})
    metadata = ma.fields.Dict(metadata={"description": "EXIF: taken_at, gps, make, model…"})


class PendingResponse(ma.Schema):
    code = ma.fields.String(metadata={"description": "media.derivative_pending"})
    status = ma.fields.Integer()
    message = ma.fields.String()
    state = ma.fields.String(metadata={"description": "processing | awaiting_upload"})
    retry_after = ma.fields.Integer()


class InspectionUse(ma.Schema):
    id = ma.fields.UUID()
    capture_gap_seconds = ma.fields.Integer(allow_none=True)
    capture_flagged = ma.fields.Boolean()


class MediaInfo(ma.Schema):
    sha256 = ma.fields.String()
    size = ma.fields.Integer()
    content_type = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    orientation = ma.fields.Integer(allow_none=True)
    taken_at = ma.fields.DateTime(allow_none=True)
    metadata = ma.fields.Dict()
    uploaded_at = ma.fields.DateTime()
    derivatives = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())
    inspections = ma.fields.List(ma.fields.Nested(InspectionUse))


def _limits() -> Limits:
    config = services().config
    return Limits(max_bytes=config.photo_max_bytes, max_pixels=config.photo_max_pixels)


def _end_reads() -> None:
    """Authentication has only read. End that transaction before the body streams in, so a
    slow upload holds no database connection (and, on SQLite, no write lock); the rest of the
    request runs in a new transaction, committed once at the end as usual."""
    db().commit()


def _accepted(accepted: Accepted) -> Accepted:
    store, keys = services().store, accepted.discard
    if keys:
        after_commit(uploads.discard(store, keys))
    return accepted


@blp.route("")
class Declare(MethodView):
    @login_required()
    @blp.arguments(DeclareRequest)
    @blp.response(200, DeclareResponse)
    @blp.alt_response(413, description="media.too_large")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Say which photo you have; the reply says whether and where to upload it"""
        limits = _limits()
        declared = uploads.declare(db(), services().store, current_user(), **args, limits=limits)
        upload = None
        if declared.state == "awaiting_upload":
            upload = _upload_target(declared, args["content_type"], limits)
        return {"sha256": declared.sha256, "state": declared.state, "upload": upload}


def _upload_target(declared: uploads.Declared, content_type: str, limits: Limits) -> dict[str, Any]:
    """Where to send the bytes: always through the API; with S3, also straight to the store."""
    headers = {"Content-Type": content_type}
    direct = None
    if declared.direct_url is not None:
        direct = {
            "method": "PUT",
            "url": declared.direct_url,
            "headers": headers,
            "expires_in": uploads.DIRECT_UPLOAD_SECONDS,
            "complete": url_for("media.Complete", sha256=declared.sha256),
        }
    return {
        "method": "PUT",
        "url": url_for("media.Photo", sha256=declared.sha256),
        "headers": headers,
        "max_bytes": limits.max_bytes,
        "direct": direct,
    }


@blp.route("/<sha256>")
class Photo(MethodView):
    @login_required()
    @blp.doc(requestBody=PHOTO_BODY)
    @blp.response(200, UploadResponse)
    @blp.alt_response(413, description="media.too_large")
    @blp.alt_response(
        422, description="media.hash_mismatch, media.not_an_image, media.too_many_pixels"
    )
    @blp.alt_response(503, description="media.store_unavailable: retry after Retry-After")
    def put(self, sha256: str) -> Accepted:
        """Upload a photo's bytes; refused unless they hash to sha256 and are a real image"""
        limits = _limits()
        request.max_content_length = limits.max_bytes  # photos, not the JSON body limit
        plan = uploads.plan(db(), sha256, request.content_length, limits)
        _end_reads()
        store = services().store
        return _accepted(uploads.upload(db(), store, current_user(), plan, request.stream, limits))

    @login_required()
    @blp.response(200, description="The original bytes (local store)")
    @blp.alt_response(302, description="A presigned URL valid for 10 minutes (S3 store)")
    @blp.alt_response(404, description="media.not_found or media.not_uploaded")
    def get(self, sha256: str) -> Response:
        """The original photo, for users who may see a record that references it"""
        response = _deliver(access.original(db(), services().store, current_user(), sha256))
        if response.status_code == 200:  # evidence to keep, never rendered in our origin
            response.headers["Content-Disposition"] = f'attachment; filename="{sha256}"'
        return response


@blp.route("/<sha256>/complete")
class Complete(MethodView):
    @login_required()
    @blp.response(200, UploadResponse)
    @blp.alt_response(409, description="media.upload_missing: nothing at the direct URL")
    @blp.alt_response(
        422, description="media.hash_mismatch, media.not_an_image, media.too_many_pixels"
    )
    def post(self, sha256: str) -> Accepted:
        """Check and accept a photo uploaded to its direct (presigned) URL"""
        limits = _limits()
        plan = uploads.plan(db(), sha256, None, limits)
        _end_reads()
        return _accepted(uploads.complete(db(), services().store, current_user(), plan, limits))


@blp.route("/<sha256>/info")
class Info(MethodView):
    @login_required()
    @blp.response(200, MediaInfo)
    def get(self, sha256: str) -> dict[str, Any]:
        """A photo's metadata (EXIF time, GPS, device) and the inspections showing it"""
        tolerance = services().config.photo_time_tolerance_seconds
        return access.describe(db(), current_user(), sha256, tolerance)


def _derivative(sha256: str, kind: str) -> Response:
    found = access.derivative(db(), services().store, current_user(), sha256, kind)
    if isinstance(found, str):
        body = PendingResponse().dump(
            {
                "code": "media.derivative_pending",
                "status": 202,
                "message": f"The {kind} is not ready yet ({found.replace('_', ' ')}); "
                f"ask again in {RETRY_PENDING_SECONDS} seconds.",
                "state": found,
                "retry_after": RETRY_PENDING_SECONDS,
            }
        )
        response = _json(body, 202)
        response.headers["Retry-After"] = str(RETRY_PENDING_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response
    return _deliver(found)


@blp.route("/<sha256>/thumbnail")
class Thumbnail(MethodView):
    @login_required()
    @blp.response(200, description="A 320 px JPEG (local store)")
    @blp.alt_response(302, description="A presigned URL valid for 10 minutes (S3 store)")
    @blp.alt_response(202, schema=PendingResponse, description="Not made yet: ask again")
    def get(self, sha256: str) -> Response:
        """The photo's thumbnail (320 px long edge, upright, no metadata)"""
        return _derivative(sha256, "thumbnail")


@blp.route("/<sha256>/display")
class Display(MethodView):
    @login_required()
    @blp.response(200, description="A 1600 px JPEG (local store)")
    @blp.alt_response(302, description="A presigned URL valid for 10 minutes (S3 store)")
    @blp.alt_response(202, schema=PendingResponse, description="Not made yet: ask again")
    def get(self, sha256: str) -> Response:
        """The photo's display copy (1600 px long edge, upright, no metadata)"""
        return _derivative(sha256, "display")


def _deliver(download: access.Download) -> Response:
    if download.url is not None:
        response = redirect(download.url, 302)
        response.headers["Cache-Control"] = "no-store"  # the link expires; ask us again
        return response
    stream = services().store.open(download.key)
    response = Response(
        wrap_file(request.environ, stream),
        mimetype=download.content_type,
        direct_passthrough=True,
    )
    if download.size is not None:
        response.content_length = download.size
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
