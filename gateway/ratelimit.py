"""Per-sender and per-client budgets, and the defence against code enumeration.

Codes are guessable (agency, date and a daily counter), so someone can sweep neighbouring
numbers to learn about other people's dossiers. The defences:

- every sender (SMS number or caller ID) has a per-minute and a per-day budget, every HTTP
  client (API key) a per-minute budget;
- a sender whose lookups keep hitting unknown codes (``not_found_threshold`` within
  ``not_found_window``) is *suspect*: its budget drops to ``suspect_per_minute`` for the rest
  of the window, and one alert is logged when it crosses the line.

Counters live in a :class:`CounterStore` (Redis in production: one atomic script per check, so
several gateway processes share the budget). Keys carry a keyed digest of the phone number,
never the number. If the store fails, counting goes on in process memory until it is back:
limits stay roughly right and no lookup fails because of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from gateway.clock import Clock
from gateway.privacy import Sealer

MINUTE = 60.0
DAY = 86400.0


class CounterError(Exception):
    """The counter store could not answer."""


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    window: float  # seconds; the window starts at the first increment
    amount: int = 1  # 0 reads without counting


@dataclass(frozen=True, slots=True)
class Count:
    value: int
    resets_in: float  # seconds until the window ends (0 when the key does not exist)


class CounterStore(Protocol):
    name: str

    async def add(self, counters: Sequence[Counter]) -> list[Count]:
        """Add to every counter at once (atomically where the store can) and read them back."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RateLimits:
    sender_per_minute: int = 5  # 0 = no limit
    sender_per_day: int = 50
    client_per_minute: int = 600
    not_found_threshold: int = 10
    not_found_window: float = 3600.0
    suspect_per_minute: int = 1


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    retry_after: float = 0.0  # seconds, when refused
    suspect: bool = False


ALLOWED = Admission(True)


class RateLimiter:
    def __init__(
        self,
        store: CounterStore,
        limits: RateLimits,
        sealer: Sealer,
        *,
        prefix: str = "statusgw:v1",
    ) -> None:
        self._store = store
        self._limits = limits
        self._sealer = sealer
        self._prefix = prefix
        self._log = structlog.get_logger("statusgw.ratelimit")

    @property
    def limits(self) -> RateLimits:
        return self._limits

    async def admit_sender(self, requester: str) -> Admission:
        """Count one lookup by this sender; refused when a budget is spent."""
        limits = self._limits
        if not (limits.sender_per_minute or limits.sender_per_day or limits.not_found_threshold):
            return ALLOWED
        subject = self._sealer.phone_digest(requester)
        counters = [
            Counter(self._key("sender", subject, "m"), MINUTE),
            Counter(self._key("sender", subject, "d"), DAY),
            Counter(self._key("notfound", subject), limits.not_found_window, amount=0),
        ]
        minute, day, not_found = await self._store.add(counters)
        refused = _over((minute, limits.sender_per_minute), (day, limits.sender_per_day))
        suspect = 0 < limits.not_found_threshold <= not_found.value
        if refused is None and suspect:
            (slow,) = await self._store.add([Counter(self._key("suspect", subject), MINUTE)])
            refused = _over((slow, limits.suspect_per_minute))
        if refused is not None:
            return Admission(False, refused, suspect)
        return Admission(True, 0.0, suspect)

    async def admit_client(self, client: str) -> Admission:
        """Count one request by an HTTP client (its API key's id)."""
        if not self._limits.client_per_minute:
            return ALLOWED
        key = self._key("client", self._sealer.digest("client", client), "m")
        (minute,) = await self._store.add([Counter(key, MINUTE)])
        refused = _over((minute, self._limits.client_per_minute))
        return ALLOWED if refused is None else Admission(False, refused)

    async def record_not_found(self, requester: str) -> None:
        """Count a lookup of an unknown code; alert once when the sender becomes suspect."""
        threshold = self._limits.not_found_threshold
        if threshold <= 0:
            return
        subject = self._sealer.phone_digest(requester)
        key = self._key("notfound", subject)
        (count,) = await self._store.add([Counter(key, self._limits.not_found_window)])
        if count.value == threshold:
            self._log.warning(
                "lookup.enumeration_suspected",
                sender=requester,
                subject=subject[:12],
                not_found=count.value,
                window_s=self._limits.not_found_window,
            )

    def _key(self, kind: str, subject: str, suffix: str = "") -> str:
        # The subject in braces keeps one sender's counters in one Redis Cluster slot, so
        # the script that updates them together may run.
        key = f"{self._prefix}:rate:{kind}:{{{subject}}}"
        return f"{key}:{suffix}" if suffix else key


def _over(*pairs: tuple[Count, int]) -> float | None:
    """Seconds to wait if any count exceeds its (non-zero) limit, else ``None``."""
    waits = [count.resets_in for count, limit in pairs if 0 < limit < count.value]
    return max(waits) if waits else None


class ResilientCounters:
    """Counts in the shared store while it answers, in process memory while it does not."""

    def __init__(
        self,
        store: CounterStore,
        fallback: CounterStore,
        *,
        clock: Clock,
        timeout: float = 0.25,
        retry_interval: float = 1.0,
    ) -> None:
        self._store = store
        self._fallback = fallback
        self._clock = clock
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._down_until: float | None = None
        self._log = structlog.get_logger("statusgw.ratelimit")
        self.name = store.name

    async def add(self, counters: Sequence[Counter]) -> list[Count]:
        if self._down_until is not None and self._clock.monotonic() < self._down_until:
            return await self._fallback.add(counters)
        try:
            async with asyncio.timeout(self._timeout):
                counts = await self._store.add(counters)
        except (CounterError, TimeoutError) as exc:
            if self._down_until is None:
                reason = str(exc) or type(exc).__name__
                self._log.warning("ratelimit.store_down", store=self.name, reason=reason)
            self._down_until = self._clock.monotonic() + self._retry_interval
            return await self._fallback.add(counters)
        if self._down_until is not None:
            self._log.info("ratelimit.store_recovered", store=self.name)
            self._down_until = None
        return counts

    async def close(self) -> None:
        await self._store.close()
        await self._fallback.close()
