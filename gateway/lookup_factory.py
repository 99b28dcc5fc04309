"""Builds the lookup service from settings: the one call the composition root makes.

Sources, cache and counters are created here and nowhere else; the service and everything
below it receive them ready-made.
"""

from __future__ import annotations

import secrets

from adapters.memory import MemoryCache, MemoryCounters
from gateway.breaker import CircuitBreaker
from gateway.cache import CachePolicy, DossierCache, ResilientCache
from gateway.clock import Clock
from gateway.health import Health
from gateway.lookup import Channel, LookupPolicy, LookupService
from gateway.ports import DossierSource
from gateway.privacy import Sealer
from gateway.ratelimit import CounterStore, RateLimiter, RateLimits, ResilientCounters
from gateway.settings import ConfigError, Settings, SourceSettings
from gateway.sources import GuardedSource, SourceChain


def build_lookup(settings: Settings, health: Health, clock: Clock) -> LookupService:
    """A ready service; call :meth:`LookupService.close` on shutdown."""
    sealer = Sealer(_seal_key(settings))
    chain = SourceChain([_guarded(s, settings, health, clock) for s in _source_settings(settings)])
    cache_store, counter_store = _stores(settings, clock)
    cache = ResilientCache(
        cache_store,
        clock=clock,
        health=health,
        timeout=settings.cache.timeout,
        retry_interval=settings.cache.retry_interval,
    )
    counters = ResilientCounters(
        counter_store,
        MemoryCounters(clock),
        clock=clock,
        timeout=settings.cache.timeout,
        retry_interval=settings.cache.retry_interval,
    )
    limiter = RateLimiter(counters, rate_limits(settings), sealer, prefix=settings.cache.key_prefix)
    return LookupService(
        sources=chain,
        cache=cache,
        limiter=limiter,
        sealer=sealer,
        clock=clock,
        policy=lookup_policy(settings),
    )


def lookup_policy(settings: Settings) -> LookupPolicy:
    c, lk = settings.cache, settings.lookup
    return LookupPolicy(
        cache=CachePolicy(
            ttl_open=c.ttl_open,
            ttl_final=c.ttl_final,
            ttl_negative=c.ttl_negative,
            revalidate_window=c.revalidate_window,
            max_stale=c.max_stale,
        ),
        deadlines={
            Channel.SMS: lk.sms_deadline,
            Channel.VOICE: lk.voice_deadline,
            Channel.HTTP: lk.http_deadline,
        },
        key_prefix=c.key_prefix,
    )


def rate_limits(settings: Settings) -> RateLimits:
    lim = settings.limits
    return RateLimits(
        sender_per_minute=lim.sender_per_minute,
        sender_per_day=lim.sender_per_day,
        client_per_minute=lim.client_per_minute,
        not_found_threshold=lim.not_found_threshold,
        not_found_window=lim.not_found_window,
        suspect_per_minute=lim.suspect_per_minute,
    )


def build_source(source: SourceSettings) -> DossierSource:
    """One adapter for one [source]-shaped section."""
    name = source.display_name
    if source.kind == "file":
        from adapters.file import FileSource

        return FileSource.load(source.path or None, name=name)
    if source.kind == "postgres":
        from adapters.postgres import PostgresSource

        return PostgresSource.from_settings(source)
    if source.kind == "rest":
        from adapters.rest import RestSource

        try:
            return RestSource.from_settings(source)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    raise ConfigError(f"source kind {source.kind!r} cannot be built")


def _source_settings(settings: Settings) -> list[SourceSettings]:
    chosen: list[SourceSettings] = [settings.source]
    if settings.fallback_source.kind != "none":
        chosen.append(settings.fallback_source)
    names = [s.display_name for s in chosen]
    if len(set(names)) != len(names):
        raise ConfigError(
            f"[source] and [fallback_source] need different names, both are {names[0]!r}"
        )
    return chosen


def _guarded(
    source: SourceSettings, settings: Settings, health: Health, clock: Clock
) -> GuardedSource:
    return GuardedSource(
        build_source(source),
        clock=clock,
        timeout=source.timeout,
        breaker=CircuitBreaker(settings.lookup.breaker_failures, settings.lookup.breaker_reset),
        health=health,
    )


def _stores(settings: Settings, clock: Clock) -> tuple[DossierCache, CounterStore]:
    url = settings.cache.url
    if url.startswith("memory://"):
        return MemoryCache(clock, settings.cache.max_entries), MemoryCounters(clock)
    from adapters.redis_store import RedisCache, RedisCounters, connect

    client = connect(url, timeout=settings.cache.timeout)
    return RedisCache(client, owner=True), RedisCounters(client)


def _seal_key(settings: Settings) -> bytes:
    if settings.cache.seal_key:
        return settings.cache.seal_key.encode()
    return secrets.token_bytes(32)
