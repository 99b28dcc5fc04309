"""Redis behind the dossier cache and the rate-limit counters (redis-py asyncio, hiredis).

One client serves both. It never retries by itself and every socket operation has the cache's
timeout, so a Redis that is down or slow costs a lookup one short wait; the layer above
(:class:`gateway.cache.ResilientCache`, :class:`gateway.ratelimit.ResilientCounters`) then
leaves it alone for a moment and tries again, and the connection pool reconnects on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.cache import CacheEntry, CacheError, decode_entry, encode_entry
from gateway.ratelimit import Count, Counter, CounterError

# Adds to each counter and reads it back, atomically for all of them. A counter's window
# starts with its first increment; amount 0 only reads. Returns value, ms left, per key.
_ADD_COUNTERS = """
local out = {}
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[2 * i - 1])
  local amount = tonumber(ARGV[2 * i])
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
    """Fixed-window counters updated by one server-side script per check."""

    def __init__(self, client: Redis) -> None:
        self.name = "redis"
        self._client = client
        self._script = client.register_script(_ADD_COUNTERS)

    async def add(self, counters: Sequence[Counter]) -> list[Count]:
        args: list[int] = []
        for counter in counters:
            args += [max(1, int(counter.window * 1000)), counter.amount]
        try:
            flat = await self._script(keys=[c.key for c in counters], args=args)
        except (RedisError, OSError) as exc:
            raise CounterError(_describe(exc)) from exc
        values = [int(v) for v in flat]
        return [Count(values[i], values[i + 1] / 1000.0) for i in range(0, len(values), 2)]

    async def close(self) -> None:
        return None  # the client belongs to the cache


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
