"""The lookup service over the real Redis: TTLs, negative caching, stale-if-error, single-flight,
atomic budgets, and Redis stopped or frozen mid-run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from adapters.memory import MemoryCounters
from adapters.redis_store import RedisCache, RedisCounters, connect
from gateway.cache import CachePolicy
from gateway.clock import ManualClock, SystemClock
from gateway.dossier import Status
from gateway.health import Health
from gateway.lookup import Channel, LookupRequest, Outcome
from gateway.ports import SourceError
from gateway.ratelimit import Counter, RateLimits, ResilientCounters
from tests.support.lookup_fakes import CODE, ScriptedSource, build_service, code, dossier
from tests.support.redis_server import SHARED_REDIS_URL, RedisServer

pytestmark = pytest.mark.redis


@pytest_asyncio.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = connect(SHARED_REDIS_URL, timeout=2.0)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def prefix(redis_client: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    value = f"statusgw-test:{uuid.uuid4().hex[:12]}"
    yield value
    keys = [k async for k in redis_client.scan_iter(match=f"{value}:*", count=1000)]
    if keys:
        await redis_client.delete(*keys)


def request(text: str = CODE, requester: str | None = None) -> LookupRequest:
    return LookupRequest(code(text), Channel.SMS, requester)


async def test_entries_expire_by_status_class_in_redis(redis_client: Redis, prefix: str) -> None:
    returned = dossier("000.00.22.H29-240101-0002", Status.RETURNED)
    policy = CachePolicy(ttl_open=60, ttl_final=3600, ttl_negative=10, max_stale=600)
    service = build_service(
        [ScriptedSource([dossier(), returned])],
        cache=RedisCache(redis_client),
        cache_policy=policy,
        key_prefix=prefix,
    )

    await service.lookup(request())
    await service.lookup(request(returned.code))
    await service.lookup(request("000.00.22.H29-240101-0009"))

    open_ttl = await redis_client.pttl(f"{prefix}:dossier:{CODE}")
    final_ttl = await redis_client.pttl(f"{prefix}:dossier:{returned.code}")
    negative_ttl = await redis_client.pttl(f"{prefix}:dossier:000.00.22.H29-240101-0009")
    assert 600_000 < open_ttl <= 660_000  # ttl_open + max_stale
    assert 4_100_000 < final_ttl <= 4_200_000  # ttl_final + max_stale
    assert 0 < negative_ttl <= 10_000  # never kept stale
    await service.close()


async def test_cached_entry_holds_no_phone_number_or_name(redis_client: Redis, prefix: str) -> None:
    service = build_service(
        [ScriptedSource([dossier()])], cache=RedisCache(redis_client), key_prefix=prefix
    )
    await service.lookup(request())

    raw = await redis_client.get(f"{prefix}:dossier:{CODE}")

    assert raw is not None
    text = raw.decode()
    assert "912345678" not in text
    assert "Nguyễn" not in text
    assert "N.V.H." in text
    await service.close()


async def test_negative_entry_shields_the_source_then_expires(
    redis_client: Redis, prefix: str
) -> None:
    clock = ManualClock()
    source = ScriptedSource()
    service = build_service(
        [source],
        clock=clock,
        cache=RedisCache(redis_client),
        cache_policy=CachePolicy(ttl_negative=10),
        key_prefix=prefix,
    )
    for _ in range(5):
        assert (await service.lookup(request())).outcome is Outcome.NOT_FOUND
    assert len(source.calls) == 1

    clock.advance(11)
    source.put(dossier())
    assert (await service.lookup(request())).outcome is Outcome.FOUND
    assert len(source.calls) == 2
    await service.close()


async def test_stale_entry_from_redis_answers_when_the_source_fails(
    redis_client: Redis, prefix: str
) -> None:
    clock = ManualClock()
    source = ScriptedSource([dossier()])
    service = build_service(
        [source],
        clock=clock,
        cache=RedisCache(redis_client),
        cache_policy=CachePolicy(ttl_open=60, revalidate_window=0, max_stale=600),
        key_prefix=prefix,
    )
    await service.lookup(request())
    source.fail = SourceError("backend down")
    clock.advance(120)

    result = await service.lookup(request())

    assert (result.outcome, result.cache) == (Outcome.FOUND, "stale")
    await service.close()


async def test_a_thousand_concurrent_lookups_of_a_cold_code_make_one_source_call(
    prefix: str,
) -> None:
    # The 1,000 budget checks queue for the pool's connections; on a busy machine that
    # queue can be slower than the usual timeouts, which is not what this test is about.
    client = connect(SHARED_REDIS_URL, timeout=15.0)
    source = ScriptedSource([dossier()])
    service = build_service(
        [source],
        cache=RedisCache(client, owner=True),
        counters=RedisCounters(client),
        key_prefix=prefix,
        clock=SystemClock(),
        cache_timeout=15.0,
    )

    results = await asyncio.gather(
        *(service.lookup(request(requester=f"09{n:08d}")) for n in range(1000))
    )

    assert [r.outcome for r in results] == [Outcome.FOUND] * 1000
    assert source.calls == [("code", CODE)]
    await service.close()


async def test_budget_is_counted_atomically_across_concurrent_lookups(
    redis_client: Redis, prefix: str
) -> None:
    service = build_service(
        [ScriptedSource([dossier()])],
        cache=RedisCache(redis_client),
        counters=RedisCounters(redis_client),
        limits=RateLimits(sender_per_minute=10, sender_per_day=100),
        key_prefix=prefix,
        clock=SystemClock(),
    )

    results = await asyncio.gather(
        *(service.lookup(request(requester="0912345678")) for _ in range(100))
    )

    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.FOUND) == 10
    assert outcomes.count(Outcome.RATE_LIMITED) == 90
    await service.close()


async def test_counter_script_reads_without_counting(redis_client: Redis, prefix: str) -> None:
    counters = RedisCounters(redis_client)
    key = f"{prefix}:rate:x:{{s}}"

    empty, first = await counters.add([Counter(key, 60, amount=0), Counter(key, 60)])
    (peek,) = await counters.add([Counter(key, 60, amount=0)])

    assert (empty.value, empty.resets_in) == (0, 0.0)
    assert first.value == 1 and 59 < first.resets_in <= 60
    assert peek.value == 1


# -- faults on a private Redis ----------------------------------------------------------------


@pytest_asyncio.fixture
async def private_redis() -> AsyncIterator[RedisServer]:
    server = await RedisServer.start()
    yield server
    await server.stop()


async def test_concurrent_checks_go_in_few_script_calls_each_with_its_own_counts(
    private_redis: RedisServer,
) -> None:
    client = connect(private_redis.url, timeout=2.0)
    counters = RedisCounters(client)

    results = await asyncio.gather(
        *(
            counters.add([Counter("rate:m:{s}", 60), Counter("rate:nf:{s}", 3600, amount=0)])
            for _ in range(60)
        )
    )

    assert sorted(minute.value for minute, _ in results) == list(range(1, 61))
    assert all(not_found.value == 0 for _, not_found in results)
    stats = await client.info("commandstats")
    scripts = sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("eval", "evalsha"))
    assert 1 <= scripts <= 3  # not 60: checks made while one call is out share the next
    await client.aclose()


async def test_lookups_keep_answering_while_redis_is_killed_and_restarted(
    private_redis: RedisServer,
) -> None:
    clock = SystemClock()
    health = Health(clock)
    client = connect(private_redis.url, timeout=0.2)
    codes = [f"000.00.22.H29-240101-{n:04d}" for n in range(1, 21)]
    source = ScriptedSource([dossier(c) for c in codes])
    counters = ResilientCounters(
        RedisCounters(client), MemoryCounters(clock), clock=clock, timeout=0.2, retry_interval=0.2
    )
    service = build_service(
        [source],
        clock=clock,
        health=health,
        cache=RedisCache(client, owner=True),
        counters=counters,
        cache_timeout=0.2,
        cache_policy=CachePolicy(ttl_open=0.5, revalidate_window=0, max_stale=0),
        deadlines={Channel.VOICE: 1.5},
    )
    outcomes: list[Outcome] = []
    stop = asyncio.Event()

    async def caller() -> None:
        n = 0
        while not stop.is_set():
            request = LookupRequest(code(codes[n % len(codes)]), Channel.VOICE, f"09{n:08d}")
            outcomes.append((await service.lookup(request)).outcome)
            n += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(caller())
    await until(lambda: len(outcomes) >= 50)
    await private_redis.kill()
    await until(lambda: not _ok(health))
    down_at = len(outcomes)
    await until(lambda: len(outcomes) >= down_at + 100)

    await private_redis.restart()
    restarted = Redis.from_url(private_redis.url)
    try:
        await until(lambda: _ok(health), timeout=10)
        await until_async(lambda: _has_entries(restarted), timeout=10)
    finally:
        await restarted.aclose()
    stop.set()
    await task

    assert outcomes and set(outcomes) == {Outcome.FOUND}
    await service.close()


async def test_a_frozen_redis_costs_lookups_only_the_cache_timeout(
    private_redis: RedisServer,
) -> None:
    clock = SystemClock()
    client = connect(private_redis.url, timeout=0.1)
    source = ScriptedSource([dossier()])
    service = build_service(
        [source],
        clock=clock,
        cache=RedisCache(client, owner=True),
        cache_timeout=0.1,
        deadlines={Channel.VOICE: 1.0},
    )
    admin = Redis.from_url(private_redis.url)
    try:
        # Freeze every client for longer than the voice deadline.
        await admin.execute_command("CLIENT", "PAUSE", "3000", "ALL")
        results = [await service.lookup(LookupRequest(code(), Channel.VOICE)) for _ in range(5)]
    finally:
        await admin.aclose()

    assert [r.outcome for r in results] == [Outcome.FOUND] * 5
    await service.close()


def _ok(health: Health) -> bool:
    state = health.state("cache")
    return state is not None and state.ok


async def _has_entries(client: Redis) -> bool:
    return bool(await client.dbsize())


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polling a plain predicate)
            await asyncio.sleep(0.01)


async def until_async(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():  # noqa: ASYNC110 (polling a server)
            await asyncio.sleep(0.02)


async def test_the_factory_builds_a_redis_backed_service(redis_client: Redis, prefix: str) -> None:
    from gateway.lookup_factory import build_lookup
    from gateway.settings import build_settings

    clock = SystemClock()
    health = Health(clock)
    settings = build_settings(
        {"cache": {"url": SHARED_REDIS_URL, "key_prefix": prefix, "seal_key": "s" * 20}}
    )
    service = build_lookup(settings, health, clock)
    await redis_client.set(f"{prefix}:dossier:{CODE}", b"an entry from another version")

    first = await service.lookup(request())
    second = await service.lookup(request())
    await service.close()

    assert (first.outcome, first.cache, first.source) == (Outcome.FOUND, "miss", "file")
    assert second.cache == "hit"
    state = health.state("cache")
    assert state is not None and state.ok and state.detail == "redis"
