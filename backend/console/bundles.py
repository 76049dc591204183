"""佐证材料 (evidence bundles): ask for one from a record or a hazard page, watch it build (htmx
polls a fragment while it is queued or building), download it. The rules are the bundle
services' (requests, scopes); the download is the API's signed link (docs/bundles.md)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from backend.api.bundles import status as bundle_status
from backend.api.context import db
from backend.errors import NotFound
from backend.models import Bundle, BundleState, User
from backend.services import scope as unit_scope
from backend.services.bundles import requests
from backend.services.bundles.registry import SCOPES

from . import blp, forms
from .review import ALL_ROLES
from .session import signed_in, user

STATE_LABELS = {
    BundleState.queued.value: "排队中",
    BundleState.building.value: "正在生成",
    BundleState.ready.value: "已生成",
    BundleState.failed.value: "生成失败",
}
# Newest first; each one checked against the person's scope before it is shown.
LIST_LIMIT = 50


def _subject_url(bundle: Bundle) -> str | None:
    if bundle.scope == "inspection":
        return url_for("console.record", inspection_id=bundle.subject_id)
    if bundle.scope == "hazard":
        return url_for("console.hazard", hazard_id=bundle.subject_id)
    return None


def _view(bundle: Bundle) -> dict[str, Any]:
    shown = bundle_status(bundle, user())
    return {
        **shown,
        "state_label": STATE_LABELS[shown["state"]],
        "scope_label": SCOPES[bundle.scope].label if bundle.scope in SCOPES else bundle.scope,
        "percent": round(100 * shown["progress"]),
        "subject_url": _subject_url(bundle),
        "finished": shown["state"] in (BundleState.ready.value, BundleState.failed.value),
    }


@blp.route("/bundles", methods=["POST"])
@signed_in(*ALL_ROLES)
def bundles_request() -> Any:
    """Ask for the bundle of an inspection or a hazard; then its page, which shows progress."""
    scope = request.form.get("scope", "")
    subject = forms.uuid_of(request.form, "id")
    if subject is None:
        raise NotFound("No such record.")
    # A refusal is a DomainError: the console's handler shows it in Chinese with its status,
    # and nothing of the request is committed.
    asked = requests.request(db(), user(), scope, subject)
    return redirect(url_for("console.bundles_show", bundle_id=asked.bundle.id))


@blp.route("/bundles")
@signed_in(*ALL_ROLES)
def bundles() -> Any:
    """佐证材料: the bundles of the person's units, newest first."""
    person = user()
    rows = db().scalars(
        select(Bundle)
        .join(User, User.id == Bundle.requested_by)
        .where(unit_scope.unit_filter(person, User.unit_id))
        .order_by(Bundle.created_at.desc(), Bundle.id)
        .limit(LIST_LIMIT)
    )
    shown = []
    for bundle in rows:
        try:
            requests.get_visible(db(), person, bundle.id)
        except NotFound:
            continue  # a record in it is out of the person's scope
        shown.append(_view(bundle))
    return render_template("console/bundles.html", title="佐证材料", items=shown)


@blp.route("/bundles/<uuid:bundle_id>")
@signed_in(*ALL_ROLES)
def bundles_show(bundle_id: uuid.UUID) -> Any:
    """One bundle: state and progress (polled while it builds), SHA-256, download."""
    found = requests.get_visible(db(), user(), bundle_id)
    return render_template("console/bundle.html", title="佐证材料", b=_view(found))


@blp.route("/bundles/<uuid:bundle_id>/status")
@signed_in(*ALL_ROLES)
def bundles_status(bundle_id: uuid.UUID) -> Any:
    """The status fragment htmx swaps in once a second until the bundle is ready or failed."""
    found = requests.get_visible(db(), user(), bundle_id)
    return render_template("console/_bundle_status.html", b=_view(found))
