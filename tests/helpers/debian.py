"""Programs the tests run from Debian's packages (HAProxy, Chromium): ``.ci/run`` installs
them; where one is missing and the tests run as root (CI, the developers' machines) it is
installed here with apt-get, else the test fails saying so. Never skipped."""

from __future__ import annotations

import os
import shutil
import subprocess


def installed(command: str, package: str) -> str:
    """The path of ``command``, installing Debian's ``package`` first if needed."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(f"{command} is not installed: apt-get install {package} (as root)")
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(step)} failed: {done.stderr[-1000:]}")
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"apt-get installed {package} but {command} is not on PATH")
    return found
