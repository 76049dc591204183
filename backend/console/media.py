"""Photos on the console's pages, authorised by the same rule as the API's downloads
(`services.media.access`): a photo of a record the person may see."""

from __future__ import annotations

from flask import redirect, request, send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from backend.api.context import db, services
from backend.models import Role
from backend.services.media import access

from . import blp
from .session import signed_in, user

KINDS = ("thumbnail", "display", "original")


@blp.route("/media/<sha256>/<kind>")
@signed_in(Role.inspector, Role.supervisor, Role.admin)
def media(sha256: str, kind: str) -> Response:
    """A photo's thumbnail, display copy or original; a placeholder while it is being made."""
    if kind not in KINDS:
        raise NotFound()
    store = services().store
    if kind == "original":
        found: access.Download | str = access.original(db(), store, user(), sha256)
    else:
        found = access.derivative(db(), store, user(), sha256, kind)
    if isinstance(found, str):  # not made yet: an image all the same, never a broken one
        response = send_from_directory(blp.static_folder or "", "pending.svg", max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response
    if found.url is not None:
        return redirect(found.url, 302)
    response = Response(
        wrap_file(request.environ, store.open(found.key)),
        mimetype=found.content_type,
        direct_passthrough=True,
    )
    if found.size is not None:
        response.content_length = found.size
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
