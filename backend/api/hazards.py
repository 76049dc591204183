"""The hazard ledger (隐患台账): list, export, one entry with its history, and its closed loop."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from backend.domain.sectors import SECTORS
from backend.models import HazardSource, HazardState
from backend.services.ledger import events, export, queries, render, states

from .context import current_user, db, login_required
from .parsing import Blueprint
from .schemas import PageArgs, String, page_of

blp = Blueprint(
    "hazards",
    __name__,
    url_prefix="/api/v1/hazards",
    description="The hazard ledger and its closed loop (docs/ledger.md)",
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = ma.validate.Length(max=4000)
SHA256 = ma.validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a lowercase hex SHA-256.")
# Documented by hand: the JSON page or, with format=xlsx, the spreadsheet.
EXPORT_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HazardPage"}},
    XLSX: {"schema": {"type": "string", "format": "binary"}},
}
STATES = "; ".join(f"{s.value}: {label}" for s, label in states.STATE_LABELS.items())


class HazardQuery(PageArgs):
    unit_id = ma.fields.UUID(load_default=None, metadata={"description": "With its sub-units"})
    enterprise_id = ma.fields.UUID(load_default=None)
    sector = String(load_default=None, validate=ma.validate.OneOf(list(SECTORS)))
    level = String(load_default=None, validate=ma.validate.OneOf(["general", "major"]))
    source = ma.fields.Enum(
        HazardSource,
        by_value=True,
        load_default=None,
        metadata={"description": "企业自查/部门检查"},
    )
    state = ma.fields.List(
        ma.fields.Enum(HazardState, by_value=True),
        load_default=list,
        metadata={"description": f"Repeat for several. {STATES}"},
    )
    listed = ma.fields.Boolean(load_default=None, metadata={"description": "挂牌督办"})
    overdue = ma.fields.Date(
        load_default=None,
        metadata={
            "description": "Past the deadline on this date and not rectified (待整改/整改中)"
        },
    )
    deadline_from = ma.fields.Date(load_default=None)
    deadline_to = ma.fields.Date(load_default=None)
    format = String(
        load_default="json",
        validate=ma.validate.OneOf(["json", "xlsx"]),
        metadata={"description": "xlsx: every matching entry as a spreadsheet (no paging)"},
    )


class HazardSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "隐患编号, never reused"})
    unit_id = ma.fields.UUID()
    enterprise_id = ma.fields.UUID()
    inspection_id = ma.fields.UUID()
    finding_id = ma.fields.UUID()
    sector = ma.fields.String()
    source = ma.fields.String(metadata={"description": "self_reported | department"})
    source_label = ma.fields.String(metadata={"description": "企业自查 | 部门检查"})
    level = ma.fields.String(metadata={"description": "general | major"})
    level_label = ma.fields.String()
    rule = ma.fields.String(allow_none=True, metadata={"description": "判定标准 rule code"})
    rule_label = ma.fields.String(allow_none=True)
    clause = ma.fields.String(
        allow_none=True, metadata={"description": "判定标准 clause code; every major has one"}
    )
    findings = ma.fields.List(
        ma.fields.String(), metadata={"description": "The findings it stands for, lead first"}
    )
    override_reason = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    requirement = ma.fields.String(allow_none=True)
    deadline = ma.fields.Date(allow_none=True)
    original_deadline = ma.fields.Date(allow_none=True)
    found_on = ma.fields.Date()
    before_photos = ma.fields.List(ma.fields.String())
    after_photos = ma.fields.List(ma.fields.String())
    confirmed_by = ma.fields.UUID()
    confirmed_at = ma.fields.DateTime()
    state = ma.fields.String(metadata={"description": STATES})
    state_label = ma.fields.String()
    open = ma.fields.Boolean()
    overdue = ma.fields.Boolean(metadata={"description": "As of today (China time)"})
    listed = ma.fields.Boolean()
    listed_unit_id = ma.fields.UUID(allow_none=True)
    listed_on = ma.fields.Date(allow_none=True)
    measures = ma.fields.String(allow_none=True)
    funds_yuan = ma.fields.Integer(allow_none=True)
    responsible_person = ma.fields.String(allow_none=True)
    plan = ma.fields.Dict(allow_none=True, metadata={"description": "一患一策 of a major"})
    listing_number = ma.fields.String(allow_none=True, metadata={"description": "挂牌督办 文号"})
    listing_level = ma.fields.String(
        allow_none=True, metadata={"description": "government | department"}
    )
    listing_level_label = ma.fields.String(allow_none=True)
    listing_requirements = ma.fields.String(allow_none=True, metadata={"description": "督办要求"})
    listing_deadline = ma.fields.Date(allow_none=True, metadata={"description": "督办期限"})
    delisted_on = ma.fields.Date(allow_none=True, metadata={"description": "摘牌"})
    reported_at = ma.fields.DateTime(allow_none=True, metadata={"description": "企业自查 接报"})
    report_channel = ma.fields.String(allow_none=True, metadata={"description": "接报方式"})
    rectified_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    label = ma.fields.String()
    at = ma.fields.DateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    device_id = ma.fields.UUID(allow_none=True)
    state_before = ma.fields.String(allow_none=True)
    state_after = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()


class HazardDetail(HazardSchema):
    history = ma.fields.List(ma.fields.Nested(EventSchema))


class EventRequest(ma.Schema):
    """Only the fields sent reach the service: each event type takes its own (docs/ledger.md)."""

    type = String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": " | ".join(states.EVENTS)},
    )
    completed = ma.fields.Boolean(
        metadata={"description": "rectification_reported: false = a plan, still 整改中"}
    )
    measures = String(validate=TEXT, metadata={"description": "整改措施"})
    funds = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "整改资金, 元"},
    )
    responsible_person = String(validate=ma.validate.Length(max=100))
    passed = ma.fields.Boolean(
        truthy={True}, falsy={False}, metadata={"description": "reinspected: 复查 passed or not"}
    )
    reinspected_at = ma.fields.AwareDateTime(
        metadata={"description": "reinspected: when, by the recording device's clock (evidence)"}
    )
    photos = ma.fields.List(String(validate=SHA256), validate=ma.validate.Length(max=50))
    comment = String(validate=TEXT)
    reason = String(validate=TEXT, metadata={"description": "extended, voided"})
    deadline = ma.fields.Date(
        metadata={"description": "extended: the new 整改时限; listed: the 督办期限"}
    )
    unit_id = ma.fields.UUID(metadata={"description": "listed: the listing unit (default yours)"})
    listed_on = ma.fields.Date(metadata={"description": "listed: default today"})
    requirements = String(validate=TEXT, metadata={"description": "listed: 督办要求"})
    plan_deadline = ma.fields.Date(
        metadata={"description": "rectification_reported: 一患一策 期限 (default the deadline)"}
    )
    emergency_plan = String(
        validate=TEXT, metadata={"description": "rectification_reported: 一患一策 应急预案"}
    )
    level = String(
        validate=ma.validate.OneOf(["general", "major"]),
        metadata={"description": "reclassified: the new level"},
    )
    clause = String(
        validate=ma.validate.Length(max=80),
        metadata={"description": "reclassified to major: the catalogue clause"},
    )
    received_at = ma.fields.AwareDateTime(metadata={"description": "received: 接报时间"})
    channel = String(
        validate=ma.validate.Length(max=40), metadata={"description": "received: 接报方式"}
    )


def _filters(args: dict[str, Any]) -> queries.Filters:
    return queries.Filters(
        unit_id=args["unit_id"],
        enterprise_id=args["enterprise_id"],
        sector=args["sector"],
        level=args["level"],
        source=args["source"],
        state=tuple(args["state"]),
        listed=args["listed"],
        overdue=args["overdue"],
        deadline_from=args["deadline_from"],
        deadline_to=args["deadline_to"],
    )


@blp.route("")
class Hazards(MethodView):
    @login_required()
    @blp.arguments(HazardQuery, location="query")
    @blp.response(200, page_of(HazardSchema, "HazardPage"))
    @blp.doc(responses={"200": {"description": "OK", "content": EXPORT_CONTENT}})
    def get(self, args: dict[str, Any]) -> Any:
        """The ledger of the caller's units, filtered; `format=xlsx` exports it"""
        user, filters = current_user(), _filters(args)
        today = states.today()
        if args["format"] == "xlsx":
            return spreadsheet(export.workbook(db(), user, filters, as_of=today), today)
        page = queries.search(db(), user, filters, limit=args["limit"], cursor=args["cursor"])
        return {
            "items": [render.hazard(h, today) for h in page.items],
            "next_cursor": page.next_cursor,
        }


