"""The REST source against a local HTTP server: national-portal field mapping, retries with
jitter, timeouts, 500s, authentication, and the breaker in front of it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from adapters.rest import RestSource
from gateway.cache import CachePolicy
from gateway.clock import ManualClock
from gateway.dossier import Status
from gateway.health import Health
from gateway.lookup import Channel, LookupRequest, Outcome
from gateway.ports import SourceError
from tests.support.lookup_fakes import CODE, build_service, code
from tests.support.rest_backend import TOKEN, RestBackend

ICT = timezone(timedelta(hours=7))
RECORD = {
    "MaHoSo": CODE,
    "TrangThaiHoSo": "5",
    "NgayTiepNhan": "20250220083000",
    "NgayHenTra": "20250305090000",
    "DonViXuLy": "UBND phường Bến Nghé",
    "TenTTHC": "Đăng ký khai sinh",
    "SoDienThoai": "0912345678",
    "ChuHoSo": "Nguyễn Văn Hùng",
    "MaHoSoKhac": "000.00.22.H29-240101-54321",
}


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[RestBackend]:
    server = RestBackend()
    server.add(dict(RECORD))
    await server.start()
    yield server
    await server.stop()


def rest(backend: RestBackend, **overrides: object) -> RestSource:
    kwargs: dict[str, object] = {
        "name": "province",
        "digits_url": backend.base + "/api/hoso?digits={digits}",
        "phone_url": backend.base + "/api/hoso?phone={phone}",
        "headers": {"Authorization": TOKEN},
        "record_path": "data",
        "timeout": 2.0,
        "retries": 2,
        "retry_backoff": 0.01,
        "rng": random.Random(7),
    }
    kwargs.update(overrides)
    return RestSource(backend.base + "/api/hoso/{code}", **kwargs)  # type: ignore[arg-type]


async def test_national_portal_record_is_mapped(backend: RestBackend) -> None:
    source = rest(backend)
    try:
        found = await source.fetch(CODE)
    finally:
        await source.close()

    assert found is not None
    assert found.status is Status.NEEDS_SUPPLEMENT
    assert found.due_at == datetime(2025, 3, 5, 9, 0, tzinfo=ICT)
    assert found.received_at == datetime(2025, 2, 20, 8, 30, tzinfo=ICT)
    assert found.procedure == "Đăng ký khai sinh"
    assert found.alt_codes == ("000.00.22.H29-240101-54321",)
    assert found.phone == "0912345678"


async def test_a_deployment_mapping_overrides_field_names(backend: RestBackend) -> None:
    backend.add({"MaHoSo": "000.00.22.H29-240101-0002", "tt": "releasing", "unit": "Quận 1"})
    source = rest(backend, mapping={"status": "tt", "agency": "unit"})
    try:
        found = await source.fetch("000.00.22.H29-240101-0002")
    finally:
        await source.close()

    assert found is not None
    assert (found.status, found.agency) == (Status.RESULT_READY, "Quận 1")


async def test_404_is_not_found_and_digits_and_phone_searches_work(backend: RestBackend) -> None:
    source = rest(backend)
    try:
        missing = await source.fetch("000.00.22.H29-240101-0099")
        by_digits = await source.fetch_by_digits("0000022292401010001")
        by_phone = await source.fetch_by_phone("+84912345678")
    finally:
        await source.close()

    assert missing is None
    assert [d.code for d in by_digits] == [CODE]
    assert [d.code for d in by_phone] == [CODE]
    assert backend.requests[-1] == "/api/hoso?phone=0912345678"


async def test_500s_are_retried_then_answered(backend: RestBackend) -> None:
    backend.fail_next(500, times=2)
    source = rest(backend)
    try:
        found = await source.fetch(CODE)
    finally:
        await source.close()

    assert found is not None
    assert len(backend.requests) == 3


async def test_persistent_500s_fail_after_the_retries(backend: RestBackend) -> None:
    backend.fail_next(503, times=10)
    source = rest(backend)
    try:
        with pytest.raises(SourceError, match="HTTP 503"):
            await source.fetch(CODE)
    finally:
        await source.close()

    assert len(backend.requests) == 3  # one attempt and two retries


async def test_a_wrong_key_is_not_retried(backend: RestBackend) -> None:
    source = rest(backend, headers={"Authorization": "Bearer wrong"})
    try:
        with pytest.raises(SourceError, match="HTTP 401"):
            await source.fetch(CODE)
    finally:
        await source.close()

    assert len(backend.requests) == 1


async def test_a_silent_backend_times_out_within_the_budget(backend: RestBackend) -> None:
    backend.script.delay = 5.0
    source = rest(backend, timeout=0.3, retries=1)
    try:
        with pytest.raises(SourceError, match=r"gave up after 0\.3 s"):
            await source.fetch(CODE)
    finally:
        await source.close()

    assert len(backend.requests) == 2  # each attempt had half the budget


async def test_a_reply_that_is_not_json_is_a_source_error(backend: RestBackend) -> None:
    source = RestSource(backend.base + "/api/broken/{code}", retries=2)
    try:
        with pytest.raises(SourceError, match="not JSON"):
            await source.fetch(CODE)
    finally:
        await source.close()

    assert len(backend.requests) == 1


async def test_breaker_shields_a_failing_backend_and_stale_answers(backend: RestBackend) -> None:
    clock = ManualClock()
    health = Health(clock)
    source = rest(backend, retries=0)
    service = build_service(
        [source],
        clock=clock,
        health=health,
        breaker=(3, 30.0),
        cache_policy=CachePolicy(ttl_open=60, revalidate_window=0, max_stale=3600),
    )
    assert (await service.lookup(LookupRequest(code(), Channel.SMS))).cache == "miss"
    backend.fail_next(500, times=100)
    clock.advance(61)

    results = [await service.lookup(LookupRequest(code(), Channel.SMS)) for _ in range(10)]

    assert {(r.outcome, r.cache) for r in results} == {(Outcome.FOUND, "stale")}
    assert len(backend.requests) == 1 + 3  # the breaker opened after three failures
    state = health.state("source:province")
    assert state is not None and not state.ok and "open" in state.detail

    clock.advance(31)
    backend.script.statuses.clear()
    recovered = await service.lookup(LookupRequest(code(), Channel.SMS))
    assert (recovered.outcome, recovered.cache) == (Outcome.FOUND, "miss")
    await service.close()


async def test_a_backend_slower_than_the_voice_deadline(backend: RestBackend) -> None:
    """Cached dossiers are answered stale, others "try later", and the caller never waits
    past the voice deadline for a backend that has gone quiet."""
    clock = ManualClock()
    source = rest(backend, timeout=10.0, retries=0)
    service = build_service(
        [source],
        clock=clock,
        cache_policy=CachePolicy(ttl_open=60, revalidate_window=0, max_stale=3600),
        deadlines={Channel.VOICE: 0.3},
    )
    await service.lookup(LookupRequest(code(), Channel.VOICE))
    backend.add({**RECORD, "MaHoSo": "000.00.22.H29-240101-0002"})
    backend.script.delay = 5.0
    clock.advance(61)

    cached = await service.lookup(LookupRequest(code(), Channel.VOICE))
    cold = await service.lookup(LookupRequest(code("000.00.22.H29-240101-0002"), Channel.VOICE))

    assert (cached.outcome, cached.cache) == (Outcome.FOUND, "stale")
    assert cold.outcome is Outcome.UNAVAILABLE
    await service.close()
