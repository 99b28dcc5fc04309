"""Dossiers from PostgreSQL (asyncpg): a provincial database, or a table the gateway is fed.

The deployment gives SQL that returns the canonical columns (``code, status, received_at,
due_at, agency, procedure, phone, updated_at`` and optionally ``applicant``, ``alt_codes``)
for ``$1``: a code, a keypad digits key or a phone number. Empty queries use the built-in
ones over a ``dossiers`` table shaped like :func:`schema_sql`.

Every statement runs under ``statement_timeout`` (the source's timeout), so a slow query is
cancelled by the server instead of holding a pooled connection. The pool is created on first
use and re-created after a failed start, so the gateway starts and recovers while the
database is away.
"""

from __future__ import annotations

import asyncio

import asyncpg

from adapters.records import dossier_from_fields
from gateway.dossier import Dossier
from gateway.phone import normalize_msisdn
from gateway.ports import SourceError
from gateway.settings import SourceSettings

COLUMNS = "code, status, received_at, due_at, agency, procedure, phone, updated_at, " + (
    "applicant, alt_codes"
)

# The shape of the built-in table; {table} may be schema-qualified, {name} is its bare name.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    code         text PRIMARY KEY,
    status       text NOT NULL,
    received_at  timestamptz,
    due_at       timestamptz,
    agency       text NOT NULL DEFAULT '',
    procedure    text NOT NULL DEFAULT '',
    phone        text,
    updated_at   timestamptz,
    applicant    text,
    alt_codes    text[] NOT NULL DEFAULT '{{}}'
);
CREATE INDEX IF NOT EXISTS {name}_alt_codes ON {table} USING gin (alt_codes);
CREATE INDEX IF NOT EXISTS {name}_digits ON {table} ((regexp_replace(code, '[^0-9]', '', 'g')));
CREATE INDEX IF NOT EXISTS {name}_phone
    ON {table} ((right(regexp_replace(phone, '[^0-9]', '', 'g'), 9)));
"""


def schema_sql(table: str = "dossiers") -> str:
    """DDL for the built-in table and the indexes its default queries use."""
    return _SCHEMA.format(table=table, name=table.rpartition(".")[2])


def default_queries(table: str = "dossiers") -> dict[str, str]:
    return {
        "code": f"SELECT {COLUMNS} FROM {table} WHERE code = $1 OR $1 = ANY(alt_codes) LIMIT 2",
        "digits": (
            f"SELECT {COLUMNS} FROM {table} "
            "WHERE regexp_replace(code, '[^0-9]', '', 'g') = $1 LIMIT 20"
        ),
        # The last 9 digits are the subscriber number whatever the prefix (+84, 84, 0).
        "phone": (
            f"SELECT {COLUMNS} FROM {table} "
            "WHERE right(regexp_replace(phone, '[^0-9]', '', 'g'), 9) = right($1, 9) LIMIT 50"
        ),
    }


class PostgresSource:
    def __init__(
        self,
        dsn: str,
        *,
        name: str = "postgres",
        query: str = "",
        digits_query: str = "",
        phone_query: str = "",
        timeout: float = 2.0,
        pool_size: int = 10,
    ) -> None:
        defaults = default_queries()
        self.name = name
        self._dsn = dsn
        self._queries = {
            "code": query or defaults["code"],
            "digits": digits_query or defaults["digits"],
            "phone": phone_query or defaults["phone"],
        }
        self._timeout = timeout
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: SourceSettings) -> PostgresSource:
        return cls(
            settings.dsn,
            name=settings.display_name,
            query=settings.query,
            digits_query=settings.digits_query,
            phone_query=settings.phone_query,
            timeout=settings.timeout,
            pool_size=settings.pool_size,
        )

    async def fetch(self, code: str) -> Dossier | None:
        rows = await self._rows("code", code)
        for row in rows:
            if row.code == code or code in row.alt_codes:
                return row
        return rows[0] if rows else None

    async def fetch_by_digits(self, digits: str) -> list[Dossier]:
        return await self._rows("digits", digits)

    async def fetch_by_phone(self, phone: str) -> list[Dossier]:
        national = normalize_msisdn(phone)
        rows = await self._rows("phone", national)
        return [d for d in rows if d.phone == national and not d.status.is_final]

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _rows(self, kind: str, value: str) -> list[Dossier]:
        pool = await self._get_pool()
        try:
            records = await pool.fetch(self._queries[kind], value, timeout=self._timeout)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise SourceError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        try:
            return [dossier_from_fields(_fields(r), strict=False) for r in records]
        except (ValueError, KeyError) as exc:
            raise SourceError(f"{self.name}: unusable row: {exc}") from exc

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await self._create_pool()
            return self._pool

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._pool_size,
                    command_timeout=self._timeout,
                    server_settings={
                        "statement_timeout": str(max(1, int(self._timeout * 1000))),
                        "application_name": "statusgw",
                    },
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise SourceError(f"{self.name}: cannot connect: {type(exc).__name__}") from exc


def _fields(record: asyncpg.Record) -> dict[str, object]:
    return dict(record.items())
