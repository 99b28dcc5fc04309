"""Schema migrations against the real PostgreSQL: applied once, in order, refused when unsafe."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from adapters.pg_migrate import (
    Migration,
    MigrationError,
    load_migrations,
    migrate,
)
from tests.support.pg import PgSchema

pytestmark = pytest.mark.postgres


async def _versions(schema: PgSchema) -> list[int]:
    connection = await asyncpg.connect(schema.url)
    try:
        rows = await connection.fetch(
            f"SELECT version FROM {schema.schema}.schema_migrations ORDER BY version"
        )
        return [int(row["version"]) for row in rows]
    finally:
        await connection.close()


def test_the_shipped_migrations_are_numbered_without_gaps() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert {"messages", "notifications", "audit"} <= {m.name for m in migrations}


def test_a_gap_in_the_numbers_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0003_c found where 0002 was expected"):
        load_migrations(tmp_path)


async def test_instances_starting_together_apply_each_migration_once(pg_schema: PgSchema) -> None:
    # A migration that fails if it runs twice: the lock, not luck, keeps it to one run.
    slow = [
        Migration(1, "first", "CREATE TABLE once (x int); SELECT pg_sleep(0.3);"),
        Migration(2, "second", "INSERT INTO once VALUES (1);"),
    ]
    connections = [await asyncpg.connect(pg_schema.url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c, pg_schema.schema, slow) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    assert sorted(results) == [[], [], [], [1, 2]]
    assert await _versions(pg_schema) == [1, 2]
    connection = await asyncpg.connect(pg_schema.url)
    try:
        assert await connection.fetchval(f"SELECT count(*) FROM {pg_schema.schema}.once") == 1
    finally:
        await connection.close()


async def test_the_real_migrations_apply_and_a_second_start_does_nothing(
    pg_schema: PgSchema,
) -> None:
    connection = await asyncpg.connect(pg_schema.url)
    try:
        first = await migrate(connection, pg_schema.schema)
        second = await migrate(connection, pg_schema.schema)
    finally:
        await connection.close()
    assert first == [m.version for m in load_migrations()]
    assert second == []


async def test_an_edited_migration_is_refused(pg_schema: PgSchema) -> None:
    connection = await asyncpg.connect(pg_schema.url)
    try:
        await migrate(connection, pg_schema.schema, [Migration(1, "a", "CREATE TABLE a (x int);")])
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(
                connection, pg_schema.schema, [Migration(1, "a", "CREATE TABLE a (y int);")]
            )
    finally:
        await connection.close()


async def test_a_database_from_a_newer_gateway_is_refused(pg_schema: PgSchema) -> None:
    connection = await asyncpg.connect(pg_schema.url)
    newer = [Migration(1, "a", "SELECT 1;"), Migration(2, "b", "SELECT 2;")]
    try:
        await migrate(connection, pg_schema.schema, newer)
        with pytest.raises(MigrationError, match="migrated by a newer version"):
            await migrate(connection, pg_schema.schema, newer[:1])
    finally:
        await connection.close()


async def test_a_failing_migration_leaves_no_trace(pg_schema: PgSchema) -> None:
    connection = await asyncpg.connect(pg_schema.url)
    broken = [
        Migration(1, "ok", "CREATE TABLE ok (x int);"),
        Migration(2, "bad", "CREATE TABLE half (x int); SELECT no_such_function();"),
    ]
    try:
        with pytest.raises(asyncpg.PostgresError):
            await migrate(connection, pg_schema.schema, broken)
        assert await _versions(pg_schema) == [1]
        exists = await connection.fetchval("SELECT to_regclass($1)", f"{pg_schema.schema}.half")
        assert exists is None
        # and the lock was released: a fixed migration goes through
        fixed = [broken[0], Migration(2, "bad", "CREATE TABLE half (x int);")]
        assert await migrate(connection, pg_schema.schema, fixed) == [2]
    finally:
        await connection.close()
