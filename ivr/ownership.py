"""Exactly one gateway drives the calls of one Asterisk; the others wait on standby.

Every AMI session with ``agi`` read permission sees every ``AsyncAGIStart``, so two gateways
on one Asterisk would both answer each call. Ownership is a PostgreSQL session-level advisory
lock (``pg_try_advisory_lock``) held on a connection of its own:

- STANDBY: try the lock every ``retry_interval``; connect again if the connection fails.
- OWNER: the lock is held. Check the connection every ``check_interval`` (``SELECT 1`` within
  ``check_timeout``). When it fails the lock is lost with it (PostgreSQL releases a session
  lock when the session ends), so stop acting as owner at once and go back to STANDBY.

A dead owner's connection closes with its process, so the standby takes over within a retry
interval; the new owner finds the calls the old one left in AsyncAGI (see the dispatcher).
Without a database (``[ivr] owner_lock_dsn`` empty) the only instance is the owner.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import asyncpg
import structlog

log = structlog.get_logger(__name__)

OwnershipChanged = Callable[[bool], Awaitable[None]]


class Ownership(Protocol):
    @property
    def owned(self) -> bool: ...

    async def run(self, on_change: OwnershipChanged) -> None:
        """Keep trying to own; call ``on_change`` on every change. Runs until cancelled."""
        ...


class SoleOwner:
    """One instance, no lock: always the owner."""

    owned = True

    async def run(self, on_change: OwnershipChanged) -> None:
        await on_change(True)
        await asyncio.Event().wait()


Connect = Callable[[str], Awaitable[Any]]


async def _connect(dsn: str) -> Any:
    return await asyncpg.connect(dsn)


class PostgresOwnership:
    def __init__(
        self,
        dsn: str,
        key: int,
        *,
        retry_interval: float = 1.0,
        check_interval: float = 1.0,
        check_timeout: float = 2.0,
        connect: Connect = _connect,
    ) -> None:
        self._dsn = dsn
        self._key = key
        self._retry = retry_interval
        self._check = check_interval
        self._check_timeout = check_timeout
        self._connect = connect
        self._owned = False

    @property
    def owned(self) -> bool:
        return self._owned

    async def run(self, on_change: OwnershipChanged) -> None:
        while True:
            connection: Any = None
            try:
                async with asyncio.timeout(self._check_timeout * 2):
                    connection = await self._connect(self._dsn)
                await self._hold(connection, on_change)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("owner_lock_connection_failed", error=str(exc) or type(exc).__name__)
            finally:
                if self._owned:
                    self._owned = False
                    await on_change(False)
                if connection is not None:
                    with contextlib.suppress(Exception):
                        connection.terminate()
            await asyncio.sleep(self._retry)

    async def _hold(self, connection: Any, on_change: OwnershipChanged) -> None:
        """Acquire the lock on ``connection`` and keep it; return or raise when it is lost."""
        while True:
            if await self._query(connection, "SELECT pg_try_advisory_lock($1)", self._key):
                break
            await asyncio.sleep(self._retry)
        self._owned = True
        log.info("owner_lock_acquired", key=self._key)
        await on_change(True)
        while True:
            await asyncio.sleep(self._check)
            await self._query(connection, "SELECT 1")

    async def _query(self, connection: Any, sql: str, *args: Any) -> Any:
        async with asyncio.timeout(self._check_timeout):
            return await connection.fetchval(sql, *args)
