"""Supervisor review: approve, return or reject a submitted inspection.

Only a supervisor of the inspection's unit who took no part in it may decide ("谁检查、谁签名、
谁负责": the reviewer answers for the decision, so it is never the inspector's own). Admins manage
accounts and units; they do not review. The inspection row is locked first (FOR UPDATE on
PostgreSQL; SQLite has one writer at a time), so a tablet's push and a review take turns.

Approving confirms every finding's level. A level other than the rules' suggestion needs an
`override_reason`, and so does "major" without a determination-standard rule the answers match.
The approval writes one outbox row (`ledger:<inspection id>`) in the same transaction; a worker
turns it into the ledger entries. Every decision is a change row for the tablets and an audit entry.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from backend.models import (
    Enterprise,
    Finding,
    FindingConfirmation,
    Inspection,
    InspectionReview,
    InspectionStatus,
    Role,
    User,
    utcnow,
)
from checklists import Rule, standards
from sync.inspections import InspectionSave

from . import audit, changelog, outbox, scope
from . import inspections as stored
from .ledger import states

OUTCOME = {
    "approve": InspectionStatus.approved,
    "return": InspectionStatus.returned,
    "reject": InspectionStatus.rejected,
}


class ReviewError(DomainError):
    status: ClassVar[int] = 422
    code: ClassVar[str] = "review.invalid"


class ReviewForbidden(PermissionDenied, ReviewError):
    status, code = 403, "review.forbidden"


class OwnInspection(PermissionDenied, ReviewError):
    status, code = 403, "review.own_inspection"


class NotSubmitted(Conflict, ReviewError):
    status, code = 409, "review.not_submitted"


class AlreadyApproved(Conflict, ReviewError):
    status, code = 409, "review.already_approved"


class AlreadyRejected(Conflict, ReviewError):
    status, code = 409, "review.already_rejected"


class CommentRequired(InvalidInput, ReviewError):
    code = "review.comment_required"


class FindingsMismatch(InvalidInput, ReviewError):
    code = "review.findings_mismatch"


class FindingsNotExpected(InvalidInput, ReviewError):
    code = "review.findings_not_expected"


class RuleUnknown(InvalidInput, ReviewError):
    code = "review.rule_unknown"


class RuleNotMajor(InvalidInput, ReviewError):
    code = "review.rule_not_major"


class OverrideReasonRequired(InvalidInput, ReviewError):
    code = "review.override_reason_required"


class DeadlineMissing(InvalidInput, ReviewError):
    code = "review.deadline_missing"


class ClauseRequired(InvalidInput, ReviewError):
    code = "review.clause_required"


class ClauseUnknown(InvalidInput, ReviewError):
    code = "review.clause_unknown"


class ClauseNotApplicable(InvalidInput, ReviewError):
    code = "review.clause_not_applicable"


@dataclass(frozen=True)
class Decided:
    review: InspectionReview
    inspection: Inspection
    outbox_ids: list[int]  # delivered by the commit point, after the commit


def decide(
    session: Session,
    actor: User,
    inspection_id: uuid.UUID,
    *,
    decision: str,
    comment: str | None,
    findings: Sequence[Mapping[str, Any]] | None,
    now: datetime | None = None,
) -> Decided:
    now = now or utcnow()
    inspection = _load_locked(session, actor, inspection_id)
    _authorise(actor, inspection)
    _check_state(inspection)
    comment = (comment or "").strip() or None
    content = stored.stored_content(session, inspection)
    confirmations = _check_decision(session, inspection, content, decision, comment, findings, now)
    review = InspectionReview(
        inspection_id=inspection.id,
        inspection_version=inspection.version,
        decision=decision,
        reviewer_id=actor.id,
        comment=comment,
        reviewed_at=now,
    )
    session.add(review)
    inspection.status = OUTCOME[decision]
    inspection.version += 1
    inspection.edited_version = inspection.version
    inspection.updated_at = now
    session.flush()
    for confirmation in confirmations:
        confirmation.review_id = review.id
    session.add_all(confirmations)
    outbox_ids = _ledger_work(session, inspection, review, confirmations)
    _publish(session, inspection, content, review)
    _audit(session, actor, inspection, review, confirmations)
    return Decided(review, inspection, outbox_ids)


def _load_locked(session: Session, actor: User, inspection_id: uuid.UUID) -> Inspection:
    query = (
        select(Inspection)
        .where(Inspection.id == inspection_id, scope.unit_filter(actor, Inspection.unit_id))
        .execution_options(populate_existing=True)  # what the lock holder committed
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    inspection = session.scalars(query).one_or_none()
    if inspection is None:
        raise NotFound(f"Inspection {inspection_id} was not found.")
    return inspection


def _authorise(actor: User, inspection: Inspection) -> None:
    if actor.role is not Role.supervisor or actor.unit_id != inspection.unit_id:
        raise ReviewForbidden(
            "Only a supervisor of the inspection's unit can review it; you are signed in as "
            f"{actor.role.value}."
        )
    took_part = inspection.inspector_id == actor.id or any(
        str(person.get("user_id")) == str(actor.id)
        for person in inspection.inspectors
        if isinstance(person, dict) and person.get("user_id")
    )
    if took_part:
        raise OwnInspection(
            "You took part in this inspection, so another supervisor of your unit must review "
            "it (谁检查、谁签名、谁负责)."
        )


def _check_state(inspection: Inspection) -> None:
    status = inspection.status
    if status is InspectionStatus.submitted:
        return
    errors = {"status": status.value}
    if status is InspectionStatus.approved:
        raise AlreadyApproved(
            "This inspection was already approved; its hazards are in the ledger.", errors=errors
        )
    if status is InspectionStatus.rejected:
        raise AlreadyRejected("This inspection was already rejected.", errors=errors)
    raise NotSubmitted(
        f"This inspection is {status.value}, not submitted: the inspector must submit it from "
        "the tablet before it can be reviewed.",
        errors=errors,
    )


def _check_decision(
    session: Session,
    inspection: Inspection,
    content: InspectionSave,
    decision: str,
    comment: str | None,
    findings: Sequence[Mapping[str, Any]] | None,
    now: datetime,
) -> list[FindingConfirmation]:
    if decision != "approve":
        if findings:
            raise FindingsNotExpected(
                f"Send 'findings' only to approve; a {decision} decision confirms nothing.",
                errors={"findings": ["Only with decision approve."]},
            )
        if decision == "reject" and not comment:
            raise CommentRequired(
                "Say why the inspection is rejected in 'comment'.",
                errors={"comment": ["Required to reject."]},
            )
        return []
    return _confirm(session, inspection, content, findings or [], states.local_date(now))


def _confirm(
    session: Session,
    inspection: Inspection,
    content: InspectionSave,
    given: Sequence[Mapping[str, Any]],
    today: date,
) -> list[FindingConfirmation]:
    rows = list(
        session.scalars(
            select(Finding).where(Finding.inspection_id == inspection.id).order_by(Finding.position)
        )
    )
    by_id = _match(rows, given)
    version = stored.checklist_version(
        session, inspection.checklist_code, inspection.checklist_version
    )
    assert version is not None  # pinned versions are checked when the inspection is saved
    verdict = version.evaluate({a["item"]: a["answer"] for a in content.answers})
    context = _Context(
        known={rule.code: rule for rule in version.rules},
        matched={rule.code for rule in verdict.matched_rules},
        catalogue=standards.shipped(),
        found_on=states.local_date(inspection.started_at or inspection.created_at),
        sector=session.get_one(Enterprise, inspection.enterprise_id).sector,
        today=today,
    )
    result = [
        _confirmation(f, by_id[f.id], replace(context, sector=f.sector or context.sector))
        for f in rows
    ]
    _raise_collected(result)
    return _one_per_situation([c for c in result if isinstance(c, FindingConfirmation)])


@dataclass(frozen=True)
class _Context:
    known: dict[str, Rule]
    matched: set[str]
    catalogue: standards.Catalogue
    found_on: date
    sector: str
    today: date


def _one_per_situation(confirmations: list[FindingConfirmation]) -> list[FindingConfirmation]:
    """Findings of one inspection confirmed major under one clause are one situation: the
    first (in the inspection's order) leads, the others join its ledger entry."""
    leads: dict[str, uuid.UUID] = {}
    for confirmation in confirmations:
        if confirmation.level != "major" or confirmation.clause is None:
            continue
        lead = leads.setdefault(confirmation.clause, confirmation.finding_id)
        if lead != confirmation.finding_id:
            confirmation.merged_into = lead
    return confirmations


def _match(rows: list[Finding], given: Sequence[Mapping[str, Any]]) -> dict[uuid.UUID, Any]:
    counts = Counter(item["id"] for item in given)
    ids = {f.id for f in rows}
    problems = {
        "missing": sorted(str(i) for i in ids - set(counts)),
        "unknown": sorted(str(i) for i in set(counts) - ids),
        "repeated": sorted(str(i) for i, n in counts.items() if n > 1),
    }
    problems = {key: value for key, value in problems.items() if value}
    if problems:
        raise FindingsMismatch(
            "Confirm every finding of the inspection exactly once (GET the inspection for "
            f"their ids): {', '.join(f'{k} {len(v)}' for k, v in problems.items())}.",
            errors={"findings": problems},
        )
    return {item["id"]: item for item in given}


@dataclass(frozen=True)
class _Problem:
    """What is wrong with one finding's confirmation: collected so one reply names them all."""

    error: type[ReviewError]
    finding_id: str
    text: str


def _confirmation(
    finding: Finding, given: Mapping[str, Any], context: _Context
) -> FindingConfirmation | _Problem:
    fid, level, rule = str(finding.id), given["level"], given.get("rule")
    clause_code = given.get("clause")
    reason = (given.get("override_reason") or "").strip() or None
    if rule is not None and rule not in context.known:
        return _Problem(RuleUnknown, fid, f"{rule} is not a rule of this checklist version.")
    if (rule is not None or clause_code is not None) and level != "major":
        return _Problem(
            RuleNotMajor, fid, "A rule or clause makes a hazard major; drop it or say major."
        )
    rule = rule or _suggested_rule(finding, level, clause_code, context)
    if not reason and level != finding.suggested_level:
        return _Problem(
            OverrideReasonRequired, fid, f"The rules suggest {finding.suggested_level}."
        )
    if not reason and level == "major" and rule not in context.matched:
        return _Problem(
            OverrideReasonRequired, fid, "No determination-standard rule the answers match."
        )
    clause = _clause(fid, level, rule, clause_code, context)
    if isinstance(clause, _Problem):
        return clause
    deadline = given.get("deadline") or finding.deadline
    deadline = deadline or (context.today if finding.immediate else None)
    if deadline is None:
        return _Problem(DeadlineMissing, fid, "No 整改时限: give a deadline.")
    return FindingConfirmation(
        finding_id=finding.id,
        level=level,
        rule=rule,
        clause=clause.code if clause else None,
        override_reason=reason,
        deadline=deadline,
    )


def _suggested_rule(
    finding: Finding, level: str, clause_code: str | None, context: _Context
) -> str | None:
    """The suggested rule stands for a major unless the reviewer cites another clause."""
    suggested = finding.suggested_rule
    if level != "major" or suggested is None or suggested not in context.known:
        return None
    clause = context.catalogue.for_rule(context.known[suggested])
    if clause_code and (clause is None or clause.code != clause_code):
        return None
    return suggested


def _clause(
    fid: str, level: str, rule: str | None, code: str | None, context: _Context
) -> standards.Clause | _Problem | None:
    """No major without a clause: the one given, else the one the rule cites; in force on the
    inspection's date and binding the enterprise's sector."""
    if level != "major":
        return None
    if code is not None:
        clause = context.catalogue.get(code)
        if clause is None:
            return _Problem(ClauseUnknown, fid, f"{code} is not a clause of the catalogue.")
    else:
        clause = context.catalogue.for_rule(context.known[rule]) if rule else None
        if clause is None:
            return _Problem(
                ClauseRequired,
                fid,
                "A 重大事故隐患 must cite the 判定标准 clause it meets: give 'rule' (a rule of "
                "this checklist version) or 'clause' (a code from GET /api/v1/standards), or "
                "confirm it as general.",
            )
    problem = context.catalogue.problem(clause, context.found_on, context.sector)
    return _Problem(ClauseNotApplicable, fid, problem) if problem else clause


MESSAGES: dict[type[ReviewError], str] = {
    RuleUnknown: "A rule named is not one of the pinned checklist version's rules.",
    RuleNotMajor: "A rule was given for a finding confirmed as general.",
    OverrideReasonRequired: "A confirmed level differs from the rules' suggestion, or a major "
    "level has no rule the answers match: give an 'override_reason' for it.",
    DeadlineMissing: "A finding has no rectification deadline (整改时限): give a 'deadline'.",
    ClauseRequired: "A finding confirmed as 重大 names no 判定标准 clause: give 'rule' or "
    "'clause' (GET /api/v1/standards lists the clauses), or confirm it as general.",
    ClauseUnknown: "A clause named is not in the catalogue: GET /api/v1/standards lists them.",
    ClauseNotApplicable: "A clause named is not in force on the inspection's date, or its "
    "standard does not bind the enterprise's sector: cite one that applies, or confirm general.",
}


def _raise_collected(result: list[FindingConfirmation | _Problem]) -> None:
    problems = [r for r in result if isinstance(r, _Problem)]
    if not problems:
        return
    first = problems[0].error
    same = {p.finding_id: [p.text] for p in problems if p.error is first}
    raise first(MESSAGES[first], errors={"findings": same})


def _ledger_work(
    session: Session,
    inspection: Inspection,
    review: InspectionReview,
    confirmations: list[FindingConfirmation],
) -> list[int]:
    if not confirmations:
        return []
    item_id = outbox.add(
        session,
        outbox.JobKind.ledger_entries,
        f"ledger:{inspection.id}",
        {"inspection_id": str(inspection.id), "review_id": review.id},
    )
    return [item_id]


def review_summary(review: InspectionReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "decision": review.decision,
        "comment": review.comment,
        "reviewer_id": review.reviewer_id,
        "reviewed_at": review.reviewed_at,
        "inspection_version": review.inspection_version,
    }


def _publish(
    session: Session, inspection: Inspection, content: InspectionSave, review: InspectionReview
) -> None:
    """The new status for the unit's tablets and, in full, for the inspector's."""
    review_data = changelog.jsonable(review_summary(review))
    rows = changelog.of_stored_inspection(session, inspection, content=content, review=review_data)
    changelog.record(session, rows)


def _audit(
    session: Session,
    actor: User,
    inspection: Inspection,
    review: InspectionReview,
    confirmations: list[FindingConfirmation],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"inspection.{review.decision}",
        entity_type="inspection",
        entity_id=inspection.id,
        reason=review.comment,
        data={
            "decision": review.decision,
            "status": inspection.status.value,
            "version": inspection.version,
            "findings": [
                {
                    "id": c.finding_id,
                    "level": c.level,
                    "rule": c.rule,
                    "clause": c.clause,
                    "merged_into": c.merged_into,
                    "override_reason": c.override_reason,
                    "deadline": c.deadline,
                }
                for c in confirmations
            ],
        },
    )
