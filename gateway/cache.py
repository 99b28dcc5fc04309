"""The dossier cache: what an entry is, how long it is good for, and how the cache may fail.

An entry moves through four ages, measured on the wall clock so that several gateway
processes sharing one Redis agree:

    FRESH       served as is.
    REVALIDATE  (fresh_until .. fresh_until + revalidate_window) served at once while one
                background call refreshes it: a popular code never waits for the source.
    STALE       (.. stale_until) served only when the source fails or the channel's deadline
                passes first; otherwise the source answer replaces it.
    EXPIRED     gone (Redis drops it by itself at stale_until).

Final statuses keep longer than open ones (nothing changes after "đã trả kết quả"), and "not
found" is kept briefly and never served stale: a dossier registered a minute ago must appear.

The cache must never be why a lookup fails. :class:`ResilientCache` turns every cache failure
into a miss (or a skipped write), stops asking a failed cache for ``retry_interval`` seconds
so that each lookup does not pay a timeout, then tries again by itself.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

import structlog

from gateway.clock import Clock
from gateway.dossier import Status
from gateway.health import Health
from gateway.privacy import SealedDossier

ENTRY_VERSION = 1


class CacheError(Exception):
    """The cache could not answer (down, slow, corrupt entry); a lookup treats it as a miss."""


class Age(Enum):
    FRESH = "fresh"
    REVALIDATE = "revalidate"
    STALE = "stale"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """An answer from a source: zero dossiers is a "not found"."""

    dossiers: tuple[SealedDossier, ...]
    source: str | None
    stored_at: float  # epoch seconds
    fresh_until: float
    stale_until: float

    @property
    def found(self) -> bool:
        return bool(self.dossiers)


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl_open: float = 60.0
    ttl_final: float = 3600.0
    ttl_negative: float = 10.0
    revalidate_window: float = 30.0
    max_stale: float = 3600.0

    def entry(
        self, dossiers: tuple[SealedDossier, ...], source: str | None, now: float
    ) -> CacheEntry:
        if not dossiers:
            return CacheEntry(
                dossiers, source, now, now + self.ttl_negative, now + self.ttl_negative
            )
        final = all(d.status.is_final for d in dossiers)
        fresh_until = now + (self.ttl_final if final else self.ttl_open)
        return CacheEntry(dossiers, source, now, fresh_until, fresh_until + self.max_stale)

    def age(self, entry: CacheEntry, now: float) -> Age:
        if now < entry.fresh_until:
            return Age.FRESH
        if entry.found and now < entry.fresh_until + self.revalidate_window:
            return Age.REVALIDATE
        if entry.found and now < entry.stale_until:
            return Age.STALE
        return Age.EXPIRED


class DossierCache(Protocol):
    """A shared key-value store of entries; implementations raise :class:`CacheError`."""

    name: str

    async def get(self, key: str) -> CacheEntry | None: ...

    async def put(self, key: str, entry: CacheEntry, keep_for: float) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class ResilientCache:
    """Wraps a cache so that its failures cost a lookup at most one bounded wait."""

    def __init__(
        self,
        cache: DossierCache,
        *,
        clock: Clock,
        health: Health | None = None,
        timeout: float = 0.25,
        retry_interval: float = 1.0,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._health = health
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._down_until: float | None = None
        self._log = structlog.get_logger("statusgw.cache")
        if health is not None:
            health.register("cache", required=False)
            health.report("cache", True, f"{cache.name}: not used yet")

    @property
    def name(self) -> str:
        return self._cache.name

    @property
    def available(self) -> bool:
        return self._down_until is None or self._clock.monotonic() >= self._down_until

    async def get(self, key: str) -> CacheEntry | None:
        if not self.available:
            return None
        try:
            async with asyncio.timeout(self._timeout):
                entry = await self._cache.get(key)
        except (CacheError, TimeoutError) as exc:
            self._failed(exc)
            return None
        self._recovered()
        return entry

    async def put(self, key: str, entry: CacheEntry, now: float) -> None:
        keep_for = entry.stale_until - now
        if keep_for <= 0 or not self.available:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._cache.put(key, entry, keep_for)
        except (CacheError, TimeoutError) as exc:
            self._failed(exc)
            return
        self._recovered()

    async def probe(self) -> bool:
        """Ask the cache whether it is there (for readiness), whatever its recent state."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._cache.ping()
        except (CacheError, TimeoutError) as exc:
            self._failed(exc)
            return False
        self._recovered()
        return True

    async def close(self) -> None:
        await self._cache.close()

    def _failed(self, exc: BaseException) -> None:
        first = self._down_until is None
        self._down_until = self._clock.monotonic() + self._retry_interval
        if first:
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            self._log.warning("cache.down", cache=self._cache.name, reason=reason)
            if self._health is not None:
                self._health.report("cache", False, f"{self._cache.name}: {reason}")

    def _recovered(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            self._log.info("cache.recovered", cache=self._cache.name)
        if self._health is not None:
            state = self._health.state("cache")
            if state is None or not state.ok or state.detail != self._cache.name:
                self._health.report("cache", True, self._cache.name)


# -- the stored form --------------------------------------------------------------------------


def encode_entry(entry: CacheEntry) -> bytes:
    """A compact JSON document; holds no personal data (dossiers are sealed)."""
    return json.dumps(
        {
            "v": ENTRY_VERSION,
            "src": entry.source,
            "at": entry.stored_at,
            "fresh": entry.fresh_until,
            "stale": entry.stale_until,
            "d": [_encode_dossier(d) for d in entry.dossiers],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def decode_entry(raw: bytes | str) -> CacheEntry:
    """Raises :class:`CacheError` for an entry of another version or a damaged one."""
    try:
        doc = json.loads(raw)
        if doc.get("v") != ENTRY_VERSION:
            raise CacheError(f"cache entry version {doc.get('v')!r}")
        return CacheEntry(
            dossiers=tuple(_decode_dossier(d) for d in doc["d"]),
            source=doc["src"],
            stored_at=float(doc["at"]),
            fresh_until=float(doc["fresh"]),
            stale_until=float(doc["stale"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CacheError(f"damaged cache entry: {exc}") from None


def _encode_dossier(d: SealedDossier) -> dict[str, Any]:
    return {
        "code": d.code,
        "status": d.status.value,
        "received": _iso(d.received_at),
        "due": _iso(d.due_at),
        "agency": d.agency,
        "procedure": d.procedure,
        "updated": _iso(d.updated_at),
        "initials": d.initials,
        "pd": d.phone_digest,
        "td": d.tail_digest,
        "alt": list(d.alt_codes),
    }


def _decode_dossier(doc: dict[str, Any]) -> SealedDossier:
    return SealedDossier(
        code=doc["code"],
        status=Status(doc["status"]),
        received_at=_time(doc["received"]),
        due_at=_time(doc["due"]),
        agency=doc["agency"],
        procedure=doc["procedure"],
        updated_at=_time(doc["updated"]),
        initials=doc["initials"],
        phone_digest=doc["pd"],
        tail_digest=doc["td"],
        alt_codes=tuple(doc["alt"]),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
