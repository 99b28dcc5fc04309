"""Redis behind the dossier cache and the rate-limit counters (redis-py asyncio, hiredis).

One client serves both. It never retries by itself and every socket operation has the cache's
timeout, so a Redis that is down or slow costs a lookup one short wait; the layer above
(:class:`gateway.cache.ResilientCache`, :class:`gateway.ratelimit.ResilientCounters`) then
leaves it alone for a moment and tries again, and the connection pool reconnects on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.cache import CacheEntry, CacheError, decode_entry, encode_entry
from gateway.ratelimit import Count, Counter, CounterError

MAX_COUNTER_BATCH = 100  # checks (of up to three counters each) in one script call

# Adds to each counter and reads it back, atomically for all of them. A counter's window
# starts with its first increment; amount 0 only reads. Returns value, ms left, per key.
# ARGV[1] holds "window_ms amount" per key, space-separated: one argument for the whole
# batch costs the client far less to encode than two per key.
_ADD_COUNTERS = """
local out = {}
local numbers = {}
for n in string.gmatch(ARGV[1], "%d+") do numbers[#numbers + 1] = tonumber(n) end
for i, key in ipairs(KEYS) do
  local window = numbers[2 * i - 1]
  local amount = numbers[2 * i]
  local value
  if amount > 0 then
    value = redis.call('INCRBY', key, amount)
  else
    value = tonumber(redis.call('GET', key) or '0')
  end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    if amount > 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    else
      ttl = 0
    end
  end
  out[#out + 1] = value
  out[#out + 1] = ttl
end
return out
"""


def connect(url: str, *, timeout: float, max_connections: int = 64) -> Redis:
    """A client for ``url`` that fails fast instead of retrying.

    The pool blocks (up to ``timeout``) for a free connection instead of failing at once, so
    a burst of lookups queues for the connections instead of erring.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=0,
    )
    return Redis.from_pool(pool)


class RedisCache:
    """Entries as compact JSON under versioned keys, expiring by themselves."""

    def __init__(self, client: Redis, *, owner: bool = False) -> None:
        self.name = "redis"
        self._client = client
        self._owner = owner

    async def get(self, key: str) -> CacheEntry | None:
        try:
            raw = await self._client.get(key)
        except (RedisError, OSError) as exc:
            raise CacheError(_describe(exc)) from exc
        if raw is None:
            return None
        try:
            return decode_entry(raw)
        except CacheError:
            return None  # an entry this version cannot read is a miss, not an outage

    async def put(self, key: str, entry: CacheEntry, keep_for: float) -> None:
        try:
            await self._client.set(key, encode_entry(entry), px=max(1, int(keep_for * 1000)))
        except (RedisError, OSError) as exc:
            raise CacheError(_describe(exc)) from exc

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(key)
        except (RedisError, OSError) as exc:
            raise CacheError(_describe(exc)) from exc

    async def ping(self) -> None:
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise CacheError(_describe(exc)) from exc

    async def close(self) -> None:
        if self._owner:
            await self._client.aclose()


class RedisCounters:
    """Fixed-window counters updated by one server-side script call per batch of checks.

    Checks made while a call is on its way go together in the next one (a group commit, as
    the PostgreSQL store does with its writes). The script treats every key on its own, in
    order, so one call for many checks counts exactly what separate calls would; at full
    load one round trip serves dozens of lookups instead of one (bench/lookup.py, a lookup
    counted against its sender: 4.8k/s with a call each, 11k/s batched, same machine).
    """

    def __init__(self, client: Redis, *, max_batch: int = MAX_COUNTER_BATCH) -> None:
        self.name = "redis"
        self._client = client
        self._script = client.register_script(_ADD_COUNTERS)
        self._max_batch = max_batch
        self._waiting: list[tuple[Sequence[Counter], asyncio.Future[list[Count]]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def add(self, counters: Sequence[Counter]) -> list[Count]:
        future: asyncio.Future[list[Count]] = asyncio.get_running_loop().create_future()
        self._waiting.append((counters, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_waiting())
        return await future

    async def _send_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = (
                self._waiting[: self._max_batch],
                self._waiting[self._max_batch :],
            )
            try:
                counts = await self._run([c for checks, _ in batch for c in checks])
            except Exception as exc:  # every check of the batch learns of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for checks, future in batch:
                if not future.done():  # its caller may have given up (timeout)
                    future.set_result(counts[start : start + len(checks)])
                start += len(checks)

    async def _run(self, counters: Sequence[Counter]) -> list[Count]:
        numbers = " ".join(f"{max(1, int(c.window * 1000))} {c.amount}" for c in counters)
        try:
            flat = await self._script(keys=[c.key for c in counters], args=[numbers])
        except (RedisError, OSError) as exc:
            raise CounterError(_describe(exc)) from exc
        values = [int(v) for v in flat]
        return [Count(values[i], values[i + 1] / 1000.0) for i in range(0, len(values), 2)]

    async def close(self) -> None:
        if self._sender is not None:  # the client itself belongs to the cache
            await asyncio.gather(self._sender, return_exceptions=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
