"""Units, users and devices: the admin API."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from backend.errors import NotFound
from backend.models import Device, Role, Unit, UnitKind, User
from backend.services import auth, organisation, scope

from .context import current_user, db, login_required
from .schemas import PageArgs, page_of

blp = Blueprint(
    "organisation", __name__, url_prefix="/api/v1", description="Units, users and devices (admin)"
)

NAME = ma.validate.Length(min=1, max=200)


class UnitSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    name = ma.fields.String(required=True, validate=NAME)
    kind = ma.fields.Enum(UnitKind, by_value=True, required=True)
    parent_id = ma.fields.UUID(allow_none=True, load_default=None)


class UnitUpdate(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME)


class UserSchema(ma.Schema):
    id = ma.fields.UUID(dump_only=True)
    username = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9_.-]{2,64}$", error="Use 2-64 letters, digits, '_', '.' or '-'."
        ),
    )
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    role = ma.fields.Enum(Role, by_value=True, required=True)
    unit_id = ma.fields.UUID(required=True)
    active = ma.fields.Boolean(dump_only=True)


class UserCreate(UserSchema):
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(max=256))


class UserUpdate(ma.Schema):
    display_name = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    role = ma.fields.Enum(Role, by_value=True)
    unit_id = ma.fields.UUID()
    active = ma.fields.Boolean()
    password = ma.fields.String(load_only=True, validate=ma.validate.Length(max=256))


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
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


@blp.route("/units")
class Units(MethodView):
    @login_required()
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(UnitSchema, "UnitPage"))
    def get(self, args: dict[str, Any]) -> Any:
        """Units the caller may see (an admin: their unit and every unit below it)"""
        return organisation.list_units(db(), current_user(), **args)

    @login_required(Role.admin)
    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, args: dict[str, Any]) -> Unit:
        """Create a town/street office or a department under a district (admin)"""
        parent_id = args.pop("parent_id")
        parent = scope.get_visible_unit(db(), current_user(), parent_id) if parent_id else None
        if parent is None:
            scope.require_root_admin(current_user())
        return organisation.create_unit(db(), current_user(), parent=parent, **args)


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
        """Change a user's name, role, unit, password or active flag (admin)"""
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
        user = organisation.get_visible_user(db(), current_user(), user_id)
        return list(db().scalars(select(Device).where(Device.user_id == user.id)))


@blp.route("/devices/<uuid:device_id>/revoke")
class RevokeDevice(MethodView):
    @login_required(Role.admin)
    @blp.arguments(RevokeRequest)
    @blp.response(200, DeviceSchema)
    def post(self, args: dict[str, Any], device_id: uuid.UUID) -> Device:
        """Revoke a lost or stolen tablet: every token it holds stops working (admin)"""
        device = db().get(Device, device_id)
        if device is None or not scope.can_see(current_user(), device.user.unit):
            raise NotFound(f"Device {device_id} was not found.")
        return auth.revoke_device(db(), current_user(), device, reason=args["reason"])
