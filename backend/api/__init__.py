"""The HTTP API: one blueprint per resource; views are thin and call one service."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import NotFound

from . import (
    admin,
    auth,
    checklists,
    context,
    documents,
    enterprises,
    errors,
    hazards,
    health,
    inspections,
    media,
    organisation,
    records,
    sync,
)
from .schemas import ErrorSchema


class AnjianApi(Api):
    ERROR_SCHEMA = ErrorSchema


def register_api(app: Flask) -> None:
    api = AnjianApi(app)
    for module in (auth, checklists, enterprises, organisation, sync, media, health):
        api.register_blueprint(module.blp)
    for module in (inspections, hazards, admin, documents):
        api.register_blueprint(module.blp)
    records.register(api)
    health.register_root_aliases(app)
    errors.register(app)
    context.register(app)
    app.url_value_preprocessor(_no_nul_in_paths)


def _no_nul_in_paths(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A NUL byte in a path segment (a checklist code, a hash) names nothing: 404, before
    PostgreSQL, which cannot compare a string holding one, turns the look-up into a 500."""
    if values and any(isinstance(v, str) and "\x00" in v for v in values.values()):
        raise NotFound()
