"""The HTTP API: one blueprint per resource; views are thin and call one service."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import NotFound

from sync import text

from . import (
    admin,
    auth,
    bundles,
    checklists,
    context,
    documents,
    enterprises,
    errors,
    hazards,
    headers,
    health,
    inspections,
    media,
    organisation,
    records,
    report_check,
    reports,
    standards,
    statuses,
    sync,
)
from .schemas import ErrorSchema


class AnjianApi(Api):
    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation documents its statuses (statuses.py)


def register_api(app: Flask) -> None:
    api = AnjianApi(app, spec_kwargs={"extra_plugins": [statuses.ErrorStatuses()]})
    for module in (auth, checklists, standards, enterprises, organisation, sync, media, health):
        api.register_blueprint(module.blp)
    for module in (inspections, hazards, bundles, admin, documents, reports, report_check):
        api.register_blueprint(module.blp)
    records.register(api)
    health.register_root_aliases(app)
    errors.register(app)
    context.register(app)
    headers.register(app)
    app.url_value_preprocessor(_nothing_named)


def _nothing_named(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A path segment no record can be named by (refused text such as NUL, which PostgreSQL
    cannot even compare; an integer beyond its column) names nothing: 404, before the database
    turns the look-up into a 500."""
    for value in (values or {}).values():
        if isinstance(value, str) and not text.is_valid(value):
            raise NotFound()
        if isinstance(value, int) and not -(2**63) <= value < 2**63:  # BIGINT ids
            raise NotFound()