def spreadsheet(body: bytes, today: Any) -> Response:
    """The ledger export as a download named for the day (the console sends the same)."""
    name = f"隐患台账-{today.isoformat()}.xlsx"
    return Response(
        body,
        mimetype=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=ledger-{today.isoformat()}.xlsx; "
            f"filename*=UTF-8''{quote(name)}"
        },
    )


@blp.route("/<uuid:hazard_id>")
class HazardById(MethodView):
    @login_required()
    @blp.response(200, HazardDetail)
    def get(self, hazard_id: uuid.UUID) -> dict[str, Any]:
        """One ledger entry with its full history"""
        entry = queries.get_visible(db(), current_user(), hazard_id)
        history = [render.event(e) for e in queries.history(db(), entry.id)]
        return {**render.hazard(entry, states.today()), "history": history}


@blp.route("/<uuid:hazard_id>/events")
class HazardEvents(MethodView):
    @login_required()
    @blp.arguments(EventRequest)
    @blp.response(200, HazardDetail)
    @blp.alt_response(403, description="hazard.forbidden, hazard.listing_unit_only")
    @blp.alt_response(404, description="not_found: no such entry, or not in your units")
    @blp.alt_response(409, description="hazard.state_<current state>, hazard.not_major, …")
    @blp.alt_response(422, description="hazard.* input codes (docs/ledger.md)")
    def post(self, args: dict[str, Any], hazard_id: uuid.UUID) -> dict[str, Any]:
        """Record what happened: rectification, re-inspection, close-out, listing, extension…"""
        entry = events.record(db(), current_user(), hazard_id, args)
        history = [render.event(e) for e in queries.history(db(), entry.id)]
        return {**render.hazard(entry, states.today()), "history": history}
