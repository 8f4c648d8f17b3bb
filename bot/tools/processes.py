"""Stopping a child process the tools started: politely first, then for sure."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(process: subprocess.Popen[Any], grace: float) -> None:
    """SIGTERM, ``grace`` seconds to exit, then SIGKILL: a hung child never holds a run."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)
