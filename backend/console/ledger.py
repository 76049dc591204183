"""The hazard ledger (隐患台账): the filtered list, its XLSX export, one hazard's closed-loop
timeline and the forms for the events the person's role allows. The rules are the ledger
services' (queries, events, states); a form only gathers an event's fields."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from backend.api import hazards as hazards_api
from backend.api.context import db, services
from backend.domain.sectors import SECTORS
from backend.errors import DomainError
from backend.models import Enterprise, Hazard, HazardState, Unit, User
from backend.services.ledger import events, export, queries, render, states
from backend.services.media import receiving, uploads
from checklists import standards

from . import blp, forms
from .errors import FormError, code_of, message_of
from .review import ALL_ROLES, choices, clause_choices
from .session import signed_in, user

MAX_PHOTOS = 10
# The order the forms appear in: the closed loop first, then supervision.
EVENT_ORDER = ("rectification_reported", "reinspected", "closed", "listed", "extended", "voided")


def _filters(args: Any) -> queries.Filters:
    state = args.get("state") or ""
    if state == "open":
        chosen: tuple[HazardState, ...] = states.OPEN
    elif state in HazardState.__members__:
        chosen = (HazardState(state),)
    else:
        chosen = ()
    level = args.get("level") or None
    sector = args.get("sector") or None
    return queries.Filters(
        unit_id=forms.uuid_of(args, "unit_id"),
        enterprise_id=forms.uuid_of(args, "enterprise_id"),
        sector=sector if sector in SECTORS else None,
        level=level if level in ("general", "major") else None,
        state=chosen,
        listed=forms.flag(args, "listed"),
        overdue=states.today() if forms.flag(args, "overdue") else None,
        found_from=forms.date_of(args, "found_from", "发现日期"),
        found_to=forms.date_of(args, "found_to", "发现日期"),
    )


@blp.route("/ledger")
@signed_in(*ALL_ROLES)
def ledger() -> Any:
    """隐患台账, filtered, 50 a page in ledger-number order (keyset)."""
    error, items, next_url = None, [], None
    today = states.today()
    try:
        page = queries.search(
            db(),
            user(),
            _filters(request.args),
            limit=forms.page_size(),
            cursor=request.args.get("cursor") or None,
        )
        items = [render.hazard(h, today) for h in page.items]
        if page.next_cursor:
            next_url = url_for("console.ledger", **{**request.args, "cursor": page.next_cursor})
    except FormError as exc:
        error = exc.message
    except DomainError as exc:
        error = message_of(exc)
    names = _names(items)
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    return render_template(
        "console/ledger.html",
        title="隐患台账",
        items=items,
        names=names,
        error=error,
        args=request.args,
        next_url=next_url,
        export_url=url_for("console.ledger_export", **args),
        sectors=SECTORS,
        **choices(),
    )


def _names(items: list[dict[str, Any]]) -> dict[uuid.UUID, str]:
    units = queries.names(db(), Unit, {i["unit_id"] for i in items})
    firms = queries.names(db(), Enterprise, {i["enterprise_id"] for i in items})
    return {k: v.name for k, v in {**units, **firms}.items()}


@blp.route("/ledger/export")
@signed_in(*ALL_ROLES)
def ledger_export() -> Any:
    """The filtered ledger as the office's spreadsheet (the API's export)."""
    today = states.today()
    try:
        body = export.workbook(db(), user(), _filters(request.args), as_of=today)
    except FormError as exc:
        flash(exc.message)
        return redirect(url_for("console.ledger", **request.args))
    return hazards_api.spreadsheet(body, today)


def _allowed_events(entry: Hazard, person: User) -> list[str]:
    """The forms to show: events the role may record in the current state. The service
    decides again on submit (listing unit, photos, …); this only hides what cannot work."""
    shown = []
    later = tuple(e for e in states.EVENTS if e not in EVENT_ORDER)  # e.g. a new event type
    for event_type in EVENT_ORDER + later:
        if person.role not in states.ROLES[event_type]:
            continue
        if entry.state not in states.ALLOWED_IN[event_type]:
            continue
        if event_type == "listed" and (entry.level != "major" or entry.listed_unit_id):
            continue
        shown.append(event_type)
    return shown


def _hazard_context(hazard_id: uuid.UUID) -> dict[str, Any]:
    entry = queries.get_visible(db(), user(), hazard_id)
    today = states.today()
    history = [render.event(e) for e in queries.history(db(), entry.id)]
    actors = queries.names(db(), User, {e["actor_id"] for e in history if e["actor_id"]})
    units = queries.names(
        db(), Unit, {entry.unit_id, *([entry.listed_unit_id] if entry.listed_unit_id else [])}
    )
    return {
        "title": "隐患详情",
        "h": render.hazard(entry, today),
        "history": history,
        "actors": {k: v.display_name for k, v in actors.items()},
        "units": {k: v.name for k, v in units.items()},
        "enterprise": db().get(Enterprise, entry.enterprise_id),
        "allowed": _allowed_events(entry, user()),
        "today": today,
        "listing_units": _listing_units(entry),
        "fields": states.FIELDS,
        "clause": standards.shipped().get(entry.clause) if entry.clause else None,
        # Reclassifying to 重大 cites a clause in force on the day found, binding the sector.
        "clause_choices": clause_choices(entry.found_on, entry.sector),
    }


def _listing_units(entry: Hazard) -> list[Unit]:
    """The hazard's unit and the units above it: who may list it (挂牌督办)."""
    unit = db().get(Unit, entry.unit_id)
    chain = []
    while unit is not None:
        chain.append(unit)
        unit = unit.parent
    return chain


