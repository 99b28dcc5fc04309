"""The PostgreSQL source against the real server: canonical columns, configurable SQL,
statement timeout, a database that is away, and precedence over a second source."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from adapters.file import FileSource
from adapters.postgres import PostgresSource, default_queries, schema_sql
from gateway.cache import CachePolicy
from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.lookup import Channel, LookupRequest, Outcome
from gateway.ports import SourceError
from tests.support.lookup_fakes import CODE, build_service, code, dossier
from tests.support.redis_server import free_port

pytestmark = pytest.mark.postgres

DSN = "postgresql://postgres@127.0.0.1:5432/test"
ROWS = [
    # code, status, received, due, agency, procedure, phone, applicant, alt_codes
    (CODE, "4", "Đăng ký khai sinh", "+84 912 345 678", "Nguyễn Văn Hùng", []),
    ("000.00.22.H29-240101-0002", "done", "Cấp bản sao", "0912345678", None, []),
    (
        "000.00.22.H29-240101-0003",
        "waiting",
        "Đăng ký kết hôn",
        "0987654321",
        "Trần Thị B",
        ["000.00.22.H29-240101-54321"],
    ),
    ("000.A0.01.H26-210212-9090", "2", "Đăng ký thuế", "0911111111", None, []),
    ("000.B0.01.H26-210212-9090", "2", "Đăng ký thuế", "0922222222", None, []),
    ("000.00.22.H29-240101-0004", "a new word", "Thủ tục mới", None, None, []),
]


@pytest_asyncio.fixture
async def table() -> AsyncIterator[str]:
    """A schema of this test's own with the built-in table, dropped afterwards."""
    schema = f"statusgw_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        name = f"{schema}.dossiers"
        await conn.execute(schema_sql(name))
        # A knob the slow-database tests turn: seconds every slowed query sleeps.
        await conn.execute(f"CREATE TABLE {schema}.knobs (delay float NOT NULL)")
        await conn.execute(f"INSERT INTO {schema}.knobs VALUES (0)")
        await conn.executemany(
            f"INSERT INTO {name} (code, status, received_at, due_at, agency, procedure, phone,"
            " updated_at, applicant, alt_codes) VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $8, $9)",
            [
                (
                    c,
                    s,
                    datetime(2025, 2, 20, 1, 30, tzinfo=UTC),
                    datetime(2025, 3, 5, 2, 0, tzinfo=UTC),
                    "UBND phường Bến Nghé",
                    p,
                    ph,
                    a,
                    alt,
                )
                for c, s, p, ph, a, alt in ROWS
            ],
        )
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


def source_for(table: str, **overrides: object) -> PostgresSource:
    queries = default_queries(table)
    kwargs: dict[str, object] = {
        "query": queries["code"],
        "digits_query": queries["digits"],
        "phone_query": queries["phone"],
        "timeout": 2.0,
        "pool_size": 4,
    }
    kwargs.update(overrides)
    return PostgresSource(DSN, **kwargs)  # type: ignore[arg-type]


async def test_code_is_read_into_the_canonical_model(table: str) -> None:
    source = source_for(table)
    try:
        found = await source.fetch(CODE)
        missing = await source.fetch("000.00.22.H29-240101-0099")
    finally:
        await source.close()

    assert found is not None
    assert found.status is Status.PROCESSING
    assert found.phone == "0912345678"
    assert found.applicant == "Nguyễn Văn Hùng"
    assert found.due_at == datetime(2025, 3, 5, 2, 0, tzinfo=UTC)
    assert missing is None


async def test_alternate_code_digits_and_phone(table: str) -> None:
    source = source_for(table)
    try:
        by_alt = await source.fetch("000.00.22.H29-240101-54321")
        by_digits = await source.fetch_by_digits("000001262102129090")
        by_phone = await source.fetch_by_phone("84912345678")
    finally:
        await source.close()

    assert by_alt is not None and by_alt.code == "000.00.22.H29-240101-0003"
    assert by_alt.status is Status.NEEDS_SUPPLEMENT
    assert sorted(d.code for d in by_digits) == [
        "000.A0.01.H26-210212-9090",
        "000.B0.01.H26-210212-9090",
    ]
    # The returned dossier (status "done") is not offered.
    assert [d.code for d in by_phone] == [CODE]


