"""In-process cache and counters: the embedded default (``memory://``) and the fallback when
Redis is away. Bounded, so a flood of distinct codes cannot grow them without limit."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.cache import CacheEntry
from gateway.clock import Clock
from gateway.ratelimit import Count, Counter

_SWEEP_EVERY = 1024


class MemoryCache:
    """Entries with an expiry on the monotonic clock; the oldest entry goes when full."""

    def __init__(self, clock: Clock, max_entries: int = 100_000) -> None:
        self.name = "memory"
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[CacheEntry, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> CacheEntry | None:
        item = self._entries.get(key)
        if item is None:
            return None
        entry, expires = item
        if self._clock.monotonic() >= expires:
            del self._entries[key]
            return None
        return entry

    async def put(self, key: str, entry: CacheEntry, keep_for: float) -> None:
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (entry, self._clock.monotonic() + keep_for)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class MemoryCounters:
    """Fixed-window counters; a window starts at its counter's first increment."""

    def __init__(self, clock: Clock, max_keys: int = 200_000) -> None:
        self.name = "memory"
        self._clock = clock
        self._max_keys = max_keys
        self._counts: dict[str, tuple[int, float]] = {}
        self._adds = 0

    async def add(self, counters: Sequence[Counter]) -> list[Count]:
        now = self._clock.monotonic()
        self._maybe_sweep(now)
        return [self._add_one(c, now) for c in counters]

    async def close(self) -> None:
        self._counts.clear()

    def _add_one(self, counter: Counter, now: float) -> Count:
        value, ends = self._counts.get(counter.key, (0, 0.0))
        if ends <= now:
            value, ends = 0, now + counter.window
        if counter.amount == 0:
            return Count(value, ends - now if value else 0.0)
        value += counter.amount
        self._counts[counter.key] = (value, ends)
        return Count(value, ends - now)

    def _maybe_sweep(self, now: float) -> None:
        self._adds += 1
        if self._adds % _SWEEP_EVERY and len(self._counts) < self._max_keys:
            return
        self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        while len(self._counts) >= self._max_keys:
            del self._counts[next(iter(self._counts))]
