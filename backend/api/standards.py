"""The clause catalogue: the 判定标准 clauses a 重大事故隐患 cites (docs/standards.md)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.errors import NotFound
from checklists import standards

from .context import login_required

blp = Blueprint(
    "standards",
    __name__,
    url_prefix="/api/v1/standards",
    description="Determination standards (判定标准) and their clauses",
)


class StandardSchema(ma.Schema):
    code = ma.fields.String()
    title = ma.fields.String()
    number = ma.fields.String()
    issuer = ma.fields.String()
    effective_from = ma.fields.String(metadata={"description": "In force from (YYYY-MM-DD)"})
    effective_to = ma.fields.String(allow_none=True)
    dates_inferred = ma.fields.Boolean(metadata={"description": "Dates not verified"})
    scope = ma.fields.String(metadata={"description": "Whom it binds, as it says"})
    sectors = ma.fields.List(ma.fields.String())


class ClauseSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "What a review's 'clause' names"})
    label = ma.fields.String(metadata={"description": "《…》第十三条（一）"})
    article = ma.fields.String()
    item = ma.fields.String(allow_none=True)
    lead = ma.fields.String(allow_none=True)
    text = ma.fields.String(metadata={"description": "As printed"})
    article_inferred = ma.fields.Boolean()
    standard = ma.fields.Nested(StandardSchema)


class ClauseList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClauseSchema))


@blp.route("")
class Clauses(MethodView):
    @login_required()
    @blp.response(200, ClauseList)
    def get(self) -> dict[str, Any]:
        """Every clause of every standard in the catalogue"""
        return {"items": [c.to_dict() for c in standards.shipped().clauses.values()]}


@blp.route("/<code>")
class ClauseByCode(MethodView):
    @login_required()
    @blp.response(200, ClauseSchema)
    def get(self, code: str) -> dict[str, Any]:
        """One clause"""
        clause = standards.shipped().get(code)
        if clause is None:
            raise NotFound(f"There is no clause {code!r}. GET /api/v1/standards lists them.")
        return clause.to_dict()
