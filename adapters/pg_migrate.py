"""Versioned schema migrations for the PostgreSQL store, applied when the gateway starts.

Migrations are the files ``adapters/migrations/NNNN_name.sql``, applied in order, each in its
own transaction together with its row in ``schema_migrations`` (version, name, checksum).
Every instance runs :func:`migrate` at start; a session-level ``pg_advisory_lock`` (one key
per schema) makes a second instance starting at the same moment wait, then find nothing left
to do. A migration file edited after it was applied, or a database migrated by a newer
gateway, is refused with a message instead of being guessed at.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class MigrationError(Exception):
    """The schema cannot be brought to this gateway's version; the message says why."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of ``directory``, in version order, numbered 1, 2, 3 ... exactly."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} found where"
                f" {expected:04d} was expected: versions must run 1, 2, 3 ... without gaps"
            )
    return found


def check_schema_name(schema: str) -> str:
    if not _IDENTIFIER.match(schema):
        raise MigrationError(f"schema name {schema!r} must be a lower-case SQL identifier")
    return schema


def lock_key(schema: str) -> int:
    """The advisory lock key of one schema's migrations (a signed 64-bit number)."""
    digest = hashlib.sha256(f"statusgw:migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def migrate(
    connection: asyncpg.Connection, schema: str, migrations: list[Migration] | None = None
) -> list[int]:
    """Bring ``schema`` up to date; return the versions this call applied (often none)."""
    check_schema_name(schema)
    wanted = load_migrations() if migrations is None else migrations
    key = lock_key(schema)
    await connection.execute("SELECT pg_advisory_lock($1)", key)
    try:
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await connection.fetch(
            f"SELECT version, name, checksum FROM {schema}.schema_migrations ORDER BY version"
        )
        applied = {int(row["version"]): (str(row["name"]), str(row["checksum"])) for row in rows}
        _check_applied(applied, wanted, schema)
        done: list[int] = []
        for migration in wanted:
            if migration.version in applied:
                continue
            await _apply(connection, schema, migration)
            done.append(migration.version)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", key)


def _check_applied(
    applied: dict[int, tuple[str, str]], wanted: list[Migration], schema: str
) -> None:
    known = {m.version: m for m in wanted}
    for version, (name, checksum) in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                f"schema {schema} has migration {version:04d}_{name}, which this gateway does"
                " not know: it was migrated by a newer version"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name} changed after it was applied to"
                f" schema {schema}; add a new migration instead of editing an applied one"
            )


async def _apply(connection: asyncpg.Connection, schema: str, migration: Migration) -> None:
    async with connection.transaction():
        await connection.execute(f"SET LOCAL search_path TO {schema}")
        await connection.execute(migration.sql)
        await connection.execute(
            f"INSERT INTO {schema}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            migration.version,
            migration.name,
            migration.checksum,
        )
