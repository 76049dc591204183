"""Enforcement actions (执法措施) and activities (工作开展情况): create, list, correct, history.

Both resources are the same machinery over one table (docs/records.md); each kind's `detail` is
documented as its own schema, `RecordDetail_<kind>`.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Api, Blueprint

from backend.models import RecordFamily
from backend.services import records, scope
from backend.services.records.content import Content
from backend.services.records.kinds import KINDS, of_family

from .context import current_user, db, login_required
from .schemas import PageArgs, String, page_of


class Validated(ma.Schema):
    """Checked here so OpenAPI shows the fields and a malformed body is a 422 at once, but
    handed on as sent: the service loads it, the same way for HTTP and for tablets."""

    def load(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        super().load(data, *args, **kwargs)
        return data


class RecordInput(Validated, Content):
    unit_id = ma.fields.UUID(metadata={"description": "Defaults to the caller's unit"})


class CorrectionInput(Validated, Content):
    reason = String(
        required=True,
        validate=ma.validate.Length(min=1, max=2000),
        metadata={"description": "Why the record is corrected (kept in its history)"},
    )
    expected_version = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "The version you read; a change since then is 409"},
    )


class RecordOut(ma.Schema):
    id = ma.fields.UUID()
    family = ma.fields.String()
    kind = ma.fields.String()
    kind_label = ma.fields.String(metadata={"description": "As the 调度表 prints it"})
    unit_id = ma.fields.UUID()
    campaign = ma.fields.String()
    occurred_on = ma.fields.String()
    enterprise_id = ma.fields.String(allow_none=True)
    party = ma.fields.Dict(allow_none=True)
    inspection_id = ma.fields.String(allow_none=True)
    hazard_ids = ma.fields.List(ma.fields.String())
    documents = ma.fields.List(ma.fields.Dict())
    photos = ma.fields.List(ma.fields.String())
    note = ma.fields.String(allow_none=True)
    detail = ma.fields.Dict()
    facts = ma.fields.Dict(metadata={"description": "The enterprise as it was at this version"})
    figures = ma.fields.Dict(metadata={"description": "Amounts in 万元, attendee counts…"})
    version = ma.fields.Integer()
    countable = ma.fields.Boolean(metadata={"description": "Counts in the 调度表"})
    flags = ma.fields.List(ma.fields.String(), metadata={"description": "Why it does not count"})
    awaiting_media = ma.fields.List(ma.fields.String())
    created_by = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class Author(ma.Schema):
    id = ma.fields.UUID()
    display_name = ma.fields.String()
    username = ma.fields.String()


class VersionOut(ma.Schema):
    version = ma.fields.Integer()
    content = ma.fields.Dict()
    countable = ma.fields.Boolean()
    flags = ma.fields.List(ma.fields.String())
    reason = ma.fields.String(allow_none=True)
    author = ma.fields.Nested(Author)
    device_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()


class HistoryOut(ma.Schema):
    id = ma.fields.UUID()
    versions = ma.fields.List(ma.fields.Nested(VersionOut))


class KindOut(ma.Schema):
    code = ma.fields.String()
    label = ma.fields.String(metadata={"description": "As the 调度表 prints it"})
    detail_schema = ma.fields.String(metadata={"description": "The OpenAPI schema of `detail`"})
    needs_enterprise = ma.fields.Boolean()
    needs_subject = ma.fields.Boolean(metadata={"description": "An enterprise, or a party"})
    evidence = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Document roles (and photos) it needs to count"},
    )


class RecordQuery(PageArgs):
    kind = String(load_default=None, validate=ma.validate.OneOf(list(KINDS)))
    unit_id = ma.fields.UUID(load_default=None)
    enterprise_id = ma.fields.UUID(load_default=None)
    campaign = String(load_default=None, validate=ma.validate.Length(max=40))
    occurred_from = ma.fields.Date(load_default=None)
    occurred_to = ma.fields.Date(load_default=None)
    countable = ma.fields.Boolean(load_default=None)


def _page(page: Any) -> dict[str, Any]:
    return {
        "items": [records.view(db(), r) for r in page.items],
        "next_cursor": page.next_cursor,
    }


def make_blueprint(family: RecordFamily, name: str, url: str, description: str) -> Blueprint:
    kinds = ", ".join(f"{k.code} ({k.label})" for k in of_family(family).values())
    blp = Blueprint(name, __name__, url_prefix=url, description=f"{description}. Kinds: {kinds}")
    page = page_of(RecordOut, f"{family.value.title()}Page")

    @blp.route("")
    class Collection(MethodView):
        @login_required()
        @blp.arguments(RecordQuery, location="query")
        @blp.response(200, page)
        def get(self, args: dict[str, Any]) -> dict[str, Any]:
            """List the records of the caller's units, with filters"""
            return _page(records.search(db(), current_user(), family, **args))

        @login_required()
        @blp.arguments(RecordInput)
        @blp.response(201, RecordOut)
        @blp.alt_response(422, description="validation.invalid or the rule's code (record.*)")
        def post(self, args: dict[str, Any]) -> dict[str, Any]:
            """Record one, with its evidence; `detail` follows RecordDetail_<kind>"""
            user = current_user()
            values = dict(args)
            unit_id = values.pop("unit_id", None)
            unit = scope.get_visible_unit(db(), user, uuid.UUID(unit_id)) if unit_id else None
            return records.view(db(), records.create(db(), user, family, values, unit=unit))

    @blp.route("/kinds")
    class Kinds(MethodView):
        @login_required()
        @blp.response(200, KindOut(many=True))
        def get(self) -> list[dict[str, Any]]:
            """The kinds of this family: label as printed, what they are against, evidence"""
            return [
                {
                    "code": k.code,
                    "label": k.label,
                    "detail_schema": f"RecordDetail_{k.code}",
                    "needs_enterprise": k.needs_enterprise,
                    "needs_subject": k.needs_subject,
                    "evidence": list(k.evidence),
                }
                for k in of_family(family).values()
            ]

    @blp.route("/<uuid:record_id>")
    class One(MethodView):
        @login_required()
        @blp.response(200, RecordOut)
        def get(self, record_id: uuid.UUID) -> dict[str, Any]:
            """One record as of its current version"""
            record = records.get_visible(db(), current_user(), record_id, family)
            return records.view(db(), record)

    @blp.route("/<uuid:record_id>/corrections")
    class Corrections(MethodView):
        @login_required()
        @blp.arguments(CorrectionInput(partial=("kind", "occurred_on", "detail")))
        @blp.response(201, RecordOut)
        @blp.alt_response(409, description="record.stale_version")
        def post(self, args: dict[str, Any], record_id: uuid.UUID) -> dict[str, Any]:
            """Correct a record: a new version with the reason; nothing is overwritten"""
            user = current_user()
            values = dict(args)
            reason, expected = values.pop("reason"), values.pop("expected_version")
            record = records.get_visible(db(), user, record_id, family)
            corrected = records.correct(
                db(), user, record, values, reason=reason, expected_version=expected
            )
            return records.view(db(), corrected)

    @blp.route("/<uuid:record_id>/history")
    class History(MethodView):
        @login_required()
        @blp.response(200, HistoryOut)
        def get(self, record_id: uuid.UUID) -> dict[str, Any]:
            """Every version: what it said, who made it, when and why"""
            record = records.get_visible(db(), current_user(), record_id, family)
            return {"id": record.id, "versions": records.history(db(), record)}

    return blp


enforcement_blp = make_blueprint(
    RecordFamily.enforcement,
    "enforcement_actions",
    "/api/v1/enforcement-actions",
    "Enforcement actions (执法措施)",
)
activities_blp = make_blueprint(
    RecordFamily.activity,
    "activities",
    "/api/v1/activities",
    "Activities a unit records (督导检查, 宣讲, 帮扶指导, 专题培训 …)",
)


def register(api: Api) -> None:
    api.register_blueprint(enforcement_blp)
    api.register_blueprint(activities_blp)
    for code, kind in KINDS.items():
        api.spec.components.schema(f"RecordDetail_{code}", schema=kind.schema)
