"""The whole gateway in the test's own event loop, bound to the independent SMSC.

``start_test_gateway(smsc, {...})`` builds the gateway exactly as ``statusgw run`` does
(``start_gateway(build_settings(...))``), with the SMSC fixture's port and credentials and
timings short enough for tests; the dictionary overrides any key, section by section. The
``gateway_factory`` fixture does the same and stops every gateway it started at teardown,
and ``gateway`` is one transceiver gateway, already bound.

Wall time is pinned (:class:`PinnedClock`) so a reply's overdue flag and dates do not
depend on the day the tests run; monotonic time is real, so leases and timers still run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio

from gateway.app import Gateway, start_gateway
from gateway.settings import build_settings
from tests.support.smsc import Smsc

SHORT_CODE = "8283"
# 08:00 on 1 March 2025 in Vietnam: dossiers due later in March are not overdue yet.
PINNED_NOW = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
BIND_TIMEOUT_S = 10.0

Overrides = Mapping[str, Mapping[str, Any]]
GatewayFactory = Callable[..., Awaitable[Gateway]]


class PinnedClock:
    """Wall time fixed at ``PINNED_NOW``; monotonic time is the system's."""

    def __init__(self, now: datetime = PINNED_NOW) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic()


def gateway_settings(smsc: Smsc, overrides: Overrides | None = None) -> dict[str, Any]:
    """The raw settings a test gateway runs with: fast timings, no rate limits, no HTTP."""
    raw: dict[str, dict[str, Any]] = {
        "smpp": {
            "enabled": True,
            "host": smsc.host,
            "port": smsc.port,
            "system_id": smsc.system_id,
            "password": smsc.password,
            "short_code": SHORT_CODE,
            "window": 20,
            "throughput": 0.0,
            "response_timeout": 5.0,
            "enquire_link_interval": 30.0,
            "enquire_link_timeout": 2.0,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "drain_timeout": 10.0,
        },
        "limits": {"sender_per_minute": 0, "sender_per_day": 0, "not_found_threshold": 0},
        "log": {"level": "warning"},
    }
    for section, values in (overrides or {}).items():
        raw.setdefault(section, {}).update(values)
    return raw


async def start_test_gateway(
    smsc: Smsc, overrides: Overrides | None = None, *, wait_bound: bool = True
) -> Gateway:
    """Start a gateway against ``smsc``; with ``wait_bound``, return once every bind is up
    on both sides (the gateway's state and the SMSC's ``bind`` events)."""
    mark = smsc.mark()
    gateway = await start_gateway(build_settings(gateway_settings(smsc, overrides)), PinnedClock())
    if wait_bound:
        assert gateway.smpp is not None
        binds = len(gateway.smpp.config.bind_modes)
        try:
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await gateway.smpp.wait_bound()
                await smsc.wait_for(
                    lambda _: len(smsc.find("bind", after=mark, status=0)) >= binds,
                    BIND_TIMEOUT_S,
                    after=mark,
                )
        except BaseException:
            await gateway.stop()
            raise
    return gateway


@pytest_asyncio.fixture
async def gateway_factory(smsc: Smsc) -> AsyncIterator[GatewayFactory]:
    """``await gateway_factory({"sms": {"encoding": "unicode"}})``; stopped at teardown."""
    started: list[Gateway] = []

    async def factory(overrides: Overrides | None = None, *, wait_bound: bool = True) -> Gateway:
        gateway = await start_test_gateway(smsc, overrides, wait_bound=wait_bound)
        started.append(gateway)
        return gateway

    try:
        yield factory
    finally:
        for gateway in reversed(started):
            await gateway.stop()


@pytest_asyncio.fixture
async def gateway(gateway_factory: GatewayFactory) -> Gateway:
    """One transceiver gateway on the ``smsc`` fixture, bound."""
    return await gateway_factory()
