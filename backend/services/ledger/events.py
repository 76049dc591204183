"""The closed loop: recording an event on a hazard.

Load (locked) → authorise → check the event's fields → check the state → act, then write the
event, the audit entry and the change row together (history.record). A refused event writes
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import db
from backend.models import (
    Hazard,
    HazardEvent,
    HazardSource,
    HazardState,
    InspectionMedia,
    Unit,
    UnitKind,
    User,
    utcnow,
)
from backend.services.media import records as media_records
from checklists import standards

from . import errors, history, numbering, queries, states


@dataclass
class Effect:
    """What an event changes on the hazard, and what its history row keeps."""

    values: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Request:
    session: Session
    actor: User
    entry: Hazard
    args: Mapping[str, Any]
    today: date
    now: datetime
    check_photos: bool


def record(
    session: Session,
    actor: User,
    hazard_id: uuid.UUID,
    args: Mapping[str, Any],
    *,
    now: datetime | None = None,
    device_id: uuid.UUID | None = None,
    check_photos: bool = True,
) -> Hazard:
    """Apply one event; `args` holds `type` and the fields the request gave.

    `check_photos=False` is for a tablet's offline record, whose photos are uploaded after the
    push that references them."""
    decided = decide(session, actor, hazard_id, args, now=now, check_photos=check_photos)
    write(session, decided, device_id=device_id)
    return decided.entry


@dataclass(frozen=True)
class Decided:
    """An event that passed every check, applied to the hazard in memory and not yet written."""

    actor: User
    entry: Hazard
    event_type: str
    effect: Effect
    before: HazardState
    now: datetime


def decide(
    session: Session,
    actor: User,
    hazard_id: uuid.UUID,
    args: Mapping[str, Any],
    *,
    now: datetime | None = None,
    check_photos: bool = True,
) -> Decided:
    """Every check of `record`, then the new state on the (locked) hazard in memory; raises the
    ledger's errors for a refused event, having changed nothing."""
    now = now or utcnow()
    event_type = args.get("type")
    if event_type not in states.EVENTS:
        raise errors.UnknownEvent(
            f"Unknown event type {event_type!r}; use one of {', '.join(states.EVENTS)}.",
            errors={"type": [f"Must be one of {', '.join(states.EVENTS)}."]},
        )
    entry = queries.get_visible(session, actor, hazard_id, lock=True)
    _authorise(actor, event_type)
    _only_fields(event_type, args)
    request = Request(session, actor, entry, args, states.today(now), now, check_photos)
    effect = CHECKS[event_type](request)
    if entry.state not in states.ALLOWED_IN[event_type]:
        raise _wrong_state(entry, event_type)
    AFTER_STATE_CHECKS.get(event_type, _nothing)(request, effect)
    before = entry.state
    entry.state = states.next_state(event_type, before, effect.data)
    for key, value in effect.values.items():
        setattr(entry, key, value)
    entry.version += 1
    entry.updated_at = now
    return Decided(actor, entry, event_type, effect, before, now)


def write(session: Session, decided: Decided, *, device_id: uuid.UUID | None = None) -> None:
    """Write a decided event: the hazard, its photo references, its history and change rows."""
    entry, effect = decided.entry, decided.effect
    session.flush()
    _reference(session, entry, effect.data.get("photos", []))
    history.record(
        session,
        entry,
        decided.event_type,
        actor=decided.actor,
        before=decided.before,
        now=decided.now,
        reason=effect.reason,
        data=effect.data,
        device_id=device_id,
    )


def _authorise(actor: User, event_type: str) -> None:
    allowed = states.ROLES[event_type]
    if actor.role not in allowed:
        names = " or ".join(role.value for role in allowed)
        raise errors.EventForbidden(
            f"Only a {names} may record '{event_type}' "
            f"({states.EVENT_LABELS[event_type]}); you are signed in as {actor.role.value}."
        )


def _only_fields(event_type: str, args: Mapping[str, Any]) -> None:
    extra = sorted(set(args) - states.FIELDS[event_type] - {"type"})
    if extra:
        raise errors.FieldNotAllowed(
            f"'{event_type}' takes {', '.join(sorted(states.FIELDS[event_type]))}; "
            f"leave out {', '.join(extra)}.",
            errors={name: ["Not a field of this event type."] for name in extra},
        )


def _wrong_state(entry: Hazard, event_type: str) -> errors.WrongState:
    label = states.STATE_LABELS[entry.state]
    allowed = "、".join(states.STATE_LABELS[s] for s in states.ALLOWED_IN[event_type])
    return errors.STATE_ERRORS[entry.state](
        f"Hazard {entry.number} is {label} ({entry.state.value}); '{event_type}' is possible "
        f"only when it is {allowed}.",
        errors={"state": entry.state.value},
    )


# --- the events ----------------------------------------------------------------------------------


