"""The HTTP API: one blueprint per resource; views are thin and call one service."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from . import (
    admin,
    auth,
    checklists,
    context,
    enterprises,
    errors,
    hazards,
    health,
    inspections,
    media,
    organisation,
    sync,
)
from .schemas import ErrorSchema


class AnjianApi(Api):
    ERROR_SCHEMA = ErrorSchema


def register_api(app: Flask) -> None:
    api = AnjianApi(app)
    for module in (auth, checklists, enterprises, organisation, sync, media, health):
        api.register_blueprint(module.blp)
    for module in (inspections, hazards, admin):
        api.register_blueprint(module.blp)
    health.register_root_aliases(app)
    errors.register(app)
    context.register(app)
