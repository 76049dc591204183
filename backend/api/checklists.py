"""Checklists: the catalogue, immutable versions with strong ETags, and rule evaluation."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import marshmallow as ma
from flask import jsonify, request
from flask.views import MethodView
from werkzeug.wrappers import Response

from backend.models import ChecklistVersion
from backend.services import checklists

from .context import db, login_required
from .parsing import Blueprint
from .schemas import String

blp = Blueprint(
    "checklists",
    __name__,
    url_prefix="/api/v1/checklists",
    description="Versioned checklists (检查事项清单) and major-hazard rules",
)

ANSWERS = ("yes", "no", "na")


class ItemSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable item code"})
    seq = ma.fields.String(metadata={"description": "序号 as printed"})
    category = ma.fields.String(metadata={"description": "检查类别"})
    topic = ma.fields.String(
        allow_none=True, metadata={"description": "重点检查事项, where printed apart from the text"}
    )
    text = ma.fields.String(metadata={"description": "The question, exactly as printed"})
    detail = ma.fields.String(allow_none=True, metadata={"description": "检查内容"})
    defect_answer = ma.fields.String(metadata={"description": "Which answer means a defect"})
    polarity_reason = ma.fields.String()
    checks = ma.fields.List(
        ma.fields.Nested(lambda: ItemSchema()),
        metadata={"description": "Sub-checks, where one printed item asks several questions"},
    )
    not_major = ma.fields.String(
        metadata={"description": "Why this defect alone is not 重大 (only where it matters)"}
    )


class FactSchema(ma.Schema):
    code = ma.fields.String()
    text = ma.fields.String(metadata={"description": "What the inspector records (是 = holds)"})
    source = ma.fields.String(metadata={"description": "Where the wording is printed"})
    about = ma.fields.String(allow_none=True, metadata={"description": "The item it qualifies"})


class RecordFieldSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String(metadata={"description": "As printed (检查项目, 项目经理, …)"})


class RuleSchema(ma.Schema):
    code = ma.fields.String()
    source = ma.fields.Dict(metadata={"description": "standard, version, article, item, title"})
    text = ma.fields.String()
    expr = ma.fields.Raw(metadata={"description": "all / any / not over item codes"})


class VersionSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    version = ma.fields.String(metadata={"description": "Content-derived version id"})
    label = ma.fields.String()
    sector = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(ItemSchema))
    rules = ma.fields.List(ma.fields.Nested(RuleSchema))
    facts = ma.fields.List(
        ma.fields.Nested(FactSchema),
        metadata={"description": "Facts a clause needs that the sheet does not print"},
    )
    generic = ma.fields.Boolean(
        metadata={"description": "No printed items: hazards found in any sector (general)"}
    )
    record_fields = ma.fields.List(
        ma.fields.Nested(RecordFieldSchema),
        metadata={"description": "Fields printed for the record as a whole (附件2 header)"},
    )
    published_at = ma.fields.DateTime()


class SummarySchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    sector = ma.fields.String()
    version = ma.fields.String()
    label = ma.fields.String()
    item_count = ma.fields.Integer(metadata={"description": "Printed items (序号)"})
    published_at = ma.fields.DateTime()


class CatalogueSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SummarySchema))


class AnswerSchema(ma.Schema):
    item = String(required=True, validate=ma.validate.Length(min=1, max=80))
    answer = String(required=True, validate=ma.validate.OneOf(ANSWERS))


class EvaluateRequest(ma.Schema):
    answers = ma.fields.List(
        ma.fields.Nested(AnswerSchema), required=True, validate=ma.validate.Length(max=1000)
    )


class EvaluateResponse(ma.Schema):
    defects = ma.fields.List(ma.fields.String())
    matched_rules = ma.fields.List(ma.fields.Nested(RuleSchema))
    level = ma.fields.String(allow_none=True, metadata={"description": "major, general or null"})
    facts = ma.fields.List(ma.fields.String(), metadata={"description": "Facts answered 是"})


def summary(row: ChecklistVersion) -> dict[str, Any]:
    return {
        "code": row.checklist_code,
        "title": row.title,
        "sector": row.content["sector"],
        "version": row.version,
        "label": row.label,
        "item_count": len(row.content["items"]),
        "published_at": row.published_at,
    }


def full(row: ChecklistVersion) -> dict[str, Any]:
    return {**row.content, "published_at": row.published_at}


def conditional(payload: dict[str, Any], etag: str) -> Response:
    """A JSON reply with a strong ETag; 304 when the client already holds it."""
    response = jsonify(payload)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@blp.route("")
class Catalogue(MethodView):
    @login_required()
    @blp.response(200, CatalogueSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self) -> Response:
        """The checklists with their latest versions"""
        payload = CatalogueSchema().dump(
            {"items": [summary(r) for r in checklists.latest_versions(db())]}
        )
        body = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return conditional(payload, hashlib.sha256(body).hexdigest()[:32])


@blp.route("/<code>")
class Latest(MethodView):
    @login_required()
    @blp.response(200, VersionSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self, code: str) -> Response:
        """The latest version of one checklist"""
        row = checklists.versions_of(db(), code)[-1]
        return conditional(VersionSchema().dump(full(row)), row.version)


@blp.route("/<code>/versions")
class Versions(MethodView):
    @login_required()
    @blp.response(200, CatalogueSchema)
    def get(self, code: str) -> dict[str, Any]:
        """Every published version of one checklist, oldest first"""
        return {"items": [summary(r) for r in checklists.versions_of(db(), code)]}


@blp.route("/<code>/versions/<version>")
class Version(MethodView):
    @login_required()
    @blp.response(200, VersionSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    def get(self, code: str, version: str) -> Response:
        """One published version; it never changes"""
        row = checklists.get_version(db(), code, version)
        return conditional(VersionSchema().dump(full(row)), row.version)


@blp.route("/<code>/versions/<version>/evaluate")
class Evaluate(MethodView):
    @login_required()
    @blp.arguments(EvaluateRequest)
    @blp.response(200, EvaluateResponse)
    def post(self, args: dict[str, Any], code: str, version: str) -> dict[str, Any]:
        """The verdict the server would give these answers: defects, matched rules and level"""
        row = checklists.get_version(db(), code, version)
        pairs = [(a["item"], a["answer"]) for a in args["answers"]]
        return checklists.evaluate(row, pairs).to_dict()
