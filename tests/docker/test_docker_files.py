"""No Docker engine runs here: check what can be checked without one."""

from __future__ import annotations

import importlib
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_the_image_runs_as_a_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.M)
    assert users
    assert users[-1] not in ("root", "0")


def test_every_copied_path_exists() -> None:
    for line in re.findall(r"^COPY\s+(.+)$", DOCKERFILE, flags=re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source


def test_the_api_command_names_a_real_app_factory() -> None:
    target = re.search(r'"(\w[\w.]*):(\w+)\(\)"', DOCKERFILE)
    assert target, "gunicorn target not found"
    module = importlib.import_module(target.group(1))
    assert callable(getattr(module, target.group(2)))
    assert (
        shutil.which("gunicorn")
        or (Path(__import__("sys").executable).parent / "gunicorn").exists()
    )


def test_the_entry_commands_are_console_scripts_of_the_package(
    compose: dict[str, Any],
) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in ("init", "worker"):
        command = compose["services"][name]["command"]
        assert command[0] in scripts
    from backend.cli import main

    assert {"init", "worker", "run"} <= set(main.commands)


def test_every_service_has_a_health_check_or_is_one_shot(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "healthcheck" in service or service.get("restart") == "no", name


def test_dependencies_name_existing_services_and_valid_conditions(
    compose: dict[str, Any],
) -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for service in compose["services"].values():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in compose["services"]
            assert spec["condition"] in conditions


def test_stateful_services_keep_their_data_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name in ("postgres", "redis", "seaweedfs", "api", "worker"):
        mounts = [v.split(":")[0] for v in compose["services"][name]["volumes"]]
        assert mounts, name
        assert set(mounts) <= declared, name


def test_the_app_environment_names_only_variables_the_config_reads(
    compose: dict[str, Any],
) -> None:
    source = (ROOT / "backend" / "config.py").read_text()
    for variable in compose["services"]["api"]["environment"]:
        assert f'"{variable}"' in source, variable
