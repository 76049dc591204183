"""The review queue, one record as printed, and the decision: pages over review_queue and
review, the services the API uses."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from backend.api.context import db, services
from backend.errors import DomainError
from backend.models import Enterprise, InspectionStatus, MediaObject, Role, Unit
from backend.services import inspections as stored_inspections
from backend.services import review, review_queue, scope
from backend.services.ledger import states
from checklists import standards
from checklists.expr import codes
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
    held = defects | set(detail["verdict"].get("facts") or ())
    sector = db().get_one(Enterprise, row.enterprise_id).sector
    found_on = states.local_date(row.started_at or row.created_at)
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
        "conditions": {f["id"]: _conditions(version, f, held) for f in detail["findings"]},
        "found_on": found_on,
        "clause_choices": {
            f["id"]: clause_choices(found_on, f.get("sector") or sector) for f in detail["findings"]
        },
        "clause_note_for": lambda _fid, code: clause_note(version, held, code or None),
        "suggested_clauses": {f["id"]: _suggested_clause(f) for f in detail["findings"]},
        "catalogue": standards.shipped(),
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


def _conditions(version: Any, finding: dict[str, Any], held: set[str]) -> list[Any]:
    """For each clause touching the finding's items: its conditions, met or missing (a fact
    such as 中毒风险 is a condition too)."""
    items = set(finding["items"])
    result = []
    for rule in version.rules:
        leaves = list(codes(rule.expr))
        if not any(code == i or code.startswith(i + ".") for code in leaves for i in items):
            continue
        result.append(
            {
                "rule": rule,
                "matched": rule.matches(frozenset(held)),
                "leaves": [(version.describe(code), code in held) for code in leaves],
            }
        )
    return result


def _suggested_clause(finding: dict[str, Any]) -> str | None:
    """The catalogue code of the clause the finding's suggested rule cites, if any."""
    rule = finding.get("suggested_rule")
    if not rule:
        return None
    source = rule.get("source") or {}
    for clause in standards.shipped().clauses.values():
        if (clause.standard.title, clause.article, clause.item or "") == (
            source.get("standard"),
            source.get("article"),
            source.get("item") or "",
        ):
            return clause.code
    return None


def clause_choices(found_on: Any, sector: str | None) -> list[tuple[Any, list[Any]]]:
    """The clauses a supervisor may cite for a hazard found on `found_on` in `sector`: those of
    the standards in force that day and binding that sector, grouped by standard."""
    catalogue = standards.shipped()
    grouped: dict[str, tuple[Any, list[Any]]] = {}
    for clause in catalogue.clauses.values():
        if catalogue.problem(clause, found_on, sector) is None:
            grouped.setdefault(clause.standard.code, (clause.standard, []))[1].append(clause)
    return list(grouped.values())


def clause_note(version: Any, held: set[str], code: str | None) -> dict[str, Any] | None:
    """What the record shows under a chosen clause: its text as printed and, where a rule of
    the pinned checklist version cites it, each condition met or missing."""
    catalogue = standards.shipped()
    clause = catalogue.get(code) if code else None
    if clause is None:
        return None
    rules = [rule for rule in version.rules if catalogue.for_rule(rule) == clause]
    return {
        "clause": clause,
        "rules": [
            {
                "matched": rule.matches(frozenset(held)),
                "leaves": [(version.describe(c), c in held) for c in codes(rule.expr)],
            }
            for rule in rules
        ],
    }


@blp.route("/inspections/<uuid:inspection_id>")
@signed_in(*ALL_ROLES)
def record(inspection_id: uuid.UUID) -> Any:
    """One inspection as printed: answers in words, findings, photos, signatures, amendments."""
    return render_template("console/record.html", **_record_context(inspection_id), error=None)


CLAUSE_REQUIRED = (
    "确认为重大事故隐患须选择所依据的判定条款（判定标准目录中检查当日有效、适用于该行业领域的"
    "条款）；不符合任何条款的，请确认为一般隐患。"
)


