"""Several dossier sources asked in order of precedence, each behind its own breaker.

Precedence matters because sources disagree: the national portal receives a province's
dossiers by synchronisation and some provinces rewrite "waiting for documents" as "processed"
when they push, so the provincial system is asked first and the national view only when the
provincial one does not know the dossier or cannot answer.

Rules, for one question (a code, a keypad digits key, a phone number):

- The first source that knows the answer wins; later sources are not asked.
- A source that fails (error, timeout, open breaker) is passed over.
- "Not found" is only said when every source answered and none knew it. If one failed and
  the rest did not know, the answer is :class:`SourceError`: the failed one may have it, and a
  citizen told "no such dossier" for an existing one would be misled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

from gateway.breaker import CircuitBreaker
from gateway.clock import Clock
from gateway.dossier import Dossier
from gateway.health import Health
from gateway.ports import DossierSource, SourceError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    dossiers: tuple[Dossier, ...]
    source: str | None  # the source that answered; None when none knew


class GuardedSource:
    """One source with its time budget, its breaker and its health report."""

    def __init__(
        self,
        source: DossierSource,
        *,
        clock: Clock,
        timeout: float,
        breaker: CircuitBreaker,
        health: Health | None = None,
    ) -> None:
        self.source = source
        self.name = source.name
        self._clock = clock
        self._timeout = timeout
        self.breaker = breaker
        self._health = health
        self._component = f"source:{self.name}"
        self._log = structlog.get_logger("statusgw.source").bind(source=self.name)
        self.calls = 0
        if health is not None:
            health.register(self._component, required=False)
            health.report(self._component, True, "not asked yet")

    async def call(self, operation: Callable[[DossierSource], Awaitable[T]]) -> T:
        now = self._clock.monotonic()
        if not self.breaker.allow(now):
            raise SourceError(f"{self.name}: circuit open")
        self.calls += 1
        succeeded = False
        try:
            async with asyncio.timeout(self._timeout):
                result = await operation(self.source)
            succeeded = True
            return result
        except TimeoutError:
            raise SourceError(f"{self.name}: no answer within {self._timeout:g} s") from None
        except SourceError:
            raise
        except Exception as exc:  # a defect in an adapter must not reach a citizen
            self._log.exception("source.defect")
            raise SourceError(f"{self.name}: {type(exc).__name__}") from exc
        finally:
            self._record(succeeded)

    def _record(self, succeeded: bool) -> None:
        before = self.breaker.state
        if succeeded:
            self.breaker.record_success()
        else:
            self.breaker.record_failure(self._clock.monotonic())
        after = self.breaker.state
        if after is not before:
            self._log.warning("source.breaker", state=after.value, was=before.value)
        if self._health is None:
            return
        state = self._health.state(self._component)
        detail = "answering" if succeeded else f"failing (breaker {after.value})"
        if state is None or state.ok != succeeded or state.detail != detail:
            self._health.report(self._component, succeeded, detail)


class SourceChain:
    def __init__(self, sources: Sequence[GuardedSource]) -> None:
        if not sources:
            raise ValueError("at least one dossier source is needed")
        self.sources = tuple(sources)
        self._log = structlog.get_logger("statusgw.source")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sources)

    async def fetch(self, code: str) -> SourceAnswer:
        async def one(source: DossierSource) -> tuple[Dossier, ...]:
            found = await source.fetch(code)
            return (found,) if found is not None else ()

        return await self._first(one)

    async def fetch_by_digits(self, digits: str) -> SourceAnswer:
        async def many(source: DossierSource) -> tuple[Dossier, ...]:
            return tuple(await source.fetch_by_digits(digits))

        return await self._first(many)

    async def fetch_by_phone(self, phone: str) -> SourceAnswer:
        async def many(source: DossierSource) -> tuple[Dossier, ...]:
            return tuple(await source.fetch_by_phone(phone))

        return await self._first(many)

    async def close(self) -> None:
        for guarded in self.sources:
            try:
                await guarded.source.close()
            except Exception:
                self._log.exception("source.close_failed", source=guarded.name)

    async def _first(
        self, operation: Callable[[DossierSource], Awaitable[tuple[Dossier, ...]]]
    ) -> SourceAnswer:
        failures: list[str] = []
        for guarded in self.sources:
            try:
                dossiers = await guarded.call(operation)
            except SourceError as exc:
                failures.append(str(exc))
                self._log.debug("source.passed_over", source=guarded.name, reason=str(exc))
                continue
            if dossiers:
                return SourceAnswer(dossiers, guarded.name)
        if failures:
            raise SourceError("; ".join(failures))
        return SourceAnswer((), None)
