"""Inspections for supervisors: the review queue, one inspection in full, and the decision."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from backend.models import DECISIONS, InspectionStatus
from backend.services import review, review_queue
from sync.inspections import KINDS

from .context import current_user, db, login_required
from .parsing import Blueprint
from .schemas import PageArgs, String, page_of

blp = Blueprint(
    "inspections",
    __name__,
    url_prefix="/api/v1/inspections",
    description="Supervisor review of inspections (docs/ledger.md)",
)

TEXT = ma.validate.Length(max=4000)


class InspectionQuery(PageArgs):
    status = ma.fields.List(
        ma.fields.Enum(InspectionStatus, by_value=True),
        load_default=list,
        metadata={"description": "Repeat for several; e.g. status=submitted for the queue"},
    )
    unit_id = ma.fields.UUID(load_default=None, metadata={"description": "With its sub-units"})
    enterprise_id = ma.fields.UUID(load_default=None)
    inspector_id = ma.fields.UUID(load_default=None)
    kind = String(load_default=None, validate=ma.validate.OneOf(list(KINDS)))
    date_from = ma.fields.Date(
        load_default=None, metadata={"description": "Inspection date (China time), inclusive"}
    )
    date_to = ma.fields.Date(load_default=None, metadata={"description": "Inclusive"})
    has_major = ma.fields.Boolean(
        load_default=None,
        metadata={"description": "A finding claimed, suggested or confirmed major"},
    )
    awaiting_media = ma.fields.Boolean(
        load_default=None, metadata={"description": "Photos or signatures not uploaded yet"}
    )
    has_amendments = ma.fields.Boolean(load_default=None)
    order = String(
        load_default="oldest",
        validate=ma.validate.OneOf(["oldest", "newest"]),
        metadata={"description": "By when the server first stored it; oldest first by default"},
    )


class PersonRef(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String(allow_none=True)


class EnterpriseRef(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String(allow_none=True)
    credit_code = ma.fields.String(allow_none=True)


class ReviewSchema(ma.Schema):
    id = ma.fields.Integer()
    decision = ma.fields.String(metadata={"description": "approve | return | reject"})
    comment = ma.fields.String(allow_none=True)
    reviewer_id = ma.fields.UUID()
    reviewed_at = ma.fields.DateTime()
    inspection_version = ma.fields.Integer()


class InspectionSummary(ma.Schema):
    id = ma.fields.UUID()
    unit_id = ma.fields.UUID()
    enterprise = ma.fields.Nested(EnterpriseRef)
    inspector = ma.fields.Nested(PersonRef)
    kind = ma.fields.String()
    kind_label = ma.fields.String(metadata={"description": "部门检查, 企业自查, …"})
    checklist = ma.fields.Dict()
    status = ma.fields.String()
    version = ma.fields.Integer()
    level = ma.fields.String(allow_none=True, metadata={"description": "What the rules say"})
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    awaiting_media = ma.fields.List(ma.fields.String())
    finding_count = ma.fields.Integer()
    major_finding_count = ma.fields.Integer()
    amendment_count = ma.fields.Integer()
    review = ma.fields.Nested(ReviewSchema, allow_none=True, metadata={"description": "Latest"})


class InspectionDetail(InspectionSummary):
    class Meta:
        exclude = ("finding_count", "major_finding_count", "amendment_count", "review")

    location = ma.fields.Dict(allow_none=True)
    inspectors = ma.fields.List(ma.fields.Dict())
    verdict = ma.fields.Dict(metadata={"description": "defects, matched_rules, level"})
    answers = ma.fields.List(ma.fields.Dict())
    findings = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "claimed_level, suggested_level, suggested_rule, photos, "
            "confirmation (after approval) and hazard (once in the ledger)"
        },
    )
    photos = ma.fields.List(ma.fields.Dict(), metadata={"description": "links and EXIF flags"})
    signatures = ma.fields.List(ma.fields.Dict())
    amendments = ma.fields.List(ma.fields.Dict())
    reviews = ma.fields.List(ma.fields.Nested(ReviewSchema))
    history = ma.fields.List(ma.fields.Dict())


class FindingReview(ma.Schema):
    id = ma.fields.UUID(required=True)
    level = String(required=True, validate=ma.validate.OneOf(["general", "major"]))
    rule = String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=80),
        metadata={"description": "A rule code of the pinned checklist version"},
    )
    clause = String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=80),
        metadata={
            "description": "A clause code of the catalogue (GET /standards); a major needs one, "
            "given here or through its rule"
        },
    )
    override_reason = String(load_default=None, allow_none=True, validate=TEXT)
    deadline = ma.fields.Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "整改时限, if not the finding's"},
    )


class ReviewRequest(ma.Schema):
    decision = String(required=True, validate=ma.validate.OneOf(DECISIONS))
    comment = String(load_default=None, allow_none=True, validate=TEXT)
    findings = ma.fields.List(
        ma.fields.Nested(FindingReview),
        load_default=list,
        validate=ma.validate.Length(max=200),
        metadata={"description": "approve: every finding, once"},
    )


class ReviewResult(ma.Schema):
    id = ma.fields.UUID()
    status = ma.fields.String()
    version = ma.fields.Integer()
    review = ma.fields.Nested(ReviewSchema)
    ledger_job = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "The outbox row that will make the ledger entries (approve)"},
    )


@blp.route("")
class Inspections(MethodView):
    @login_required()
    @blp.arguments(InspectionQuery, location="query")
    @blp.response(200, page_of(InspectionSummary, "InspectionPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """The review queue: inspections of the caller's units, filtered"""
        limit, cursor = args.pop("limit"), args.pop("cursor")
        filters = review_queue.Filters(
            status=tuple(args.pop("status")), newest_first=args.pop("order") == "newest", **args
        )
        return review_queue.search(db(), current_user(), filters, limit=limit, cursor=cursor)


@blp.route("/<uuid:inspection_id>")
class InspectionById(MethodView):
    @login_required()
    @blp.response(200, InspectionDetail)
    def get(self, inspection_id: uuid.UUID) -> dict[str, Any]:
        """One inspection in full: answers, findings, photos, signatures, amendments, history"""
        row = review_queue.get_visible(db(), current_user(), inspection_id)
        return review_queue.detail(db(), row)


@blp.route("/<uuid:inspection_id>/review")
class Review(MethodView):
    @login_required()
    @blp.arguments(ReviewRequest)
    @blp.response(200, ReviewResult)
    @blp.alt_response(403, description="review.forbidden, review.own_inspection")
    @blp.alt_response(
        409, description="review.not_submitted, review.already_approved, review.already_rejected"
    )
    @blp.alt_response(422, description="review.* input codes (docs/ledger.md)")
    def post(self, args: dict[str, Any], inspection_id: uuid.UUID) -> dict[str, Any]:
        """Approve, return or reject a submitted inspection (a supervisor of its unit)"""
        decided = review.decide(db(), current_user(), inspection_id, **args)
        ids = decided.outbox_ids
        return {
            "id": decided.inspection.id,
            "status": decided.inspection.status.value,
            "version": decided.inspection.version,
            "review": review.review_summary(decided.review),
            "ledger_job": ids[0] if ids else None,
        }
