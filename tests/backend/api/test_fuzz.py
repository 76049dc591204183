"""schemathesis over the generated OpenAPI document, in-process, as each role (issue 12).

Every operation, with generated requests: no 5xx, every status documented, every reply in its
documented schema and content type (errors in the one Error shape). CI runs a bounded number of
examples per operation and role (ANJIAN_FUZZ_EXAMPLES, default 5); a longer run by hand:
`ANJIAN_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/backend/api/test_fuzz.py`.

The schema is loaded at module level (`from_wsgi`), one test per role: schemathesis's
`from_fixture` loader does not work on pytest 9 (LIBRARIES.md). The app runs on its own SQLite
file with a district, a town, an enterprise and one user per role.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.db import make_engine
from backend.models import AccessToken, Role, UnitKind, utcnow
from backend.services import auth
from tests.conftest import make_config, prepare_database
from tests.factories import make_enterprise, make_unit, make_user

MAX_EXAMPLES = int(os.environ.get("ANJIAN_FUZZ_EXAMPLES", "5"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _world() -> tuple[Flask, dict[str, dict[str, str]]]:
    directory = Path(tempfile.mkdtemp(prefix="anjian-fuzz-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    config = make_config(directory, f"sqlite:///{directory / 'fuzz.sqlite3'}")
    engine = make_engine(config.database_url)
    prepare_database(engine)
    engine.dispose()
    app = create_app(config)
    atexit.register(app.extensions["anjian"].db.dispose)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    with app.extensions["anjian"].db.session() as session:
        district = make_unit(session, kind=UnitKind.district)
        town = make_unit(session, parent=district)
        make_enterprise(session, town, sector="gas")
        for role in Role:
            user = make_user(session, district if role is Role.admin else town, role)
            token = "aj_" + secrets.token_urlsafe(32)
            session.add(
                AccessToken(
                    token_hash=auth.token_hash(config.secret_key, token),
                    user_id=user.id,
                    expires_at=utcnow() + timedelta(days=1),
                )
            )
            headers[role.value] = {"Authorization": f"Bearer {token}"}
        session.commit()
    return app, headers


# Photo, document and filled-table uploads are raw bytes: sent as the binary payloads
# schemathesis makes.
schemathesis.serializer.alias(
    [
        "image/heic",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/tab-separated-values",
    ],
    "application/octet-stream",
)

APP, HEADERS = _world()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)

fuzz = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every CI run; a longer run by hand explores more
    suppress_health_check=list(HealthCheck),
)


def _check(case: Any, role: str) -> None:
    case.call_and_validate(headers=HEADERS[role], checks=CHECKS)


@schema.parametrize()
@fuzz
def test_as_anonymous(case: Any) -> None:
    _check(case, "anonymous")


@schema.parametrize()
@fuzz
def test_as_inspector(case: Any) -> None:
    _check(case, "inspector")


@schema.parametrize()
@fuzz
def test_as_supervisor(case: Any) -> None:
    _check(case, "supervisor")


@schema.parametrize()
@fuzz
def test_as_admin(case: Any) -> None:
    _check(case, "admin")
