"""The review queue, one record as printed, and the decision: pages over review_queue and
review, the services the API uses."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from backend.api.context import db, services
from backend.errors import DomainError
from backend.models import Enterprise, InspectionStatus, MediaObject, Role, Unit
from backend.services import inspections as stored_inspections
from backend.services import review, review_queue, scope
from sync.inspections import KINDS

from . import blp, forms
from .errors import FormError, code_of, message_of
from .session import signed_in, user

ALL_ROLES = (Role.inspector, Role.supervisor, Role.admin)


def _queue_filters(args: Any) -> review_queue.Filters:
    status = args.get("status", "submitted")
    statuses = (InspectionStatus(status),) if status in InspectionStatus.__members__ else ()
    kind = args.get("kind") or None
    tolerance = services().config.photo_time_tolerance_seconds
    return review_queue.Filters(
        status=statuses,
        unit_id=forms.uuid_of(args, "unit_id"),
        enterprise_id=forms.uuid_of(args, "enterprise_id"),
        kind=kind if kind in KINDS else None,
        date_from=forms.date_of(args, "date_from"),
        date_to=forms.date_of(args, "date_to"),
        has_major=forms.flag(args, "has_major"),
        awaiting_media=forms.flag(args, "awaiting_media"),
        photo_flagged_over=tolerance if forms.flag(args, "photos_flagged") else None,
        newest_first=args.get("order") == "newest",
    )


def choices() -> dict[str, Any]:
    """Units and enterprises the person may see, for the filter selects."""
    person = user()
    units = db().scalars(select(Unit).where(scope.visible_units(person)).order_by(Unit.path))
    enterprises = db().scalars(
        select(Enterprise)
        .where(scope.unit_filter(person, Enterprise.unit_id))
        .order_by(Enterprise.name)
        .limit(500)
    )
    return {"units": list(units), "enterprises": list(enterprises)}


@blp.route("/queue")
@signed_in(*ALL_ROLES)
def queue() -> Any:
    """审核队列: inspections of the person's units, filtered, 50 a page (keyset)."""
    error = None
    page = None
    try:
        filters = _queue_filters(request.args)
        page = review_queue.search(
            db(),
            user(),
            filters,
            limit=forms.page_size(),
            cursor=request.args.get("cursor") or None,
        )
    except FormError as exc:
        error = exc.message
    except DomainError as exc:
        error = message_of(exc)
    next_url = None
    if page is not None and page.next_cursor:
        args = request.args.to_dict()
        args["cursor"] = page.next_cursor
        next_url = url_for("console.queue", **args)
    return render_template(
        "console/queue.html",
        title="审核队列",
        page=page,
        error=error,
        args=request.args,
        next_url=next_url,
        kinds=KINDS,
        statuses=InspectionStatus,
        **choices(),
    )


def _record_context(inspection_id: uuid.UUID) -> dict[str, Any]:
    row = review_queue.get_visible(db(), user(), inspection_id)
    detail = review_queue.detail(db(), row)
    version = stored_inspections.checklist_version(db(), row.checklist_code, row.checklist_version)
    assert version is not None
    answers = {a["item"]: a for a in detail["answers"]}
    defects = set(detail["verdict"]["defects"])
    tolerance = services().config.photo_time_tolerance_seconds
    gps = _gps(detail["photos"])
    may_review = (
        row.status is InspectionStatus.submitted
        and user().role is Role.supervisor
        and user().unit_id == row.unit_id
    )
    return {
        "title": "检查记录",
        "row": row,
        "d": detail,
        "version": version,
        "answers": answers,
        "defects": defects,
        "rules": list(version.rules),
        "rule_labels": {
            rule.code: f"{rule.source.standard}{rule.source.article}{rule.source.item or ''}"
            for rule in version.rules
        },
        "conditions": {f["id"]: _conditions(version, f, defects) for f in detail["findings"]},
        "tolerance": tolerance,
        "gps": gps,
        "may_review": may_review,
    }


