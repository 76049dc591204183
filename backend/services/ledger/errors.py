"""What the ledger refuses. Each class carries its own status and stable code (the API renders
them as they are), and a tablet command that hits one is rejected with the same code."""

from __future__ import annotations

from typing import ClassVar

from backend.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from backend.models import HazardState


class LedgerError(DomainError):
    status: ClassVar[int] = 422
    code: ClassVar[str] = "hazard.invalid"


# --- 409: the hazard's state does not allow it ---------------------------------------------------


class WrongState(Conflict, LedgerError):
    status = 409
    state: ClassVar[HazardState]


class HazardIsPending(WrongState):
    code, state = "hazard.state_pending", HazardState.pending


class HazardIsRectifying(WrongState):
    code, state = "hazard.state_rectifying", HazardState.rectifying


class HazardIsAwaitingReinspection(WrongState):
    code, state = "hazard.state_awaiting_reinspection", HazardState.awaiting_reinspection


class HazardIsRectified(WrongState):
    code, state = "hazard.state_rectified", HazardState.rectified


class HazardIsClosed(WrongState):
    code, state = "hazard.state_closed", HazardState.closed


class HazardIsVoided(WrongState):
    code, state = "hazard.state_voided", HazardState.voided


STATE_ERRORS: dict[HazardState, type[WrongState]] = {
    cls.state: cls
    for cls in (
        HazardIsPending,
        HazardIsRectifying,
        HazardIsAwaitingReinspection,
        HazardIsRectified,
        HazardIsClosed,
        HazardIsVoided,
    )
}


class NotMajor(Conflict, LedgerError):
    status, code = 409, "hazard.not_major"


class AlreadyListed(Conflict, LedgerError):
    status, code = 409, "hazard.already_listed"


# --- 403: the caller may not do it ---------------------------------------------------------------


class EventForbidden(PermissionDenied, LedgerError):
    status, code = 403, "hazard.forbidden"


class ListingUnitOnly(PermissionDenied, LedgerError):
    status, code = 403, "hazard.listing_unit_only"


class OwnRectification(PermissionDenied, LedgerError):
    status, code = 403, "hazard.own_rectification"


class NotSelfReported(Conflict, LedgerError):
    status, code = 409, "hazard.not_self_reported"


class AlreadyReceived(Conflict, LedgerError):
    status, code = 409, "hazard.already_received"


# --- 422: the event itself is wrong --------------------------------------------------------------


class BadEvent(InvalidInput, LedgerError):
    status = 422


class UnknownEvent(BadEvent):
    code = "hazard.event_unknown"


class FieldNotAllowed(BadEvent):
    code = "hazard.field_not_allowed"


class ReasonRequired(BadEvent):
    code = "hazard.reason_required"


class CommentRequired(BadEvent):
    code = "hazard.comment_required"


class MeasuresRequired(BadEvent):
    code = "hazard.measures_required"


class PassedRequired(BadEvent):
    code = "hazard.passed_required"


class DeadlineRequired(BadEvent):
    code = "hazard.deadline_required"


class DeadlineInPast(BadEvent):
    code = "hazard.deadline_in_past"


class DeadlineNotLater(BadEvent):
    code = "hazard.deadline_not_later"


class ListedOnInFuture(BadEvent):
    code = "hazard.listed_on_in_future"


class ListingUnitInvalid(BadEvent):
    code = "hazard.listing_unit_invalid"


class PhotosMissing(BadEvent):
    code = "hazard.photos_missing"


class AfterPhotosRequired(BadEvent):
    code = "hazard.after_photos_required"


class PlanRequired(BadEvent):
    code = "hazard.plan_required"


class ListingFieldsRequired(BadEvent):
    code = "hazard.listing_fields_required"


class LevelUnchanged(BadEvent):
    code = "hazard.level_unchanged"


class ClauseRequired(BadEvent):
    code = "hazard.clause_required"


class ClauseNotApplicable(BadEvent):
    code = "hazard.clause_not_applicable"


class ChannelRequired(BadEvent):
    code = "hazard.channel_required"
