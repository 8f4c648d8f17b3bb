"""The installed wheel is the product: eval, bench and soak must not need a source checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.paths import ROOT


def test_the_wheel_ships_the_tools_and_their_data(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-q", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    [wheel] = wheels.glob("article_bot-*.whl")
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target"]
    subprocess.run([*install, str(target), str(wheel)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = (
        "import bot.tools.evaluate as e, bot.tools.soak, bot.tools.bench, bot.tools.fakeapi.server;"
        "import embeddings.passagestore.postgres as store;"
        "print(e.GOLD, e.GOLD.is_file(), e.FOLLOWUPS.is_file(), bool(store.migrations()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # not the repository: nothing of the checkout on sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    gold, *found = result.stdout.split()
    # (the passage store's SQL migrations are package data too)
    assert gold.startswith(str(target)) and found == ["True", "True", "True"]
    assert not (target / "tests").exists()  # the test suite is not part of the product