def _gps(photos: list[dict[str, Any]]) -> dict[str, Any]:
    """EXIF place of each photo that has one (the record view shows time and place)."""
    hashes = [p["sha256"] for p in photos if p["exif"]["has_gps"]]
    if not hashes:
        return {}
    rows = db().scalars(select(MediaObject).where(MediaObject.sha256.in_(hashes)))
    return {m.sha256: (m.info or {}).get("gps") for m in rows}


def _conditions(version: Any, finding: dict[str, Any], defects: set[str]) -> list[Any]:
    """For each clause touching the finding's items: its conditions, met or missing."""
    from checklists.expr import codes

    items = set(finding["items"])
    result = []
    for rule in version.rules:
        leaves = list(codes(rule.expr))
        if not any(code == i or code.startswith(i + ".") for code in leaves for i in items):
            continue
        result.append(
            {
                "rule": rule,
                "matched": rule.matches(frozenset(defects)),
                "leaves": [(version.item(code), code in defects) for code in leaves],
            }
        )
    return result


@blp.route("/inspections/<uuid:inspection_id>")
@signed_in(*ALL_ROLES)
def record(inspection_id: uuid.UUID) -> Any:
    """One inspection as printed: answers in words, findings, photos, signatures, amendments."""
    return render_template("console/record.html", **_record_context(inspection_id), error=None)


def _findings_from(form: Any, finding_ids: list[str]) -> list[dict[str, Any]]:
    result = []
    for fid in finding_ids:
        level = form.get(f"level-{fid}")
        if level not in ("general", "major"):
            raise FormError("请为每条隐患选择确认等级。", {fid: "等级"})
        result.append(
            {
                "id": uuid.UUID(fid),
                "level": level,
                "rule": (form.get(f"rule-{fid}") or None) if level == "major" else None,
                "override_reason": forms.text(form, f"reason-{fid}"),
                "deadline": forms.date_of(form, f"deadline-{fid}", "整改时限"),
            }
        )
    return result


@blp.route("/inspections/<uuid:inspection_id>/review", methods=["POST"])
@signed_in(Role.supervisor, Role.admin, Role.inspector)
def decide(inspection_id: uuid.UUID) -> Any:
    """Approve (confirming each finding's level), return with a comment, or reject."""
    form = request.form
    decision = form.get("decision")
    try:
        if decision not in ("approve", "return", "reject"):
            raise FormError("请选择审核结果：通过、退回或驳回。")
        findings = _findings_from(form, form.getlist("finding")) if decision == "approve" else []
        review.decide(
            db(),
            user(),
            inspection_id,
            decision=decision,
            comment=forms.text(form, "comment"),
            findings=findings,
        )
    except FormError as exc:
        return _record_again(inspection_id, exc.message, 422)
    except DomainError as exc:
        status, _code = code_of(exc)
        if status == 404:
            raise
        return _record_again(inspection_id, message_of(exc), status, getattr(exc, "errors", {}))
    flash(
        {
            "approve": "已审核通过，隐患正在登记入台账。",
            "return": "已退回，检查人员的平板同步后会看到退回意见。",
            "reject": "已驳回。",
        }[decision]
    )
    return redirect(url_for("console.record", inspection_id=inspection_id))


def _record_again(
    inspection_id: uuid.UUID, message: str, status: int, errors: Any = None
) -> tuple[str, int]:
    """The record again, with what went wrong above the form and the form as filled."""
    db().rollback()  # nothing of the refused decision is shown as if it had happened
    context = _record_context(inspection_id)
    problems = (errors or {}).get("findings") if isinstance(errors, dict) else None
    page = render_template(
        "console/record.html",
        **context,
        error=message,
        form=request.form,
        problems=problems if isinstance(problems, dict) else {},
    )
    return page, status


def redirect_to_record(inspection_id: uuid.UUID) -> Response:
    return redirect(url_for("console.record", inspection_id=inspection_id))