def _rectification_reported(r: Request) -> Effect:
    measures = _text(r.args.get("measures"))
    if not measures:
        raise errors.MeasuresRequired(
            "Say what was done (整改措施) in 'measures'.", errors={"measures": ["Required."]}
        )
    completed = bool(r.args.get("completed", True))
    photos = _photos(r, "photos")
    values: dict[str, Any] = {"measures": measures}
    if "funds" in r.args:
        values["funds_yuan"] = r.args["funds"]
    if "responsible_person" in r.args:
        values["responsible_person"] = _text(r.args["responsible_person"])
    if completed and photos:
        values["after_photos"] = _merge(r.entry.after_photos, photos)
    plan = _plan(r, measures)
    if plan is not None:
        values["plan"] = plan
    data = {"completed": completed, **_given(r.args, "measures", "funds", "responsible_person")}
    data.update(_given(r.args, "plan_deadline", "emergency_plan"))
    return Effect(values, {**data, **_given(r.args, "photos", "comment")})


PLAN_FIELDS = {
    "responsible_person": "责任人",
    "measures": "措施",
    "funds": "资金",
    "plan_deadline": "期限",
    "emergency_plan": "应急预案",
}


def _plan(r: Request, measures: str) -> dict[str, Any] | None:
    """A major's 一患一策 (seed 001 (五)): 责任人, 措施, 资金, 期限 and 应急预案, complete before
    its rectification starts (整改中). Recorded once, with the first report of a major."""
    entry = r.entry
    if entry.level != "major" or entry.plan is not None:
        return None
    plan = {
        "responsible_person": _text(r.args.get("responsible_person")) or entry.responsible_person,
        "measures": measures,
        "funds": r.args.get("funds", entry.funds_yuan),
        "plan_deadline": r.args.get("plan_deadline") or entry.deadline,
        "emergency_plan": _text(r.args.get("emergency_plan")),
    }
    missing = [key for key, value in plan.items() if value is None]
    if missing:
        raise errors.PlanRequired(
            f"Hazard {entry.number} is a major hazard (重大事故隐患): its 一患一策 plan needs "
            f"{', '.join(f'{k} ({PLAN_FIELDS[k]})' for k in missing)} before rectification "
            "starts (整改中). Send them with this report.",
            errors={key: ["Required for a major hazard's plan (一患一策)."] for key in missing},
        )
    plan["plan_deadline"] = plan["plan_deadline"].isoformat()
    return plan


def _reinspected(r: Request) -> Effect:
    passed = r.args.get("passed")
    if not isinstance(passed, bool):
        raise errors.PassedRequired(
            "Say whether the re-inspection (复查) passed: 'passed' true or false.",
            errors={"passed": ["Required."]},
        )
    comment = _text(r.args.get("comment"))
    if not passed and not comment:
        raise errors.CommentRequired(
            "A failed re-inspection needs a 'comment' saying what is still wrong.",
            errors={"comment": ["Required when passed is false."]},
        )
    if passed:
        _not_own_rectification(r)
    photos = _photos(r, "photos")
    values: dict[str, Any] = {}
    if passed:
        values["rectified_at"] = r.now
        values["after_photos"] = _merge(r.entry.after_photos, photos)
    data = _given(r.args, "photos", "comment", "reinspected_at")
    return Effect(values, {"passed": passed, **data})


def _not_own_rectification(r: Request) -> None:
    """验收 is someone else's: whoever reported the rectification does not pass it."""
    reporter = r.session.scalar(
        select(HazardEvent.actor_id)
        .where(HazardEvent.hazard_id == r.entry.id, HazardEvent.type == "rectification_reported")
        .order_by(HazardEvent.id.desc())
        .limit(1)
    )
    if reporter is not None and reporter == r.actor.id:
        raise errors.OwnRectification(
            f"You reported the rectification of hazard {r.entry.number}, so someone else must "
            "re-inspect it (复查) before it passes. A failed re-inspection you may record."
        )


def _closed(r: Request) -> Effect:
    photos = _photos(r, "photos")
    values: dict[str, Any] = {
        "closed_at": r.now,
        "after_photos": _merge(r.entry.after_photos, photos),
    }
    data = _given(r.args, "photos", "comment")
    if r.entry.listed_unit_id is not None:  # 摘牌: the listing ends with the close-out
        values["delisted_on"] = r.today
        data["delisted_on"] = r.today
    return Effect(values, data)


def _listing_unit_only(r: Request, what: str) -> None:
    entry = r.entry
    if entry.listed_unit_id is not None and r.actor.unit_id != entry.listed_unit_id:
        unit = r.session.get_one(Unit, entry.listed_unit_id)
        raise errors.ListingUnitOnly(
            f"Hazard {entry.number} is under listed supervision (挂牌督办) by {unit.name}; only "
            f"a supervisor of that unit can {what}."
        )


