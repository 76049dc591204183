"""Operations for administrators: background work that kept failing, and retrying it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView

from backend.errors import PermissionDenied
from backend.models import Role, User
from backend.services import operations

from .context import current_user, db, login_required
from .parsing import Blueprint

blp = Blueprint(
    "admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Operations (admins of a top-level unit)",
)


class FailedJob(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    key = ma.fields.String()
    payload = ma.fields.Dict()
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    enqueued_at = ma.fields.DateTime(allow_none=True)


class FailedJobs(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FailedJob))


class Retried(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()


def _require_operator(user: User) -> None:
    # Outbox rows belong to no unit: only an admin of a top-level unit sees them.
    if user.unit.parent_id is not None:
        raise PermissionDenied("Only an admin of a top-level unit can see and retry jobs.")


@blp.route("/jobs/failed")
class Failed(MethodView):
    @login_required(Role.admin)
    @blp.response(200, FailedJobs)
    def get(self) -> dict[str, Any]:
        """Outbox rows that kept failing, with their last error (as `anjian jobs failed`)"""
        _require_operator(current_user())
        return {"items": operations.failed_jobs(db())}


@blp.route("/jobs/<int:item_id>/retry")
class Retry(MethodView):
    @login_required(Role.admin)
    @blp.response(200, Retried)
    @blp.alt_response(409, description="jobs.not_failed: the row is pending or done")
    def post(self, item_id: int) -> dict[str, Any]:
        """Put a failed outbox row back in the queue (as `anjian jobs retry`)"""
        _require_operator(current_user())
        if not operations.retry_job(db(), current_user(), item_id):
            raise operations.NotAFailedJob(
                f"Outbox row {item_id} is not a failed row: it is pending, done or unknown. "
                "GET /api/v1/admin/jobs/failed lists the failed ones."
            )
        return {"id": item_id, "status": "pending"}
