"""The console through Flask's test client, on the ledger tests' world (a district, a town,
its people, a tablet; background jobs run by the test)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from backend.models import User
from tests.backend.ledger.support import RecordingDispatcher, World
from tests.conftest import AppFactory
from tests.factories import PASSWORD


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the browser tests left their screenshots, to be looked at."""
    from tests.console.browser_support import WRITTEN

    if WRITTEN:
        terminalreporter.write_sep("-", "console screenshots")
        terminalreporter.write_line(f"{len(WRITTEN)} screenshots in {WRITTEN[0].parent}")


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    flask_app = make_app()
    flask_app.extensions["anjian"].dispatcher = RecordingDispatcher()
    return flask_app


@pytest.fixture
def world(app: Flask, client: FlaskClient, session: Session) -> World:
    return World(app, client, session)


def csrf_of(client: FlaskClient, path: str = "/console/login") -> str:
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def sign_in(client: FlaskClient, person: User, next_path: str = "") -> str:
    """Sign in through the form; the CSRF token of the new session."""
    token = csrf_of(client)
    reply = client.post(
        "/console/login",
        data={
            "csrf_token": token,
            "username": person.username,
            "password": PASSWORD,
            "next": next_path,
        },
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)
    return csrf_of(client, "/console/queue")
