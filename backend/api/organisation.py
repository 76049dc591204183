"""Units, users and devices: the admin API."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView

from backend.models import Device, Role, Unit, UnitKind, User
from backend.services import organisation, scope

from .context import current_user, db, login_required
from .parsing import Blueprint
from .schemas import PageArgs, String, page_of

blp = Blueprint(
    "organisation", __name__, url_prefix="/api/v1", description="Units, users and devices (admin)"
)

NAME = ma.validate.Length(min=1, max=200)


class UnitSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = String(required=True, validate=NAME)
    kind = ma.fields.Enum(UnitKind, by_value=True, required=True)
    parent_id = ma.fields.UUID(allow_none=True)


class UnitCreate(UnitSchema):
    parent_id = ma.fields.UUID(
        required=True,
        metadata={"description": "A district; top-level units are made with `anjian init`"},
    )


class UnitUpdate(ma.Schema):
    name = String(required=True, validate=NAME)


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    username = String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9_.-]{2,64}$", error="Use 2-64 letters, digits, '_', '.' or '-'."
        ),
    )
    display_name = String(required=True, validate=ma.validate.Length(min=1, max=100))
    role = ma.fields.Enum(Role, by_value=True, required=True)
    unit_id = ma.fields.UUID(required=True)
    active = ma.fields.Boolean(dump_only=True)


class UserCreate(UserSchema):
    password = String(required=True, load_only=True, validate=ma.validate.Length(max=256))


class UserUpdate(ma.Schema):
    display_name = String(validate=ma.validate.Length(min=1, max=100))
    role = ma.fields.Enum(Role, by_value=True)
    unit_id = ma.fields.UUID()
    active = ma.fields.Boolean()
    password = String(
        load_only=True,
        validate=ma.validate.Length(max=256),
        metadata={"description": "An admin's reset of another user's password"},
    )


class UserQuery(PageArgs):
    unit_id = ma.fields.UUID(load_default=None)


class DeviceSchema(ma.Schema):
    id = ma.fields.UUID()
    user_id = ma.fields.UUID()
    platform = ma.fields.String(allow_none=True)
    app_version = ma.fields.String(allow_none=True)
    registered_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class RevokeRequest(ma.Schema):
    reason = String(required=True, validate=ma.validate.Length(min=1, max=2000))


@blp.route("/units")
class Units(MethodView):
    @login_required()
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(UnitSchema, "UnitPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Units the caller may see (an admin: their unit and every unit below it)"""
        return organisation.list_units(db(), current_user(), **args)

    @login_required(Role.admin)
    @blp.arguments(UnitCreate)
    @blp.response(201, UnitSchema)
    def post(self, args: dict[str, Any]) -> Unit:
        """Create a town/street office or a department under a district (admin)"""
        return organisation.add_unit(db(), current_user(), **args)


@blp.route("/units/<uuid:unit_id>")
class UnitById(MethodView):
    @login_required()
    @blp.response(200, UnitSchema)
    def get(self, unit_id: uuid.UUID) -> Unit:
        """One unit"""
        return scope.get_visible_unit(db(), current_user(), unit_id)

    @login_required(Role.admin)
    @blp.arguments(UnitUpdate)
    @blp.response(200, UnitSchema)
    def patch(self, args: dict[str, Any], unit_id: uuid.UUID) -> Unit:
        """Rename a unit (admin)"""
        unit = scope.get_visible_unit(db(), current_user(), unit_id)
        return organisation.rename_unit(db(), current_user(), unit, args["name"])


@blp.route("/users")
class Users(MethodView):
    @login_required(Role.admin)
    @blp.arguments(UserQuery, location="query")
    @blp.response(200, page_of(UserSchema, "UserPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Users of the admin's units"""
        return organisation.list_users(db(), current_user(), **args)

    @login_required(Role.admin)
    @blp.arguments(UserCreate)
    @blp.response(201, UserSchema)
    def post(self, args: dict[str, Any]) -> User:
        """Create a user in one of the admin's units (admin)"""
        unit = scope.get_visible_unit(db(), current_user(), args.pop("unit_id"))
        return organisation.create_user(db(), current_user(), unit=unit, **args)


@blp.route("/users/<uuid:user_id>")
class UserById(MethodView):
    @login_required(Role.admin)
    @blp.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> User:
        """One user (admin)"""
        return organisation.get_visible_user(db(), current_user(), user_id)

    @login_required(Role.admin)
    @blp.arguments(UserUpdate)
    @blp.response(200, UserSchema)
    def patch(self, args: dict[str, Any], user_id: uuid.UUID) -> User:
        """Change a user's name, role, unit, password or active flag (admin; admins from above)"""
        user = organisation.get_visible_user(db(), current_user(), user_id)
        if "unit_id" in args:
            args["unit"] = scope.get_visible_unit(db(), current_user(), args.pop("unit_id"))
        return organisation.update_user(db(), current_user(), user, args)


@blp.route("/users/<uuid:user_id>/devices")
class UserDevices(MethodView):
    @login_required(Role.admin)
    @blp.response(200, DeviceSchema(many=True))
    def get(self, user_id: uuid.UUID) -> list[Device]:
        """A user's registered devices (admin)"""
        return organisation.list_devices(db(), current_user(), user_id)


@blp.route("/devices/<uuid:device_id>/revoke")
class RevokeDevice(MethodView):
    @login_required(Role.admin)
    @blp.arguments(RevokeRequest)
    @blp.response(200, DeviceSchema)
    def post(self, args: dict[str, Any], device_id: uuid.UUID) -> Device:
        """Revoke a lost or stolen tablet: every token it holds stops working (admin)"""
        return organisation.revoke_device(db(), current_user(), device_id, **args)
