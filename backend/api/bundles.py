"""佐证 bundles: ask for one, watch it build, download it (docs/bundles.md)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from backend.models import Bundle, BundleState, User
from backend.services.bundles import links, requests
from backend.services.bundles.errors import BundleNotFound, DownloadExpired
from backend.services.bundles.registry import SCOPES

from .context import current_user, db, login_required, services

blp = Blueprint(
    "bundles",
    __name__,
    url_prefix="/api/v1/bundles",
    description="佐证 bundles: every photo, signature and notice behind a record, verifiable",
)


class BundleRequest(ma.Schema):
    scope = ma.fields.String(
        required=True,
        metadata={"description": f"One of: {', '.join(SCOPES)} (report: a filed 调度表, as filed)"},
    )
    id = ma.fields.UUID(
        required=True,
        metadata={"description": "The inspection, the hazard, or the filing (report)"},
    )


class BundleStatus(ma.Schema):
    id = ma.fields.UUID()
    scope = ma.fields.String()
    subject_id = ma.fields.UUID()
    title = ma.fields.String()
    state = ma.fields.String(metadata={"description": "queued, building, ready or failed"})
    reason = ma.fields.String(allow_none=True, metadata={"description": "Why it failed"})
    progress = ma.fields.Float(metadata={"description": "0 to 1: bytes packed of all"})
    done_bytes = ma.fields.Integer()
    total_bytes = ma.fields.Integer()
    size = ma.fields.Integer(allow_none=True)
    sha256 = ma.fields.String(allow_none=True)
    fingerprint = ma.fields.String()
    summary = ma.fields.Dict(
        metadata={"description": "html, pdf (true/false) and pdf_skipped (why, if no PDF)"}
    )
    reused = ma.fields.Boolean(metadata={"description": "POST: the stored bundle was reused"})
    download = ma.fields.Dict(
        allow_none=True, metadata={"description": "When ready: url, file_name, expires_at"}
    )
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class DownloadArgs(ma.Schema):
    user = ma.fields.UUID(required=True)
    expires = ma.fields.Integer(required=True)
    signature = ma.fields.String(required=True)


@blp.route("")
class Bundles(MethodView):
    @login_required()
    @blp.arguments(BundleRequest)
    @blp.response(202, BundleStatus)
    @blp.alt_response(404, description="not_found: no such record, or not all of it is yours")
    @blp.alt_response(422, description="bundle.unknown_scope, bundle.scope_not_available")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Ask for the bundle of an inspection or a hazard's whole loop (built by the worker)"""
        asked = requests.request(db(), current_user(), args["scope"], args["id"])
        return {**status(asked.bundle, current_user()), "reused": asked.reused}


@blp.route("/<uuid:bundle_id>")
class OneBundle(MethodView):
    @login_required()
    @blp.response(200, BundleStatus)
    @blp.alt_response(404, description="bundle.not_found")
    def get(self, bundle_id: uuid.UUID) -> dict[str, Any]:
        """A bundle's state and progress; when ready, its SHA-256 and a download link"""
        return status(requests.get_visible(db(), current_user(), bundle_id), current_user())


@blp.route("/<uuid:bundle_id>/download")
class Download(MethodView):
    @blp.arguments(DownloadArgs, location="query")
    @blp.response(200, description="The ZIP (local store; S3 links go to the store itself)")
    @blp.alt_response(404, description="bundle.not_found, bundle.link_expired")
    def get(self, args: dict[str, Any], bundle_id: uuid.UUID) -> Response:
        """Download a ready bundle through a signed link from GET /bundles/{id}"""
        session = db()
        user = session.get(User, args["user"])
        bundle = session.get(Bundle, bundle_id)
        if user is None or not user.active or bundle is None or bundle.key is None:
            raise BundleNotFound(f"Bundle {bundle_id} was not found.")
        secret = services().config.secret_key
        if not links.valid(secret, bundle, user.id, args["expires"], args["signature"]):
            raise DownloadExpired("This download link has expired: ask GET /bundles/{id} again.")
        requests.get_visible(session, user, bundle_id)
        stream = services().store.open(bundle.key)
        response = Response(
            wrap_file(request.environ, stream), mimetype="application/zip", direct_passthrough=True
        )
        response.content_length = bundle.size
        name = links.file_name(bundle)
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"bundle.zip\"; filename*=UTF-8''{quote(name, safe='')}"
        )
        response.headers["Cache-Control"] = "no-store"
        return response


def status(bundle: Bundle, user: User) -> dict[str, Any]:
    total = bundle.total_bytes or 0
    done = total if bundle.state is BundleState.ready else min(bundle.done_bytes, total)
    download = None
    if bundle.state is BundleState.ready and bundle.key:
        url, expires = links.link(services().store, services().config.secret_key, bundle, user.id)
        download = {"url": url, "file_name": links.file_name(bundle), "expires_at": expires}
    return {
        "id": bundle.id,
        "scope": bundle.scope,
        "subject_id": bundle.subject_id,
        "title": bundle.title,
        "state": bundle.state.value,
        "reason": bundle.reason,
        "progress": 1.0 if bundle.state is BundleState.ready else (done / total if total else 0.0),
        "done_bytes": done,
        "total_bytes": total,
        "size": bundle.size,
        "sha256": bundle.sha256,
        "fingerprint": bundle.fingerprint,
        "summary": bundle.summary or {},
        "reused": False,
        "download": download,
        "created_at": bundle.created_at,
        "finished_at": bundle.finished_at,
    }
