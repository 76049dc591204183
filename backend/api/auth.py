"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from backend.services import auth

from .context import current_token, current_user, db, login_required, services, snapshot_reads
from .organisation import UserSchema
from .parsing import Blueprint
from .schemas import String

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Sign-in and tokens")


class TokenRequest(ma.Schema):
    # Plain strings: the accepted-text rule (backend/api/parsing.py) already refuses NUL and
    # the like here, as in every field, so the reply says nothing about which names exist.
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    device_id = ma.fields.UUID(
        load_default=None, metadata={"description": "The tablet's device id, if any"}
    )


class PasswordChange(ma.Schema):
    current_password = String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )
    new_password = String(required=True, load_only=True, validate=ma.validate.Length(max=256))


class TokenResponse(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer()
    user = ma.fields.Nested(UserSchema)


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequest)
    @blp.response(200, TokenResponse)
    @blp.alt_response(401, description="Wrong username or password (auth.invalid_credentials)")
    @blp.alt_response(429, description="Too many failures; see Retry-After (auth.locked)")
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sign in and get a bearer token (tied to the device, when one is given)"""
        issued = auth.login(db(), services().db.sessionmaker, services().login_policy, **args)
        ttl = services().login_policy.token_ttl
        return {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": int(ttl.total_seconds()),
            "user": issued.user,
        }


@blp.route("/logout")
class Logout(MethodView):
    @login_required()
    @blp.response(204)
    def post(self) -> None:
        """Revoke the token this request is signed with"""
        auth.revoke_token(db(), current_token())


@blp.route("/password")
class Password(MethodView):
    # The change commits in a transaction of its own (a wrong guess must stay counted); this
    # request only reads, so on SQLite it must not hold the write lock meanwhile.
    @snapshot_reads
    @login_required()
    @blp.arguments(PasswordChange)
    @blp.response(204)
    @blp.alt_response(403, description="Wrong current password (auth.wrong_password)")
    @blp.alt_response(429, description="Too many failures; see Retry-After (auth.locked)")
    def post(self, args: dict[str, Any]) -> None:
        """Change your own password; every other token of yours stops working"""
        svc = services()
        auth.change_password(svc.db.sessionmaker, svc.login_policy, current_token(), **args)


@blp.route("/me")
class Me(MethodView):
    @login_required()
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The signed-in user"""
        return current_user()
