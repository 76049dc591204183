"""Enterprises (被检查单位), scoped to units."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from backend.domain.sectors import SECTORS
from backend.models import ENTITY_TYPE_LABELS, Enterprise, EntityType
from backend.services import enterprises, scope

from .context import current_user, db, login_required
from .parsing import Blueprint
from .schemas import PageArgs, String, page_of

blp = Blueprint(
    "enterprises",
    __name__,
    url_prefix="/api/v1/enterprises",
    description="Inspected businesses (被检查单位)",
)

SECTOR = ma.validate.OneOf(list(SECTORS))


class EnterpriseSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    unit_id = ma.fields.UUID(metadata={"description": "Defaults to the caller's unit"})
    name = String(required=True, validate=ma.validate.Length(min=1, max=200))
    credit_code = String(
        allow_none=True,
        # Loose: the service checks the 18 characters after trimming and upper-casing.
        validate=ma.validate.Length(max=40),
        metadata={"description": "统一社会信用代码 (GB 32100)"},
    )
    sector = String(
        required=True,
        validate=SECTOR,
        metadata={"description": "; ".join(f"{k}: {v}" for k, v in SECTORS.items())},
    )
    address = String(allow_none=True, validate=ma.validate.Length(max=300))
    contact_name = String(allow_none=True, validate=ma.validate.Length(max=100))
    contact_phone = String(allow_none=True, validate=ma.validate.Length(max=40))
    entity_type = ma.fields.Enum(
        EntityType,
        metadata={
            "description": "填表说明 3: "
            + "; ".join(f"{k.value}: {v}" for k, v in ENTITY_TYPE_LABELS.items())
            + ". Default enterprise"
        },
    )
    key_enterprise = ma.fields.Boolean(metadata={"description": "重点企业"})
    town_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "The town (镇街 unit) it lies in"}
    )
    version = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)


class EnterpriseUpdate(EnterpriseSchema):
    class Meta:
        exclude = ("unit_id",)

    expected_version = ma.fields.Integer(
        load_only=True,
        load_default=None,
        strict=True,
        validate=ma.validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The version you read; a change since then is refused with 409"},
    )


class EnterpriseQuery(PageArgs):
    q = String(
        load_default=None,
        validate=ma.validate.Length(max=100),
        metadata={"description": "Name, address or exact credit code"},
    )
    sector = String(load_default=None, validate=SECTOR)
    unit_id = ma.fields.UUID(load_default=None)


@blp.route("")
class Enterprises(MethodView):
    @login_required()
    @blp.arguments(EnterpriseQuery, location="query")
    @blp.response(200, page_of(EnterpriseSchema, "EnterprisePage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Search the enterprises of the caller's units, by name"""
        return enterprises.search(db(), current_user(), **args)

    @login_required()
    @blp.arguments(EnterpriseSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, args: dict[str, Any]) -> Enterprise:
        """Register an enterprise in the caller's unit (an admin may name a unit below theirs)"""
        user = current_user()
        unit = scope.get_visible_unit(db(), user, args.pop("unit_id", user.unit_id))
        return enterprises.create(db(), user, unit, args)


@blp.route("/<uuid:enterprise_id>")
class EnterpriseById(MethodView):
    @login_required()
    @blp.response(200, EnterpriseSchema)
    def get(self, enterprise_id: uuid.UUID) -> Enterprise:
        """One enterprise"""
        return enterprises.get_visible(db(), current_user(), enterprise_id)

    @login_required()
    @blp.arguments(EnterpriseUpdate(partial=True))
    @blp.response(200, EnterpriseSchema)
    def patch(self, args: dict[str, Any], enterprise_id: uuid.UUID) -> Enterprise:
        """Change an enterprise's details"""
        enterprise = enterprises.get_visible(db(), current_user(), enterprise_id)
        expected = args.pop("expected_version", None)
        return enterprises.update(db(), current_user(), enterprise, args, expected_version=expected)
