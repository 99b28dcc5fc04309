"""The one question every channel asks: "where is dossier X?", answered correctly, fast,
privately, and even when a backend fails.

A lookup goes: budget check (per sender) → cache → sources → disclosure.

Single-flight. Lookups of one key share one *flight*: a task that reads the cache and, when
the entry is missing or too old, asks the sources and stores the answer before it finishes.
However many citizens (or retries, or a broadcast SMS) ask for one cold code at once, the
sources see one call, and a lookup that arrives just after the flight landed finds the entry
in the cache.

Deadlines. Each channel waits at most its own deadline (the hotline cannot keep a caller
waiting as long as an SMS can). The flight is shielded: a channel that gives up does not
cancel it, so its answer still reaches the cache for the next caller. When the deadline passes
or the sources fail, a stale entry (within ``max_stale``) is served if there is one, otherwise
the answer is UNAVAILABLE, which every channel words as "try again later".

Nothing below raises to a channel: sources and caches fail into outcomes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import structlog

from gateway.cache import Age, CacheEntry, CachePolicy, ResilientCache
from gateway.clock import Clock
from gateway.codes import DossierCode
from gateway.errors import ErrorId
from gateway.phone import normalize_msisdn
from gateway.ports import SourceError
from gateway.privacy import Disclosure, DossierView, SealedDossier, Sealer, disclose
from gateway.ratelimit import Admission, RateLimiter
from gateway.sources import SourceAnswer, SourceChain

__all__ = [
    "Channel",
    "DigitsKind",
    "DigitsMatch",
    "Disclosure",
    "DossierView",
    "LookupDone",
    "LookupPolicy",
    "LookupRequest",
    "LookupResult",
    "LookupService",
    "Outcome",
]

MAX_DIGITS = 32


class Channel(Enum):
    SMS = "sms"
    VOICE = "voice"
    HTTP = "http"
    CONSOLE = "console"  # an operator looking a dossier up on the console


@dataclass(frozen=True, slots=True)
class LookupRequest:
    code: DossierCode
    channel: Channel
    requester: str | None = None  # SMS sender or caller number, any spelling
    factor: str | None = None  # last 4 digits of the dossier's phone, or the whole number
    actor: str | None = None  # who asked, when not a phone: an API client's name, an operator


class Outcome(Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"

    @property
    def error_id(self) -> ErrorId | None:
        return _OUTCOME_ERRORS.get(self)


_OUTCOME_ERRORS = {
    Outcome.NOT_FOUND: ErrorId.DOSSIER_NOT_FOUND,
    Outcome.UNAVAILABLE: ErrorId.LOOKUP_UNAVAILABLE,
    Outcome.RATE_LIMITED: ErrorId.RATE_LIMITED,
}


@dataclass(frozen=True, slots=True)
class LookupResult:
    outcome: Outcome
    view: DossierView | None
    source: str | None  # the source that gave the answer, when one did
    cache: str  # "hit" | "miss" | "stale" | "none"
    retry_after: float | None = None  # seconds, for RATE_LIMITED and UNAVAILABLE
    suspect: bool = False  # the sender looked up many unknown codes lately

    @property
    def error_id(self) -> ErrorId | None:
        return self.outcome.error_id


class DigitsKind(Enum):
    UNIQUE = "unique"  # one dossier has this digits key: ``result`` holds it
    AMBIGUOUS = "ambiguous"  # several do: ask for more (the full code, the agency)
    NONE = "none"  # none does, or no answer: ``result.outcome`` says which


@dataclass(frozen=True, slots=True)
class DigitsMatch:
    kind: DigitsKind
    result: LookupResult
    candidates: int = 0  # dossiers sharing the key; their codes are never revealed

    @property
    def error_id(self) -> ErrorId | None:
        if self.kind is DigitsKind.AMBIGUOUS:
            return ErrorId.DOSSIER_AMBIGUOUS
        return self.result.error_id


@dataclass(frozen=True, slots=True)
class LookupDone:
    """One finished lookup, for the audit and the metrics (listeners must not block)."""

    channel: Channel
    requester: str | None  # as given: a listener that keeps it masks it
    actor: str | None
    code: str  # the canonical code, or the keypad digits when none was found
    result: LookupResult
    seconds: float


LookupListener = Callable[[LookupDone], None]


@dataclass(frozen=True, slots=True)
class LookupPolicy:
    cache: CachePolicy = field(default_factory=CachePolicy)
    deadlines: Mapping[Channel, float] = field(
        default_factory=lambda: {Channel.SMS: 5.0, Channel.VOICE: 1.5, Channel.HTTP: 3.0}
    )
    unavailable_retry_after: float = 30.0
    key_prefix: str = "statusgw:v1"
    # A landed flight with a fresh answer stays joinable this long (never past freshness), so
    # lookups arriving just after it share its answer even when the cache is slow or down.
    flight_linger: float = 1.0

    def deadline(self, channel: Channel) -> float:
        return self.deadlines.get(channel, 3.0)


@dataclass(frozen=True, slots=True)
class _Answer:
    entry: CacheEntry | None  # None: nothing to answer with
    cache: str


class _Flight:
    """One shared trip to the cache and, if needed, the sources, for one key."""

    __slots__ = ("linger_until", "stale", "task")

    def __init__(self) -> None:
        self.stale: CacheEntry | None = None
        self.task: asyncio.Task[_Answer] | None = None
        self.linger_until = 0.0  # monotonic; a landed flight answers joiners until then


Fetch = Callable[[], Awaitable[SourceAnswer]]


class LookupService:
    def __init__(
        self,
        *,
        sources: SourceChain,
        cache: ResilientCache,
        limiter: RateLimiter,
        sealer: Sealer,
        clock: Clock,
        policy: LookupPolicy | None = None,
    ) -> None:
        self._sources = sources
        self._cache = cache
        self._limiter = limiter
        self._sealer = sealer
        self._clock = clock
        self._policy = policy or LookupPolicy()
        self._flights: dict[str, _Flight] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._log = structlog.get_logger("statusgw.lookup")
        self._closed = False
        self._listeners: list[LookupListener] = []

    def on_lookup(self, listener: LookupListener) -> None:
        """Call ``listener`` after every code or keypad lookup (audit, metrics)."""
        self._listeners.append(listener)

    def _done(self, done: LookupDone) -> None:
        for listener in self._listeners:
            try:
                listener(done)
            except Exception:
                self._log.exception("lookup.listener_failed")

    @property
    def policy(self) -> LookupPolicy:
        return self._policy

    @property
    def sources(self) -> SourceChain:
        return self._sources

    @property
    def cache(self) -> ResilientCache:
        return self._cache

    async def lookup(self, request: LookupRequest) -> LookupResult:
        """The status of one dossier, disclosed at the level the requester has earned."""
        started = self._clock.monotonic()
        result = await self._lookup(request)
        if self._listeners:
            elapsed = self._clock.monotonic() - started
            code = request.code.canonical
            self._done(
                LookupDone(request.channel, request.requester, request.actor, code, result, elapsed)
            )
        return result

    async def _lookup(self, request: LookupRequest) -> LookupResult:
        admission = await self._admit(request.requester)
        if not admission.allowed:
            return _refused(admission)
        code = request.code.canonical
        answer = await self._resolve(
            self._key("dossier", code),
            lambda: self._sources.fetch(code),
            self._policy.deadline(request.channel),
        )
        result = self._result(answer, request.requester, request.factor, admission)
        if result.outcome is Outcome.NOT_FOUND and request.requester:
            await self._limiter.record_not_found(request.requester)
        return result

    async def by_digits(self, digits: str, channel: Channel, requester: str | None) -> DigitsMatch:
        """The dossier whose code's digits are ``digits`` (keypad entry): unique, ambiguous, none.

        An ambiguous key is resolved only by the caller's own number matching exactly one of
        the candidates; otherwise the caller is asked for more, never told whose they are.
        """
        started = self._clock.monotonic()
        match = await self._by_digits(digits, channel, requester)
        if self._listeners:
            view = match.result.view
            code = view.code if view is not None else digits[:MAX_DIGITS]
            elapsed = self._clock.monotonic() - started
            self._done(LookupDone(channel, requester, None, code, match.result, elapsed))
        return match

    async def _by_digits(self, digits: str, channel: Channel, requester: str | None) -> DigitsMatch:
        admission = await self._admit(requester)
        if not admission.allowed:
            return DigitsMatch(DigitsKind.NONE, _refused(admission))
        if not digits.isascii() or not digits.isdigit() or len(digits) > MAX_DIGITS:
            return DigitsMatch(DigitsKind.NONE, _not_found())
        answer = await self._resolve(
            self._key("digits", digits),
            lambda: self._sources.fetch_by_digits(digits),
            self._policy.deadline(channel),
        )
        if answer.entry is None:
            return DigitsMatch(DigitsKind.NONE, self._result(answer, requester, None, admission))
        candidates = answer.entry.dossiers
        if len(candidates) > 1 and requester:
            own = [d for d in candidates if self._sealer.verifies(d, requester, None)]
            candidates = tuple(own) if len(own) == 1 else candidates
        if len(candidates) > 1:
            found = LookupResult(Outcome.FOUND, None, answer.entry.source, answer.cache)
            return DigitsMatch(DigitsKind.AMBIGUOUS, found, len(candidates))
        narrowed = _Answer(_with(answer.entry, candidates), answer.cache)
        result = self._result(narrowed, requester, None, admission)
        if result.outcome is Outcome.NOT_FOUND:
            if requester:
                await self._limiter.record_not_found(requester)
            return DigitsMatch(DigitsKind.NONE, result)
        return DigitsMatch(DigitsKind.UNIQUE, result, 1)

    async def by_phone(self, phone: str, channel: Channel) -> list[DossierView]:
        """Open dossiers filed with this phone number, for a caller-ID offer (fully verified).

        Best effort: when no source answers in time the list is empty and the caller is asked
        for a code instead.
        """
        national = normalize_msisdn(phone)
        if not national:
            return []
        answer = await self._resolve(
            self._key("phone", self._sealer.phone_digest(national)),
            lambda: self._sources.fetch_by_phone(national),
            self._policy.deadline(channel),
        )
        if answer.entry is None:
            return []
        now = self._clock.now()
        return [
            disclose(d, now=now, verified=True)
            for d in answer.entry.dossiers
            if not d.status.is_final
        ]

    async def admit_client(self, client: str) -> Admission:
        """Count one request by an HTTP client (an API key's id) against its budget."""
        return await self._limiter.admit_client(client)

    async def close(self) -> None:
        """Stop background refreshes, then close the sources and the cache."""
        self._closed = True
        tasks: list[asyncio.Task[Any]] = [f.task for f in self._flights.values() if f.task]
        tasks += self._refreshing.values()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._sources.close()
        await self._cache.close()

    # -- the shared flight --------------------------------------------------------------------

    async def _resolve(self, key: str, fetch: Fetch, deadline: float) -> _Answer:
        flight = self._flights.get(key)
        if flight is not None and flight.task is not None and flight.task.done():
            if self._clock.monotonic() < flight.linger_until:
                answer = flight.task.result()
                return _Answer(answer.entry, "hit")
            self._land(key, flight)
            flight = None
        if flight is None:
            flight = _Flight()
            flight.task = asyncio.create_task(self._fly(key, fetch, flight))
            self._flights[key] = flight
            flight.task.add_done_callback(lambda task: self._landed(key, flight, task))
        task = flight.task
        assert task is not None
        try:
            async with asyncio.timeout(deadline):
                return await asyncio.shield(task)
        except TimeoutError:
            self._log.info("lookup.deadline", key=key, deadline_s=deadline)
            return self._fallback(flight.stale)

    def _landed(self, key: str, flight: _Flight, task: asyncio.Task[_Answer]) -> None:
        linger = 0.0
        if not task.cancelled() and task.exception() is None:
            answer = task.result()
            if answer.entry is not None and answer.cache in ("hit", "miss"):
                fresh_for = answer.entry.fresh_until - self._now()
                linger = min(self._policy.flight_linger, fresh_for)
        if linger > 0 and not self._closed:
            flight.linger_until = self._clock.monotonic() + linger
            # Only tidies memory: whether a flight may still answer is read on the clock.
            asyncio.get_running_loop().call_later(linger, self._land, key, flight)
        else:
            self._land(key, flight)

    def _land(self, key: str, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _fly(self, key: str, fetch: Fetch, flight: _Flight) -> _Answer:
        entry = await self._cache.get(key)
        if entry is not None:
            age = self._policy.cache.age(entry, self._now())
            if age is Age.FRESH:
                return _Answer(entry, "hit")
            if age is Age.REVALIDATE:
                self._revalidate(key, fetch)
                return _Answer(entry, "stale")
            if age is Age.STALE:
                flight.stale = entry
        try:
            fresh = await self._fetch_and_store(key, fetch)
        except SourceError as exc:
            self._log.warning("lookup.sources_failed", key=key, reason=str(exc))
            return self._fallback(flight.stale)
        except Exception:
            self._log.exception("lookup.defect", key=key)
            return self._fallback(flight.stale)
        return _Answer(fresh, "miss")

    async def _fetch_and_store(self, key: str, fetch: Fetch) -> CacheEntry:
        answer = await fetch()
        sealed = tuple(self._sealer.seal(d) for d in answer.dossiers)
        now = self._now()
        entry = self._policy.cache.entry(sealed, answer.source, now)
        await self._cache.put(key, entry, now)
        return entry

    def _revalidate(self, key: str, fetch: Fetch) -> None:
        if key in self._refreshing or self._closed:
            return
        task = asyncio.create_task(self._refresh(key, fetch))
        self._refreshing[key] = task
        task.add_done_callback(lambda _t: self._refreshing.pop(key, None))

    async def _refresh(self, key: str, fetch: Fetch) -> None:
        try:
            await self._fetch_and_store(key, fetch)
        except SourceError as exc:
            self._log.info("lookup.revalidate_failed", key=key, reason=str(exc))
        except Exception:
            self._log.exception("lookup.defect", key=key)

    def _fallback(self, stale: CacheEntry | None) -> _Answer:
        if stale is not None and self._now() < stale.stale_until:
            return _Answer(stale, "stale")
        return _Answer(None, "none")

    # -- results ------------------------------------------------------------------------------

    async def _admit(self, requester: str | None) -> Admission:
        if not requester:
            return Admission(True)
        return await self._limiter.admit_sender(requester)

    def _result(
        self, answer: _Answer, requester: str | None, factor: str | None, admission: Admission
    ) -> LookupResult:
        entry = answer.entry
        if entry is None:
            return LookupResult(
                Outcome.UNAVAILABLE,
                None,
                None,
                answer.cache,
                retry_after=self._policy.unavailable_retry_after,
                suspect=admission.suspect,
            )
        if not entry.dossiers:
            return LookupResult(
                Outcome.NOT_FOUND, None, entry.source, answer.cache, suspect=admission.suspect
            )
        sealed = entry.dossiers[0]
        verified = self._sealer.verifies(sealed, requester, factor)
        view = disclose(sealed, now=self._clock.now(), verified=verified)
        return LookupResult(
            Outcome.FOUND, view, entry.source, answer.cache, suspect=admission.suspect
        )

    def _key(self, kind: str, value: str) -> str:
        return f"{self._policy.key_prefix}:{kind}:{value}"

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _refused(admission: Admission) -> LookupResult:
    return LookupResult(
        Outcome.RATE_LIMITED,
        None,
        None,
        "none",
        retry_after=max(1.0, admission.retry_after),
        suspect=admission.suspect,
    )


def _not_found() -> LookupResult:
    return LookupResult(Outcome.NOT_FOUND, None, None, "none")


def _with(entry: CacheEntry, dossiers: tuple[SealedDossier, ...]) -> CacheEntry:
    return CacheEntry(dossiers, entry.source, entry.stored_at, entry.fresh_until, entry.stale_until)