async def test_an_unknown_status_word_is_unknown_not_missing(table: str) -> None:
    source = source_for(table)
    try:
        found = await source.fetch("000.00.22.H29-240101-0004")
    finally:
        await source.close()

    assert found is not None and found.status is Status.UNKNOWN


async def test_configured_sql_may_rename_columns(table: str) -> None:
    query = (
        "SELECT code AS code, status, received_at, due_at, agency, procedure, phone, "
        f"updated_at FROM {table} WHERE code = $1"
    )
    source = source_for(table, query=query)
    try:
        found = await source.fetch(CODE)
    finally:
        await source.close()

    assert found is not None and found.applicant is None and found.status is Status.PROCESSING


async def test_slow_query_is_cancelled_by_the_statement_timeout(table: str) -> None:
    slow = (
        "SELECT code, status, received_at, due_at, agency, procedure, phone, updated_at "
        f"FROM {table}, pg_sleep(5) WHERE code = $1"
    )
    source = source_for(table, query=slow, timeout=0.3)
    try:
        with pytest.raises(SourceError):
            await source.fetch(CODE)
        # The pooled connection is usable again at once.
        assert await source.fetch_by_phone("0912345678")
    finally:
        await source.close()


async def test_slow_database_past_the_voice_deadline_answers_stale_or_unavailable(
    table: str,
) -> None:
    clock = ManualClock()
    knobs = table.replace(".dossiers", ".knobs")
    slowed = (
        "SELECT code, status, received_at, due_at, agency, procedure, phone, updated_at "
        f"FROM {table}, pg_sleep((SELECT delay FROM {knobs})) WHERE code = $1"
    )
    source = source_for(table, query=slowed, timeout=5.0)
    service = build_service(
        [source],
        clock=clock,
        cache_policy=CachePolicy(ttl_open=60, revalidate_window=0, max_stale=600),
        deadlines={Channel.VOICE: 0.3},
    )
    # Cached while the database was quick; then it slows down past the voice deadline.
    first = await service.lookup(LookupRequest(code(), Channel.VOICE))
    await _set_delay(knobs, 3.0)
    clock.advance(120)

    stale = await service.lookup(LookupRequest(code(), Channel.VOICE))
    cold = await service.lookup(LookupRequest(code("000.00.22.H29-240101-0002"), Channel.VOICE))

    assert (first.outcome, first.cache) == (Outcome.FOUND, "miss")
    assert (stale.outcome, stale.cache) == (Outcome.FOUND, "stale")
    assert cold.outcome is Outcome.UNAVAILABLE
    await service.close()


async def _set_delay(knobs: str, seconds: float) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f"UPDATE {knobs} SET delay = $1", seconds)
    finally:
        await conn.close()


async def test_database_away_is_a_source_error_and_the_next_source_answers() -> None:
    away = PostgresSource(f"postgresql://postgres@127.0.0.1:{free_port()}/test", timeout=0.5)
    national = FileSource([dossier(status=Status.RESULT_READY)], name="national")
    service = build_service([away, national])

    with pytest.raises(SourceError):
        await away.fetch(CODE)
    result = await service.lookup(LookupRequest(code(), Channel.SMS))

    assert (result.outcome, result.source) == (Outcome.FOUND, "national")
    await service.close()


async def test_provincial_database_takes_precedence_over_the_national_view(table: str) -> None:
    province = source_for(table)
    province.name = "province"
    # The national view says "processed" for a dossier the province is waiting documents for.
    national = FileSource(
        [dossier("000.00.22.H29-240101-0003", Status.RESULT_READY)], name="national"
    )
    service = build_service([province, national])

    result = await service.lookup(LookupRequest(code("000.00.22.H29-240101-0003"), Channel.SMS))

    assert result.source == "province"
    assert result.view is not None and result.view.status is Status.NEEDS_SUPPLEMENT
    await service.close()
