"""The container: docker-compose.yml, the Dockerfile and the health check they rely on.

No Docker engine runs here. ``docker-compose config`` (the Debian package) validates the
compose file when it is installed; the structure is always checked with PyYAML, and the
Dockerfile is read as text: it must install and start the bot the way the README says.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.paths import ROOT, run_bot

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
HEALTH = ["-m", "bot", "health"]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def bot_service() -> dict[str, Any]:
    services = compose()["services"]
    assert list(services) == ["bot"]
    service = services["bot"]
    assert isinstance(service, dict)
    return service


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, arguments = pending.strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    return instructions


def instruction(name: str) -> list[str]:
    return [arguments for keyword, arguments in dockerfile() if keyword == name]


def exec_form(arguments: str) -> list[str]:
    """A CMD in JSON (exec) form; a shell-form CMD would not receive SIGTERM."""
    parsed = json.loads(arguments)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)
    return parsed


def is_python(executable: str) -> bool:
    return Path(executable).name.startswith("python")


# ---- compose ----------------------------------------------------------------------------------


def test_compose_file_is_valid_for_docker_compose(tmp_path: Path) -> None:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.skip("docker-compose is not installed")
    for source in (COMPOSE, DOCKERFILE):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123456:dummy-token-for-config-only\n")
    result = subprocess.run(
        [executable, "-f", "docker-compose.yml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_compose_runs_one_bot_with_its_secrets_and_a_persistent_data_volume() -> None:
    service = bot_service()
    assert service["env_file"] in (".env", [".env"])  # the token stays out of the file
    data_dir = service["environment"]["ARTICLE_BOT_DATA_DIR"]
    mounts = [str(v).split(":") for v in service["volumes"]]
    named = [(source, target) for source, target, *_ in mounts if source in compose()["volumes"]]
    assert [target for _, target in named] == [data_dir]
    assert service["restart"] in ("always", "unless-stopped", "on-failure")
    assert service["build"] == "."


def test_compose_health_check_runs_the_health_command() -> None:
    check = bot_service()["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD"
    assert is_python(test[1]) and test[2:] == HEALTH
    assert {"interval", "timeout", "retries"} <= check.keys()


def test_secrets_stay_out_of_the_image_and_the_repository() -> None:
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
    assert ".env" in (ROOT / ".gitignore").read_text().split()


# ---- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_installs_and_starts_the_bot_with_the_make_and_cli_commands() -> None:
    assert "make install" in instruction("RUN")
    [cmd] = instruction("CMD")
    command = exec_form(cmd)
    assert is_python(command[0]) and command[1:] == ["-m", "bot", "telegram"]
    [health] = instruction("HEALTHCHECK")
    check = exec_form(health.split(" CMD ", 1)[1])
    assert is_python(check[0]) and check[1:] == HEALTH


def test_the_image_keeps_its_data_where_compose_mounts_the_volume() -> None:
    env = " ".join(instruction("ENV"))
    data_dir = bot_service()["environment"]["ARTICLE_BOT_DATA_DIR"]
    assert f"ARTICLE_BOT_DATA_DIR={data_dir}" in env
    assert json.loads(instruction("VOLUME")[0]) == [data_dir]


def test_the_readme_shows_the_commands_the_image_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make install" in readme
    assert "python -m bot telegram" in readme
    assert "docker compose up" in readme or "docker-compose up" in readme


# ---- python -m bot health -------------------------------------------------------------------


def health(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_bot(HEALTH[2:], data_dir)


def test_health_is_ok_with_a_fresh_heartbeat(tmp_path: Path) -> None:
    (tmp_path / "telegram.heartbeat").touch()
    result = health(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("healthy")


def test_health_fails_without_a_heartbeat(tmp_path: Path) -> None:
    result = health(tmp_path)
    assert result.returncode == 1
    assert "no heartbeat" in result.stderr


def test_health_fails_with_a_stale_heartbeat(tmp_path: Path) -> None:
    beat = tmp_path / "telegram.heartbeat"
    beat.touch()
    an_hour_ago = time.time() - 3600
    os.utime(beat, (an_hour_ago, an_hour_ago))
    result = health(tmp_path)
    assert result.returncode == 1
    assert "last heartbeat" in result.stderr
