"""Liveness and readiness."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Flask, jsonify
from flask.views import MethodView
from sqlalchemy import text
from werkzeug.wrappers import Response

from .context import db, services
from .parsing import Blueprint

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Health checks")


class HealthSchema(ma.Schema):
    status = ma.fields.String()
    checks = ma.fields.Dict()


def _database() -> dict[str, Any]:
    db().execute(text("SELECT 1"))
    return {"backend": services().db.dialect}


def _redis() -> dict[str, Any]:
    url = services().config.redis_url
    if url is None:
        return {"skipped": "REDIS_URL is not set; jobs run in-process"}
    services().dispatcher.check()
    return {}


def _object_store() -> dict[str, Any]:
    services().store.check()
    return {"backend": type(services().store).__name__}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _database,
    "redis": _redis,
    "object_store": _object_store,
}


def _run(name: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception:  # a readiness probe reports every failure, whatever its kind
        # The probe is unauthenticated: the detail (hosts, URLs, credentials) goes to the log.
        log.warning("readiness check %s failed", name, exc_info=True)
        result = {"ok": False, "error": f"{name} is not reachable; see the server log"}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def healthz() -> Response:
    return jsonify({"status": "ok"})


def readyz() -> Response:
    checks = {name: _run(name, check) for name, check in CHECKS.items()}
    ready = all(c["ok"] for c in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@blp.route("/healthz")
class Healthz(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> Response:
        """Liveness: the process is up"""
        return healthz()


@blp.route("/readyz")
class Readyz(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="A dependency is not reachable")
    def get(self) -> Response:
        """Readiness: database, Redis (when configured) and object store, each named"""
        return readyz()


def register_root_aliases(app: Flask) -> None:
    """Orchestrators probe /healthz and /readyz at the root."""
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