def _findings_from(form: Any, finding_ids: list[str]) -> list[dict[str, Any]]:
    """Each finding's confirmation as the form gives it. A major names its clause: the form
    offers the catalogue's clauses and preselects the suggested one; one cleared is refused
    here, in place, rather than read as "the suggestion"."""
    result = []
    missing: dict[str, str] = {}
    for fid in finding_ids:
        try:
            finding_id = uuid.UUID(fid)
        except ValueError:
            raise FormError("每条隐患都要确认一次等级。请刷新页面后重试。") from None
        level = form.get(f"level-{fid}")
        if level not in ("general", "major"):
            raise FormError("请为每条隐患选择确认等级。", {fid: "请选择确认等级。"})
        clause = (form.get(f"clause-{fid}") or "").strip() or None
        if level == "major" and clause is None:
            missing[fid] = CLAUSE_REQUIRED
        result.append(
            {
                "id": finding_id,
                "level": level,
                "clause": clause if level == "major" else None,
                "override_reason": forms.text(form, f"reason-{fid}"),
                "deadline": forms.date_of(form, f"deadline-{fid}", "整改时限"),
            }
        )
    if missing:
        raise FormError(CLAUSE_REQUIRED, missing)
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
        return _record_again(inspection_id, exc.message, 422, exc.fields)
    except DomainError as exc:
        status, _code = code_of(exc)
        if status == 404:
            raise
        message = message_of(exc)
        errors = getattr(exc, "errors", None) or {}
        named = errors.get("findings") if isinstance(errors, dict) else None
        # The service names the findings it refused; each is told the sentence in its place.
        fields = {str(fid): message for fid in named} if isinstance(named, dict) else {}
        return _record_again(inspection_id, message, status, fields)
    flash(
        {
            "approve": "已审核通过，隐患正在登记入台账。",
            "return": "已退回，检查人员的平板同步后会看到退回意见。",
            "reject": "已驳回。",
        }[decision]
    )
    return redirect(url_for("console.record", inspection_id=inspection_id))


def _record_again(
    inspection_id: uuid.UUID, message: str, status: int, problems: dict[str, str] | None = None
) -> tuple[str, int]:
    """The record again, with what went wrong above the form, the form as filled, and each
    refused finding's sentence in its own place (`problems`: finding id → sentence)."""
    db().rollback()  # nothing of the refused decision is shown as if it had happened
    context = _record_context(inspection_id)
    page = render_template(
        "console/record.html",
        **context,
        error=message,
        form=request.form,
        problems=problems or {},
    )
    return page, status


@blp.route("/inspections/<uuid:inspection_id>/findings/<uuid:finding_id>/clause")
@signed_in(*ALL_ROLES)
def clause(inspection_id: uuid.UUID, finding_id: uuid.UUID) -> Any:
    """The text of the clause chosen for a finding, and which of its conditions the answers
    meet (swapped in under the select by htmx)."""
    context = _record_context(inspection_id)
    finding = next((f for f in context["d"]["findings"] if f["id"] == finding_id), None)
    if finding is None:
        abort(404)
    code = (request.args.get(f"clause-{finding_id}") or "").strip() or None
    if code is not None and standards.shipped().get(code) is None:
        abort(404)
    held = set(context["defects"]) | set(context["d"]["verdict"].get("facts") or ())
    note = render_template(
        "console/_clause.html",
        f=finding,
        note=clause_note(context["version"], held, code),
        suggested=context["suggested_clauses"][finding_id],
    )
    # The refusal shown under the finding was about the clause posted before: a new choice
    # clears it (out of band), and the service checks the new one when the form is posted.
    return note + f'<div id="problem-{finding_id}" hx-swap-oob="true"></div>'


def redirect_to_record(inspection_id: uuid.UUID) -> Response:
    return redirect(url_for("console.record", inspection_id=inspection_id))
