"""Documents as evidence: PDFs and scans, addressed by their SHA-256 (docs/records.md)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from backend.services.media import documents
from media.documents import DOCUMENT_CONTENT_TYPES, document_key

from .context import current_user, db, login_required, services

blp = Blueprint(
    "documents",
    __name__,
    url_prefix="/api/v1/documents",
    description="Documents as evidence (纪要, 方案, 决定书, 通知): PDFs and scans",
)

_BINARY = {"schema": {"type": "string", "format": "binary"}}
DOCUMENT_BODY = {
    "required": True,
    "description": "The document's bytes: a PDF, or a scan as JPEG or PNG",
    "content": {content_type: _BINARY for content_type in DOCUMENT_CONTENT_TYPES},
}


class DocumentOut(ma.Schema):
    sha256 = ma.fields.String()
    size = ma.fields.Integer()
    content_type = ma.fields.String(metadata={"description": "sniffed from the bytes"})
    pages = ma.fields.Integer()
    created = ma.fields.Boolean(metadata={"description": "false: the server had these bytes"})


@blp.route("/<sha256>")
class Document(MethodView):
    @login_required()
    @blp.doc(requestBody=DOCUMENT_BODY)
    @blp.response(200, DocumentOut)
    @blp.alt_response(413, description="media.too_large")
    @blp.alt_response(415, description="document.unsupported_type, document.type_mismatch")
    @blp.alt_response(
        422, description="document.invalid_pdf, media.hash_mismatch, media.not_an_image"
    )
    def put(self, sha256: str) -> Any:
        """Upload a document; refused unless it hashes to sha256 and is what it claims"""
        limit = services().config.document_max_bytes
        documents.check_length(request.content_length, limit)
        request.max_content_length = limit
        user = current_user()
        db().commit()  # authentication only read: hold no transaction while the body streams
        return documents.upload(
            db(),
            services().store,
            user,
            sha256,
            request.mimetype or None,
            request.stream,
            request.content_length,
            limit,
        )

    @login_required()
    @blp.response(200, description="The document's bytes")
    @blp.alt_response(404, description="media.not_found or media.not_uploaded")
    def get(self, sha256: str) -> Response:
        """A document, for users who may see a record that references it"""
        row = documents.find(db(), current_user(), sha256)
        stream = services().store.open(document_key(sha256))
        response = Response(
            wrap_file(request.environ, stream), mimetype=row.content_type, direct_passthrough=True
        )
        response.content_length = row.size
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
        return response