def _closed_after_state(r: Request, effect: Effect) -> None:
    entry = r.entry
    _listing_unit_only(r, "close it (销号)")
    if entry.level == "major" and not _available(r, effect.values["after_photos"]):
        raise errors.AfterPhotosRequired(
            f"Hazard {entry.number} is a major hazard (重大事故隐患): closing it needs photos of "
            "the rectified site. Upload them and send their SHA-256 in 'photos'.",
            errors={"photos": ["At least one uploaded after photo is required."]},
        )


def _listed(r: Request) -> Effect:
    listed_on = r.args.get("listed_on") or r.today
    if listed_on > r.today:
        raise errors.ListedOnInFuture(
            f"'listed_on' {listed_on} is in the future; give the date it was listed.",
            errors={"listed_on": ["Must not be in the future."]},
        )
    unit_id = r.args.get("unit_id") or r.actor.unit_id
    unit = r.session.get(Unit, unit_id)
    own = r.session.get_one(Unit, r.entry.unit_id)
    if unit is None or not own.path.startswith(unit.path):
        raise errors.ListingUnitInvalid(
            "The listing unit must be the hazard's own unit or a unit above it.",
            errors={"unit_id": ["Not the hazard's unit or one above it."]},
        )
    requirements, deadline = _text(r.args.get("requirements")), r.args.get("deadline")
    missing = [n for n, v in (("requirements", requirements), ("deadline", deadline)) if not v]
    if missing:
        raise errors.ListingFieldsRequired(
            "挂牌督办 needs its 督办要求 ('requirements') and 期限 ('deadline').",
            errors={name: ["Required."] for name in missing},
        )
    values: dict[str, Any] = {
        "listed_unit_id": unit.id,
        "listed_on": listed_on,
        "listing_level": "department" if unit.kind is UnitKind.department else "government",
        "listing_requirements": requirements,
        "listing_deadline": deadline,
    }
    return Effect(values, {**values, **_given(r.args, "comment")})


def _listed_after_state(r: Request, effect: Effect) -> None:
    if r.entry.level != "major":
        raise errors.NotMajor(
            f"Hazard {r.entry.number} is a general hazard (一般隐患); only a major hazard "
            "(重大事故隐患) can be under listed supervision (挂牌督办)."
        )
    if r.entry.listed_unit_id is not None:
        raise errors.AlreadyListed(f"Hazard {r.entry.number} is already listed (挂牌督办).")
    # The 文号 is drawn last, once nothing can refuse the event: numbers are not wasted.
    unit = r.session.get_one(Unit, effect.values["listed_unit_id"])
    number = numbering.listing_number(r.session, unit, effect.values["listed_on"].year)
    effect.values["listing_number"] = effect.data["listing_number"] = number


def _extended(r: Request) -> Effect:
    reason = _reason(r)
    deadline = r.args.get("deadline")
    if deadline is None:
        raise errors.DeadlineRequired(
            "An extension (延期) needs the new 'deadline'.", errors={"deadline": ["Required."]}
        )
    if deadline <= r.today:
        raise errors.DeadlineInPast(
            f"The new deadline {deadline} is not in the future; give a date after {r.today}.",
            errors={"deadline": [f"Must be after {r.today}."]},
        )
    current = r.entry.deadline
    if current is not None and deadline <= current:  # an earlier overdue stays: queries.py
        raise errors.DeadlineNotLater(
            f"The new deadline {deadline} is not later than the current one, {current}.",
            errors={"deadline": [f"Must be after {current}."]},
        )
    return Effect(
        {"deadline": deadline}, {"deadline_before": current, "deadline": deadline}, reason
    )


def _extended_after_state(r: Request, _effect: Effect) -> None:
    _listing_unit_only(r, "extend its deadline (延期)")


def _voided(r: Request) -> Effect:
    return Effect({}, {}, _reason(r))


def _reclassified(r: Request) -> Effect:
    """重大 ⇄ 一般 with the clause and the reason, kept in the history (not a void)."""
    entry, level, reason = r.entry, r.args.get("level"), _reason(r)
    # A major written before the catalogue with no clause (docs/ledger.md §3) is given one by
    # "reclassifying" it to major with the clause it meets.
    uncited = level == "major" and entry.level == "major" and entry.clause is None
    if level not in ("major", "general") or (level == entry.level and not uncited):
        raise errors.LevelUnchanged(
            f"Hazard {entry.number} is {entry.level}; 'level' must be the other level "
            "(major or general).",
            errors={"level": ["The new level: major or general, not the current one."]},
        )
    clause = _reclassified_clause(r) if level == "major" else None
    values: dict[str, Any] = {
        "level": level,
        "clause": clause.code if clause else None,
        "rule_label": clause.label if clause else None,
        "rule": entry.rule if level == "major" else None,
    }
    data: dict[str, Any] = {
        "level_before": entry.level,
        "level": level,
        "clause_before": entry.clause,
        "clause": values["clause"],
    }
    if level == "general" and entry.listed_unit_id is not None:
        values["delisted_on"] = data["delisted_on"] = r.today  # no longer a listed major
    return Effect(values, data, reason)


