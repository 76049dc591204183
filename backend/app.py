"""The application factory: wires config, database, object store, jobs and the API."""

from __future__ import annotations

import swagger_ui_bundle
from flask import Flask, send_from_directory
from werkzeug.wrappers import Response

from . import faults, logs, telemetry
from .config import Config
from .db import Database
from .extensions import Services, build_services
from .jobs import runtime
from .serving import BodyDeadline


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    logs.configure(config.log_level, config.log_format)
    app = Flask("backend")
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
        API_TITLE="Anjian 安检",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Field safety inspections: checklists, offline sync, "
                "photo evidence, review and the hazard ledger (隐患台账)."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese text as UTF-8
    faults.arm(config.fault)
    dispatcher = runtime.make_dispatcher(config.redis_url)
    app.extensions["anjian"] = build_services(config, Database(config.database_url), dispatcher)
    runtime.bind(app.extensions["anjian"])  # jobs run in this process when there is no Redis

    from . import console
    from .api import register_api

    telemetry.register(app)  # first: its after-request hook then runs last, on the final reply
    register_api(app)
    console.register(app)
    app.add_url_rule("/api/docs/static/<path:filename>", "swagger_static", _swagger_static)
    app.wsgi_app = BodyDeadline(app.wsgi_app, config.body_timeout_seconds)  # type: ignore[method-assign]
    return app


def _swagger_static(filename: str) -> Response:
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def services(app: Flask) -> Services:
    return app.extensions["anjian"]  # type: ignore[no-any-return]
