"""Configuration is read once from the environment and refuses unsafe production set-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.config import Config, ConfigError


def test_the_embedded_default_needs_no_configuration(tmp_path: Path) -> None:
    config = Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'anjian.sqlite3'}"
    assert config.redis_url is None
    assert config.s3 is None


def test_a_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path)}).secret_key
    second = Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path)}).secret_key
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config.from_env(
            {
                "ANJIAN_ENV": "production",
                "ANJIAN_DATA_DIR": str(tmp_path),
                "DATABASE_URL": "postgresql://db/anjian",
            }
        )


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Config.from_env(
            {"ANJIAN_ENV": "production", "SECRET_KEY": "s" * 40, "ANJIAN_DATA_DIR": str(tmp_path)}
        )


def test_postgres_urls_use_psycopg(tmp_path: Path) -> None:
    config = Config.from_env(
        {"ANJIAN_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/db"}
    )
    assert config.database_url == "postgresql+psycopg://u@h/db"


def test_s3_settings_come_from_the_environment(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            "ANJIAN_DATA_DIR": str(tmp_path),
            "S3_BUCKET": "evidence",
            "S3_ENDPOINT_URL": "http://127.0.0.1:8333",
        }
    )
    assert config.s3 is not None
    assert (config.s3.bucket, config.s3.endpoint_url) == ("evidence", "http://127.0.0.1:8333")


def test_a_bad_number_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ANJIAN_TOKEN_TTL"):
        Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_TOKEN_TTL": "soon"})


def test_the_sweeper_interval_comes_from_the_environment(tmp_path: Path) -> None:
    env = {"ANJIAN_DATA_DIR": str(tmp_path)}
    assert Config.from_env(env).sweep_interval_seconds == 30
    assert Config.from_env({**env, "ANJIAN_SWEEP_INTERVAL": "5"}).sweep_interval_seconds == 5
    with pytest.raises(ConfigError, match="ANJIAN_SWEEP_INTERVAL"):
        Config.from_env({**env, "ANJIAN_SWEEP_INTERVAL": "0"})


def test_a_fault_point_is_read_once_outside_production(tmp_path: Path) -> None:
    config = Config.from_env(
        {"ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_FAULT": f"push.before_commit={tmp_path}/f"}
    )
    assert config.fault == ("push.before_commit", tmp_path / "f")
    assert Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path)}).fault is None


def test_production_refuses_a_fault_point(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ANJIAN_FAULT"):
        Config.from_env(
            {
                "ANJIAN_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "DATABASE_URL": "postgresql://db/anjian",
                "ANJIAN_DATA_DIR": str(tmp_path),
                "ANJIAN_FAULT": f"push.before_commit={tmp_path}/f",
            }
        )


def test_an_unknown_fault_point_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"push\.before_commit"):
        Config.from_env({"ANJIAN_DATA_DIR": str(tmp_path), "ANJIAN_FAULT": "push.nowhere=/f"})
