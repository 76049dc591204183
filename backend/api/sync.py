"""The tablet protocol: register a device, push numbered commands, pull changes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g, request
from flask.views import MethodView

from backend import faults, metrics
from backend.errors import ProtocolUnsupported, PushTooLarge
from backend.models import utcnow
from backend.services.sync import devices, pull, push
from sync import (
    MAX_BASE_VERSION,
    MAX_BUCKET_NAME,
    MAX_COMMAND_NAME,
    MAX_PULL_LIMIT,
    PULL_LIMIT,
    Mutation,
    check_push,
)

from .context import after_commit, current_user, db, login_required, snapshot_reads
from .parsing import Blueprint

blp = Blueprint(
    "sync",
    __name__,
    url_prefix="/api/v1/sync",
    description="The offline protocol (docs/sync-protocol.md)",
)


class DeviceRequest(ma.Schema):
    device_id = ma.fields.UUID(required=True)
    app_version = ma.fields.String(load_default=None, validate=ma.validate.Length(max=50))
    schema_version = ma.fields.Integer(
        load_default=None, strict=True, validate=ma.validate.Range(min=0, max=2**31 - 1)
    )
    platform = ma.fields.String(load_default=None, validate=ma.validate.Length(max=50))


class DeviceResponse(ma.Schema):
    device_id = ma.fields.UUID()
    last_seq = ma.fields.Integer()
    server_time = ma.fields.DateTime()


class MutationSchema(ma.Schema):
    seq = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(min=1, max=2**31 - 1)
    )
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_COMMAND_NAME))
    args = ma.fields.Dict(required=True)
    base_version = ma.fields.Integer(
        load_default=None,
        strict=True,
        allow_none=True,
        validate=ma.validate.Range(min=0, max=MAX_BASE_VERSION),
    )


class PushRequest(ma.Schema):
    # Each command's name and args are checked for accepted text (sync/text.py) one by one,
    # so a bad one is rejected and the others apply (backend/api/parsing.py).
    text_checked_later = ("mutations",)

    device_id = ma.fields.UUID(required=True)
    protocol = ma.fields.Integer(required=True, strict=True)
    mutations = ma.fields.List(ma.fields.Nested(MutationSchema), required=True)


class PushResponse(ma.Schema):
    applied_through = ma.fields.Integer()
    results = ma.fields.List(ma.fields.Dict())
    expected_seq = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Set when a gap stopped the batch: send this seq next"},
    )


class PullRequest(ma.Schema):
    device_id = ma.fields.UUID(required=True)
    cursors = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=MAX_BUCKET_NAME)),
        values=ma.fields.String(allow_none=True),
        load_default=dict,
    )
    limit = ma.fields.Integer(
        load_default=PULL_LIMIT,
        strict=True,
        validate=ma.validate.Range(min=1, max=MAX_PULL_LIMIT),
    )


class PullResponse(ma.Schema):
    changes = ma.fields.List(ma.fields.Dict())
    cursors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(allow_none=True))
    has_more = ma.fields.Boolean()
    reset = ma.fields.List(ma.fields.String())
    device_last_seq = ma.fields.Integer()


def _body_size() -> int:
    length = request.content_length
    return len(request.get_data(cache=True)) if length is None else length


REFUSED = {"sync.too_large": PushTooLarge, "sync.protocol_unsupported": ProtocolUnsupported}


@blp.route("/devices")
class Devices(MethodView):
    @login_required()
    @blp.arguments(DeviceRequest)
    @blp.response(200, DeviceResponse)
    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        """Register this tablet for the signed-in user (idempotent)"""
        g.device_id = args["device_id"]  # for the request's log line
        device = devices.register(db(), current_user(), args.pop("device_id"), **args)
        return {"device_id": device.id, "last_seq": device.last_seq, "server_time": utcnow()}


@blp.route("/push")
class Push(MethodView):
    @login_required()
    @blp.arguments(PushRequest)
    @blp.response(200, PushResponse)
    @blp.alt_response(409, description="sync.seq_reused or sync.payload_mismatch")
    @blp.alt_response(413, description="sync.too_large: limits in errors")
    def post(self, args: dict[str, Any]) -> Any:
        """Apply the device's numbered commands, each exactly once"""
        g.device_id = args["device_id"]
        refused = check_push(args["protocol"], len(args["mutations"]), _body_size())
        if refused is not None:
            raise REFUSED[refused.code](refused.message, errors=refused.errors)
        mutations = [
            Mutation.create(m["seq"], m["id"], m["name"], m["args"], m["base_version"])
            for m in args["mutations"]
        ]
        result = push.push(db(), current_user(), args["device_id"], mutations)
        faults.reached("push.before_commit")
        after_commit(lambda: faults.reached("push.after_commit"))
        after_commit(lambda: metrics.count_commands(result.results))
        return result


@blp.route("/pull")
class Pull(MethodView):
    @snapshot_reads
    @login_required()
    @blp.arguments(PullRequest)
    @blp.response(200, PullResponse)
    def post(self, args: dict[str, Any]) -> Any:
        """What changed for this device since its cursors"""
        g.device_id = args["device_id"]
        result = pull.pull(db(), current_user(), **args)
        after_commit(lambda: metrics.SYNC_PULL_CHANGES.inc(len(result.changes)))
        return result
