"""One serving process per data directory.

Two bots on one data directory fight over the same updates (each confirms the other's),
the same chat state and the same journal: follow-ups lose their context and both log
tracebacks. So the serving process holds an exclusive lock on ``bot.lock`` in the data
directory for its whole life; a second one is refused in one line. The operating system
drops the lock when the holder dies, however it dies (SIGKILL included), so a restart
after a crash is never refused.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "bot.lock"


class DataDirInUseError(Exception):
    """Another process serves from this data directory."""


def claim_data_dir(data_dir: Path) -> FileLock:
    """The held lock of ``data_dir`` (release it, or use it as a context manager)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(data_dir / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise DataDirInUseError(
            f"another bot process is already serving from {data_dir} (it holds "
            f"{data_dir / LOCK_NAME}): stop it first, or give this one its own data directory"
        ) from exc
    return lock
