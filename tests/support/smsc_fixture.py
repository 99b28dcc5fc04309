"""pytest fixture for the independent SMSC: ``async def test_x(smsc: Smsc) -> None``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.support.smsc import Smsc


@pytest_asyncio.fixture
async def smsc() -> AsyncIterator[Smsc]:
    """A fresh SMSC on a free loopback port (system_id ``statusgw``, password ``secret``)."""
    server = await Smsc.start()
    try:
        yield server
    finally:
        await server.stop()
