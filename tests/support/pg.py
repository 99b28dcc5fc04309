"""PostgreSQL for the store's tests: a fresh schema on the shared server, or a private cluster.

The shared server on 127.0.0.1:5432 (database ``test``) serves everyone, so each test gets a
schema of its own (``pg_schema``), dropped afterwards. A test that restarts PostgreSQL must
not restart that one: :class:`PrivatePostgres` runs a cluster of its own (initdb + pg_ctl from
the installed server packages, as the ``postgres`` user when we are root) on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest_asyncio

SHARED_DSN = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PgSchema:
    url: str
    schema: str


async def drop_schema(url: str, schema: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await connection.close()


def new_schema_name(prefix: str = "sgw_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def pg_schema() -> AsyncIterator[PgSchema]:
    """A schema name nobody else uses on the shared server; dropped after the test."""
    schema = new_schema_name()
    try:
        yield PgSchema(SHARED_DSN, schema)
    finally:
        await drop_schema(SHARED_DSN, schema)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return found[-1].parent


class PrivatePostgres:
    """A throw-away cluster on a free loopback port, trust auth, database ``test``."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir = workdir
        self.datadir = workdir / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/test"
        self._bin = _server_bin()
        self._user: str | None = "postgres" if os.geteuid() == 0 else None

    @classmethod
    async def start(cls) -> PrivatePostgres:
        workdir = Path(tempfile.mkdtemp(prefix="statusgw-pg-"))
        server = cls(workdir, free_port())
        if server._user is not None:
            entry = pwd.getpwnam(server._user)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        await server._run(
            "initdb", "-D", str(server.datadir), "-U", "postgres", "-A", "trust", "--no-sync"
        )
        await server.resume()
        connection = await asyncpg.connect(
            f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        )
        try:
            await connection.execute("CREATE DATABASE test")
        finally:
            await connection.close()
        return server

    async def _run(self, tool: str, *args: str) -> None:
        command = [str(self._bin / tool), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.workdir,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{tool} failed ({process.returncode}): {output.decode()}")

    async def resume(self) -> None:
        """Start the server (again) and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.workdir} -c fsync=off"
        await self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.workdir / "log"),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        )

    async def halt(self, mode: str = "immediate") -> None:
        """Stop the server: ``immediate`` is a crash (no shutdown checkpoint), ``fast`` clean."""
        await self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    async def restart(self, mode: str = "immediate", down_for: float = 0.0) -> None:
        await self.halt(mode)
        if down_for:
            await asyncio.sleep(down_for)
        await self.resume()

    async def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self.halt("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest_asyncio.fixture
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    server = await PrivatePostgres.start()
    try:
        yield server
    finally:
        await server.stop()
