"""The container: docker-compose.yml, the Dockerfile, .dockerignore and the Makefile's install.

These are structural checks, run with or without a Docker engine: ``docker-compose config``
validates the compose file when it is installed, the structure is checked with PyYAML, and the
Dockerfile is read as text. The image is built and run for real by ``deploy/smoke.sh``
(called by ``.ci/run`` where an engine can be started); the health command's contract is
tested in tests/test_telegram_start.py.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.paths import ROOT

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
HEALTH = ["-m", "bot", "health"]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def bot_service() -> dict[str, Any]:
    services = compose()["services"]
    assert [name for name, s in services.items() if not s.get("profiles")] == ["bot"]
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
    assert service["build"]["context"] == "."
    assert "BASE_IMAGE" in service["build"]["args"]  # a local base where no hub is reachable


def test_the_replicas_profile_runs_two_bots_behind_haproxy_on_one_database() -> None:
    """``--profile replicas`` (README "Several replicas"): off by default, each replica with a
    data volume of its own, all on one DATABASE_URL, HAProxy with the tested config."""
    services = compose()["services"]
    extra = {name for name, s in services.items() if s.get("profiles")}
    assert extra == {"postgres", "replica1", "replica2", "haproxy"}
    assert all(services[name]["profiles"] == ["replicas"] for name in extra)
    replicas = [services["replica1"], services["replica2"]]
    assert len({r["environment"]["DATABASE_URL"] for r in replicas}) == 1
    # One shelf, shared: the database's (the YAML as written, before compose fills it in).
    assert all(r["environment"]["SHELF"] == "${SHELF:-store}" for r in replicas)
    assert len({r["volumes"][0] for r in replicas}) == 2
    assert all("--webhook-url" in r["command"] for r in replicas)
    haproxy = services["haproxy"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in haproxy["volumes"]
    assert {haproxy["environment"]["BOT1"], haproxy["environment"]["BOT2"]} == {
        "replica1:8443",
        "replica2:8443",
    }


def test_compose_restarts_after_crashes_and_reboots_but_not_after_a_stop() -> None:
    """unless-stopped, relying on Docker's back-off for a rejected token (README Deployment)."""
    service = bot_service()
    assert service["restart"] == "unless-stopped"
    assert service["stop_grace_period"] == "10s"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`restart: unless-stopped`" in readme and "`78`" in readme and "`69`" in readme


def test_compose_health_check_runs_the_health_command() -> None:
    check = bot_service()["healthcheck"]
    test = check["test"]
    assert test[0] == "CMD"
    assert is_python(test[1]) and test[2:] == HEALTH
    assert {"interval", "timeout", "retries", "start_period"} <= check.keys()


def seconds(value: str) -> int:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", value)
    assert match and value, value
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_compose_and_dockerfile_health_timings_agree() -> None:
    check = bot_service()["healthcheck"]
    [health] = instruction("HEALTHCHECK")
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", health.split(" CMD ", 1)[0]))
    assert seconds(options["interval"]) == seconds(check["interval"])
    assert seconds(options["start-period"]) == seconds(check["start_period"])
    # a probe must be able to finish before the next one starts
    assert seconds(check["timeout"]) < seconds(check["interval"])


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_secrets_stay_out_of_the_image_and_the_repository() -> None:
    assert ".env" in dockerignore()
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_build_context_is_an_allow_list_without_tests_or_the_venv() -> None:
    rules = dockerignore()
    assert rules[0] == "*"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert {"pyproject.toml", "Makefile", "bot", "embeddings", "corpus"} <= allowed
    assert not allowed & {"tests", ".venv", ".git", ".env", "data", "."}


# ---- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_installs_and_starts_the_bot_with_the_make_and_cli_commands() -> None:
    assert any(run.startswith("make deps ") or " make deps " in run for run in instruction("RUN"))
    [cmd] = instruction("CMD")
    command = exec_form(cmd)
    assert is_python(command[0]) and command[1:] == ["-m", "bot", "telegram"]
    [health] = instruction("HEALTHCHECK")
    check = exec_form(health.split(" CMD ", 1)[1])
    assert is_python(check[0]) and check[1:] == HEALTH


def test_the_base_image_is_an_argument_defaulting_to_python_slim() -> None:
    first_keyword, first_arguments = dockerfile()[0]
    assert (first_keyword, first_arguments) == ("ARG", "BASE_IMAGE=python:3.11-slim")
    assert instruction("FROM") == ["${BASE_IMAGE} AS deps", "${BASE_IMAGE}"]


def test_dependencies_are_a_layer_of_their_own_before_the_code() -> None:
    """Editing the code reuses the dependency layer: it depends on pyproject.toml and the
    Makefile (and the optional wheelhouse) only."""
    steps = dockerfile()
    copies = [(i, args) for i, (keyword, args) in enumerate(steps) if keyword == "COPY"]
    install = next(i for i, (k, args) in enumerate(steps) if k == "RUN" and "make deps" in args)
    before = [args for i, args in copies if i < install]
    assert before == ["deploy/wheelhouse/ /wheelhouse/", "pyproject.toml Makefile ./"]
    code = [args for i, args in copies if i > install and "--from" not in args]
    assert code and all(args.split()[0] in {"bot", "embeddings", "corpus"} for args in code)
    assert not any(args.split()[0] == "." for _, args in copies)


def test_the_runtime_has_no_dev_tools_no_pip_cache_and_a_non_root_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert ".[dev]" not in text and "tests" not in " ".join(instruction("COPY"))
    assert "PIP_NO_CACHE_DIR=1" in " ".join(instruction("ENV"))
    [user] = instruction("USER")
    assert user not in ("root", "0")
    assert any("chown" in run and "/data" in run for run in instruction("RUN"))


def test_make_install_takes_torch_from_the_cpu_index_and_never_a_cuda_build() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu" in makefile
    assert '--index-url "$(TORCH_INDEX_URL)" torch==$(TORCH_VERSION)' in makefile
    # the fallback pins the local version label, which PyPI's CUDA build does not have
    assert "torch==$(TORCH_VERSION)+cpu" in makefile
    assert "torch.version.cuda" in makefile  # and the result is checked
    assert "--timeout $(INDEX_TIMEOUT)" in makefile


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


# ---- the fake Bot API the smoke test runs on its own ------------------------------------------


def test_the_standalone_fake_bot_api_serves_a_queued_message_and_stops_on_sigterm() -> None:
    from bot.tools.fakeapi.server import DEFAULT_TOKEN

    with subprocess.Popen(
        [sys.executable, "-m", "bot.tools.fakeapi", "--ask", "你好", "--seconds", "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        first = server.stdout.readline().split()
        assert first[0] == "base_url" and first[1].startswith("http://127.0.0.1:")
        url = f"{first[1]}{DEFAULT_TOKEN}/getUpdates"
        with urllib.request.urlopen(url, data=b"", timeout=30) as reply:  # loopback only
            updates = json.load(reply)["result"]
        assert [u["message"]["text"] for u in updates] == ["你好"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        assert "stopping" in server.stdout.read()