def _reclassified_clause(r: Request) -> standards.Clause:
    code = r.args.get("clause")
    clause = standards.shipped().get(code) if isinstance(code, str) else None
    if clause is None:
        raise errors.ClauseRequired(
            "A major hazard (重大事故隐患) cites its 判定标准 clause: give 'clause', a code from "
            "GET /api/v1/standards.",
            errors={"clause": ["Required: a clause of the catalogue."]},
        )
    problem = standards.shipped().problem(clause, r.entry.found_on, r.entry.sector)
    if problem:
        raise errors.ClauseNotApplicable(problem, errors={"clause": [problem]})
    return clause


def _reclassified_after_state(r: Request, _effect: Effect) -> None:
    _listing_unit_only(r, "reclassify it (重新定级)")


def _received(r: Request) -> Effect:
    """接报: when and how the department received the enterprise's own report (企业自查)."""
    channel = _text(r.args.get("channel"))
    if not channel:
        raise errors.ChannelRequired(
            "Say how the report was received (接报方式) in 'channel', e.g. 系统直报, 书面报告.",
            errors={"channel": ["Required."]},
        )
    received_at = r.args.get("received_at") or r.now
    if received_at > r.now:
        raise errors.DeadlineInPast(
            "'received_at' is in the future; give when the report was received.",
            errors={"received_at": ["Must not be in the future."]},
        )
    values = {"reported_at": received_at, "report_channel": channel}
    return Effect(values, {"received_at": received_at, "channel": channel})


def _received_after_state(r: Request, _effect: Effect) -> None:
    if r.entry.source is not HazardSource.self_reported:
        raise errors.NotSelfReported(
            f"Hazard {r.entry.number} was found by a department (部门检查); 接报 is for a "
            "hazard the enterprise reported itself (企业自查)."
        )
    if r.entry.reported_at is not None:
        raise errors.AlreadyReceived(
            f"The report of hazard {r.entry.number} was received on "
            f"{states.local_date(r.entry.reported_at)} already."
        )


def _nothing(_r: Request, _effect: Effect) -> None:
    return None


CHECKS: dict[str, Callable[[Request], Effect]] = {
    "rectification_reported": _rectification_reported,
    "reinspected": _reinspected,
    "closed": _closed,
    "listed": _listed,
    "extended": _extended,
    "voided": _voided,
    "reclassified": _reclassified,
    "received": _received,
}
AFTER_STATE_CHECKS: dict[str, Callable[[Request, Effect], None]] = {
    "closed": _closed_after_state,
    "listed": _listed_after_state,
    "extended": _extended_after_state,
    "reclassified": _reclassified_after_state,
    "received": _received_after_state,
}


# --- helpers -------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _reason(r: Request) -> str:
    reason = _text(r.args.get("reason"))
    if not reason:
        raise errors.ReasonRequired(
            f"'{r.args['type']}' needs a 'reason'.", errors={"reason": ["Required."]}
        )
    return reason


def _given(args: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {name: args[name] for name in names if name in args}


def _merge(existing: list[Any], new: list[str]) -> list[str]:
    return list(dict.fromkeys([*existing, *new]))


def _photos(r: Request, name: str) -> list[str]:
    photos = list(dict.fromkeys(r.args.get(name) or []))
    if r.check_photos and photos:
        missing = sorted(set(photos) - _available(r, photos))
        if missing:
            raise errors.PhotosMissing(
                f"{len(missing)} photo(s) have not been uploaded by your unit: upload them "
                "(POST /api/v1/media, then PUT the bytes) and send the event again.",
                errors={name: [f"Not uploaded: {sha}" for sha in missing]},
            )
    return photos


def _available(r: Request, hashes: list[str]) -> set[str]:
    """The photos among `hashes` that the caller's or the hazard's unit has uploaded."""
    found: set[str] = set()
    for unit_id in dict.fromkeys([r.entry.unit_id, r.actor.unit_id]):
        found |= media_records.available(r.session, unit_id, hashes).taken_at.keys()
    return found


def _reference(session: Session, entry: Hazard, photos: list[str]) -> None:
    """Hazard photos belong to the evidence of the hazard's inspection: referenced there, they
    are kept (never garbage-collected) and shown to whoever may see the inspection."""
    if not photos:
        return
    session.execute(
        db.insert(session, InspectionMedia)
        .values(media_records.reference_rows(entry.inspection_id, photos))
        .on_conflict_do_nothing()
    )