@blp.route("/hazards/<uuid:hazard_id>")
@signed_in(*ALL_ROLES)
def hazard(hazard_id: uuid.UUID) -> Any:
    """One hazard: its record, the closed-loop timeline with photos, and the next steps."""
    return render_template("console/hazard.html", **_hazard_context(hazard_id), error=None)


def _photos(files: list[FileStorage]) -> list[str]:
    """Upload the chosen photos through the media service (checked, claimed for the person's
    unit) and return their hashes for the event."""
    config = services().config
    limits = receiving.Limits(max_bytes=config.photo_max_bytes, max_pixels=config.photo_max_pixels)
    chosen = [f for f in files if f and f.filename]
    if len(chosen) > MAX_PHOTOS:
        raise FormError(f"一次最多上传 {MAX_PHOTOS} 张照片。")
    hashes = []
    for file in chosen:
        data = file.read(limits.max_bytes + 1)
        sha = hashlib.sha256(data).hexdigest()
        plan = uploads.plan(db(), sha, len(data), limits)
        accepted = uploads.upload(db(), services().store, user(), plan, io.BytesIO(data), limits)
        hashes.append(accepted.sha256)
    return hashes


LABELS = {
    "measures": "整改措施",
    "funds": "整改资金",
    "deadline": "整改时限",
    "listed_on": "挂牌日期",
    "plan_deadline": "一患一策期限",
    "received_at": "接报时间",
}
TEXTS = {"measures", "comment", "reason", "requirements", "emergency_plan", "channel", "clause"}
DATES = {"deadline", "listed_on", "plan_deadline"}


def _field(form: Any, name: str) -> Any:
    """One event field from the form, typed as the ledger service takes it."""
    if name in TEXTS:
        return forms.text(form, name)
    if name == "responsible_person":
        return forms.text(form, name, limit=100)
    if name in DATES:
        return forms.date_of(form, name, LABELS.get(name, "日期"))
    if name == "funds":
        return forms.whole_number(form, name, LABELS[name])
    if name == "unit_id":
        return forms.uuid_of(form, name)
    if name == "level":
        value = form.get(name)
        return value if value in ("general", "major") else None
    if name == "completed":
        return form.get(name, "1") == "1"
    if name == "passed":
        return {"1": True, "0": False}.get(form.get(name) or "")
    if name == "received_at":
        return forms.moment_of(form, name, LABELS[name])
    return None  # reinspected_at: the tablet's clock; a form records the server's


def _event_args(event_type: str) -> dict[str, Any]:
    """The event's own fields (states.FIELDS), as filled; photos uploaded first."""
    args: dict[str, Any] = {"type": event_type}
    for name in sorted(states.FIELDS[event_type] - {"photos"}):
        value = _field(request.form, name)
        if value is not None:
            args[name] = value
    if "photos" in states.FIELDS[event_type]:
        photos = _photos(request.files.getlist("photos"))
        if photos:
            args["photos"] = photos
    return args


@blp.route("/hazards/<uuid:hazard_id>/events", methods=["POST"])
@signed_in(*ALL_ROLES)
def hazard_event(hazard_id: uuid.UUID) -> Any:
    """Record one closed-loop event through the ledger service."""
    event_type = request.form.get("type", "")
    if event_type not in states.EVENTS:
        return _hazard_again(hazard_id, "未知的操作。", 422, event_type)
    try:
        entry = events.record(db(), user(), hazard_id, _event_args(event_type))
    except FormError as exc:
        return _hazard_again(hazard_id, exc.message, 422, event_type)
    except DomainError as exc:
        status, _code = code_of(exc)
        if status == 404:
            raise
        return _hazard_again(hazard_id, message_of(exc), status, event_type)
    flash(
        f"已记录：{states.EVENT_LABELS[event_type]}。当前状态：{states.STATE_LABELS[entry.state]}。"
    )
    return redirect(url_for("console.hazard", hazard_id=hazard_id))


def _hazard_again(hazard_id: uuid.UUID, message: str, status: int, event_type: str) -> Any:
    db().rollback()
    context = _hazard_context(hazard_id)
    page = render_template(
        "console/hazard.html", **context, error=message, failed=event_type, form=request.form
    )
    return page, status


@blp.before_request
def _photo_forms_may_be_large() -> None:
    """Event forms carry photos: allow up to MAX_PHOTOS of the largest accepted size (the API's
    JSON body limit is for JSON)."""
    if request.endpoint == "console.hazard_event":
        request.max_content_length = services().config.photo_max_bytes * MAX_PHOTOS
