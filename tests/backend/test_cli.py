"""The `anjian` command on the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import checklists
from backend.cli import main
from backend.models import ChecklistVersion, Enterprise, Unit, User


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "SECRET_KEY", "ANJIAN_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANJIAN_DATA_DIR", str(tmp_path))
    return tmp_path


def counts(data_dir: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{data_dir / 'anjian.sqlite3'}")
    with Session(engine) as session:
        result = {
            model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Unit, User, Enterprise, ChecklistVersion)
        }
    engine.dispose()
    return result


def test_init_demo_creates_the_demo_district_once(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init", "--demo"], env={"ANJIAN_DEMO_PASSWORD": ""})
    assert first.exit_code == 0, first.output
    assert "share the password" in first.output
    after_first = counts(env)
    # Every shipped checklist version is published, whatever checklists/data holds.
    shipped = len(checklists.load_directory())
    assert after_first == {"Unit": 7, "User": 4, "Enterprise": 12, "ChecklistVersion": shipped}
    second = runner.invoke(main, ["init", "--demo"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert "password" not in second.output
    assert counts(env) == after_first


def test_the_demo_supervisor_unit_has_enterprises_of_all_three_sectors(env: Path) -> None:
    assert CliRunner().invoke(main, ["init", "--demo"]).exit_code == 0
    engine = create_engine(f"sqlite:///{env / 'anjian.sqlite3'}")
    with Session(engine) as session:
        supervisor = session.scalars(select(User).where(User.username == "supervisor")).one()
        inspectors = session.scalars(select(User).where(User.username.like("inspector%"))).all()
        sectors = set(
            session.scalars(
                select(Enterprise.sector).where(Enterprise.unit_id == supervisor.unit_id)
            )
        )
    engine.dispose()
    assert {i.unit_id for i in inspectors} == {supervisor.unit_id}
    assert {"gas", "construction", "confined_space"} <= sectors


def test_users_create_makes_a_user_who_can_sign_in(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"]).exit_code == 0
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "--username",
            "wang",
            "--display-name",
            "王",
            "--role",
            "supervisor",
            "--unit",
            "东湖镇",
        ],
        env={"ANJIAN_NEW_PASSWORD": "a long enough password"},
    )
    assert result.exit_code == 0, result.output
    from backend.app import create_app

    client = create_app().test_client()
    reply = client.post(
        "/api/v1/auth/token", json={"username": "wang", "password": "a long enough password"}
    )
    assert reply.status_code == 200


def test_an_unknown_unit_is_a_clear_error(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    result = runner.invoke(
        main,
        [
            "users",
            "create",
            "--username",
            "x",
            "--display-name",
            "x",
            "--role",
            "admin",
            "--unit",
            "不存在",
        ],
        env={"ANJIAN_NEW_PASSWORD": "a long enough password"},
    )
    assert result.exit_code != 0
    assert "No unit '不存在'" in result.output


def test_production_without_a_secret_refuses_to_start(env: Path) -> None:
    result = CliRunner().invoke(main, ["init"], env={"ANJIAN_ENV": "production"})
    assert result.exit_code == 2
    assert "SECRET_KEY" in result.output


def test_users_unlock_lifts_a_lock_out(env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"]).exit_code == 0
    from backend.app import create_app

    client = create_app().test_client()
    name = _a_username(env)
    for _ in range(6):
        client.post("/api/v1/auth/token", json={"username": name, "password": "guess"})
    reply = client.post("/api/v1/auth/token", json={"username": name, "password": "guess"})
    assert reply.status_code == 429
    result = runner.invoke(main, ["users", "unlock", name])
    assert result.exit_code == 0, result.output
    assert "cleared" in result.output
    reply = client.post("/api/v1/auth/token", json={"username": name, "password": "guess"})
    assert reply.status_code == 401


def _a_username(data_dir: Path) -> str:
    engine = create_engine(f"sqlite:///{data_dir / 'anjian.sqlite3'}")
    with Session(engine) as session:
        name = session.scalars(select(User.username).order_by(User.username)).first()
    engine.dispose()
    assert name is not None
    return name
