"""Apps whose background jobs the test runs itself (as in the ledger tests)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.backend.bundles.support import BundleWorld
from tests.backend.ledger.support import RecordingDispatcher
from tests.conftest import AppFactory


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    flask_app = make_app()
    flask_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    return flask_app


@pytest.fixture
def world(app: Flask, client: FlaskClient, session: Session) -> BundleWorld:
    return BundleWorld(app, client, session)
