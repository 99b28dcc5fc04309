"""Fakes for the lookup layer: a source whose behaviour a test scripts, and a service builder."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from adapters.memory import MemoryCache, MemoryCounters
from gateway.breaker import CircuitBreaker
from gateway.cache import CachePolicy, DossierCache, ResilientCache
from gateway.clock import Clock, ManualClock
from gateway.codes import DossierCode, digits_key, parse_dossier_code
from gateway.dossier import Dossier, Status
from gateway.health import Health
from gateway.lookup import Channel, LookupPolicy, LookupService
from gateway.phone import normalize_msisdn
from gateway.ports import DossierSource, SourceError
from gateway.privacy import Sealer
from gateway.ratelimit import CounterStore, RateLimiter, RateLimits
from gateway.sources import GuardedSource, SourceChain

SEAL_KEY = b"test-seal-key-0123456789abcdef"
CODE = "000.00.22.H29-240101-0001"
PHONE = "0912345678"


def code(text: str = CODE) -> DossierCode:
    parsed = parse_dossier_code(text)
    assert parsed is not None, text
    return parsed


def dossier(
    text: str = CODE,
    status: Status = Status.PROCESSING,
    *,
    phone: str | None = PHONE,
    due: datetime | None = None,
    applicant: str | None = "Nguyễn Văn Hùng",
    procedure: str = "Đăng ký khai sinh",
    alt_codes: tuple[str, ...] = (),
) -> Dossier:
    return Dossier(
        code=text,
        status=status,
        received_at=datetime(2025, 2, 20, 1, 30, tzinfo=UTC),
        due_at=due or datetime(2025, 3, 5, 2, 0, tzinfo=UTC),
        agency="UBND phường Bến Nghé",
        procedure=procedure,
        phone=phone,
        updated_at=datetime(2025, 2, 20, 1, 30, tzinfo=UTC),
        applicant=applicant,
        alt_codes=alt_codes,
    )


class ScriptedSource:
    """A source over a dict; a test can make it fail, hang, or wait for a release."""

    def __init__(self, dossiers: Sequence[Dossier] = (), name: str = "scripted") -> None:
        self.name = name
        self.dossiers = {d.code: d for d in dossiers}
        self.calls: list[tuple[str, str]] = []
        self.fail: Exception | None = None
        self.hang = False
        self.gate: asyncio.Event | None = None

    def put(self, item: Dossier) -> None:
        self.dossiers[item.code] = item

    async def _enter(self, kind: str, key: str) -> None:
        self.calls.append((kind, key))
        if self.gate is not None:
            await self.gate.wait()
        if self.hang:
            await asyncio.Event().wait()
        if self.fail is not None:
            raise self.fail

    async def fetch(self, code: str) -> Dossier | None:
        await self._enter("code", code)
        for item in self.dossiers.values():
            if code == item.code or code in item.alt_codes:
                return item
        return None

    async def fetch_by_digits(self, digits: str) -> list[Dossier]:
        await self._enter("digits", digits)
        return [d for d in self.dossiers.values() if digits_key(d.code) == digits]

    async def fetch_by_phone(self, phone: str) -> list[Dossier]:
        await self._enter("phone", phone)
        return [
            d
            for d in self.dossiers.values()
            if d.phone and normalize_msisdn(d.phone) == phone and not d.status.is_final
        ]

    async def close(self) -> None:
        return None


def failing(source: ScriptedSource, message: str = "backend down") -> ScriptedSource:
    source.fail = SourceError(message)
    return source


def build_service(
    sources: Sequence[DossierSource],
    *,
    clock: Clock | None = None,
    health: Health | None = None,
    cache: DossierCache | None = None,
    counters: CounterStore | None = None,
    limits: RateLimits | None = None,
    cache_policy: CachePolicy | None = None,
    deadlines: dict[Channel, float] | None = None,
    source_timeout: float = 5.0,
    breaker: tuple[int, float] = (5, 30.0),
    cache_timeout: float = 0.25,
    key_prefix: str = "statusgw:v1",
) -> LookupService:
    clock = clock or ManualClock()
    sealer = Sealer(SEAL_KEY)
    chain = SourceChain(
        [
            GuardedSource(
                s,
                clock=clock,
                timeout=source_timeout,
                breaker=CircuitBreaker(*breaker),
                health=health,
            )
            for s in sources
        ]
    )
    resilient = ResilientCache(
        cache or MemoryCache(clock), clock=clock, health=health, timeout=cache_timeout
    )
    limiter = RateLimiter(
        counters or MemoryCounters(clock),
        limits or RateLimits(sender_per_minute=0, sender_per_day=0),
        sealer,
        prefix=key_prefix,
    )
    policy = LookupPolicy(cache=cache_policy or CachePolicy(), key_prefix=key_prefix)
    if deadlines:
        policy = replace(policy, deadlines=deadlines)
    return LookupService(
        sources=chain, cache=resilient, limiter=limiter, sealer=sealer, clock=clock, policy=policy
    )
