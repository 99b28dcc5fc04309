"""Subscriptions, the lookup audit and the retention purge, in the PostgreSQL store's schema.

- :class:`PgSubscriptions` runs :mod:`gateway.notify`'s rules under row locks: ``observe``
  locks the code's subscriptions (``FOR UPDATE``), ``release_due`` takes due ones with
  ``SKIP LOCKED`` (two instances release different rows) and inserts each notification into
  the outbox in the same transaction that records it, so a crash loses none and sends none
  twice. The per-day counter row is locked before deciding, so the cap holds across
  instances.
- :class:`PgAuditLog` writes audit rows by group commit and never raises to a channel.
- :class:`PgRetention` deletes, in chunks, what is older than the configured ages; one
  instance at a time (``pg_try_advisory_xact_lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg
import structlog

from adapters.pg_batch import GroupCommit
from adapters.pg_migrate import lock_key
from adapters.pg_store import Connection, PgStore
from gateway.audit import LookupAudit
from gateway.clock import Clock
from gateway.dossier import Status
from gateway.notify import Subscription
from gateway.store import StoreUnavailable
from gateway.subscriptions import AddResult, Decide, Render, Update

PURGE_CHUNK = 5000
_COLUMNS = "subscriber, code, created_at, notified, seen, seen_at, due_at"


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        subscriber=row["subscriber"],
        code=row["code"],
        created_at=row["created_at"],
        notified=Status(row["notified"]),
        seen=Status(row["seen"]),
        seen_at=row["seen_at"],
        due_at=row["due_at"],
    )


class PgSubscriptions:
    def __init__(self, store: PgStore) -> None:
        self._store = store

    async def add(self, subscription: Subscription, limit: int) -> AddResult:
        async with self._store.transaction() as connection:
            # One subscriber's additions queue behind each other, so the limit holds.
            await connection.execute(
                "SELECT pg_advisory_xact_lock($1)", _subscriber_key(subscription.subscriber)
            )
            rows = await connection.fetch(
                "SELECT code FROM subscription WHERE subscriber = $1", subscription.subscriber
            )
            if any(row["code"] == subscription.code for row in rows):
                return AddResult.ALREADY
            if len(rows) >= limit:
                return AddResult.TOO_MANY
            await connection.execute(
                f"INSERT INTO subscription ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                *_values(subscription),
            )
            return AddResult.ADDED

    async def remove(self, subscriber: str, code: str) -> bool:
        async with self._store.transaction() as connection:
            done = await connection.execute(
                "DELETE FROM subscription WHERE subscriber = $1 AND code = $2", subscriber, code
            )
        return done != "DELETE 0"

    async def remove_all(self, subscriber: str) -> int:
        async with self._store.transaction() as connection:
            done = await connection.execute(
                "DELETE FROM subscription WHERE subscriber = $1", subscriber
            )
        return int(done.rsplit(" ", 1)[-1])

    async def get(self, subscriber: str, code: str) -> Subscription | None:
        async with self._store.transaction() as connection:
            row = await connection.fetchrow(
                f"SELECT {_COLUMNS} FROM subscription WHERE subscriber = $1 AND code = $2",
                subscriber,
                code,
            )
        return None if row is None else _subscription(row)

    async def codes(self, after: str, limit: int) -> list[str]:
        async with self._store.transaction() as connection:
            rows = await connection.fetch(
                "SELECT DISTINCT code FROM subscription WHERE code > $1 ORDER BY code LIMIT $2",
                after,
                limit,
            )
        return [row["code"] for row in rows]

    async def observe(self, code: str, update: Update) -> int:
        pending = 0
        async with self._store.transaction() as connection:
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM subscription WHERE code = $1"
                " ORDER BY subscriber FOR UPDATE",
                code,
            )
            for row in rows:
                changed = update(_subscription(row))
                if changed is None:
                    continue
                await _write(connection, changed)
                pending += changed.due_at is not None
        return pending

    async def release_due(
        self, now: datetime, day: date, limit: int, decide: Decide, render: Render
    ) -> int:
        queued = 0
        async with self._store.transaction() as connection:
            rows = await connection.fetch(
                f"SELECT {_COLUMNS} FROM subscription WHERE due_at <= $1"
                " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                now,
                limit,
            )
            due = [_subscription(row) for row in rows]
            sent = await _lock_days(connection, sorted({s.subscriber for s in due}), day)
            for subscription in due:
                outcome = decide(subscription, sent[subscription.subscriber])
                if outcome.send is not None:
                    draft = render(subscription, outcome.send)
                    await connection.execute(
                        "INSERT INTO outbox (destination, body) VALUES ($1, $2)",
                        draft.destination,
                        draft.text,
                    )
                    sent[subscription.subscriber] += 1
                    queued += 1
                if outcome.after is None:
                    await connection.execute(
                        "DELETE FROM subscription WHERE subscriber = $1 AND code = $2",
                        subscription.subscriber,
                        subscription.code,
                    )
                else:
                    await _write(connection, outcome.after)
            await connection.executemany(
                "UPDATE notification_day SET sent = $3 WHERE subscriber = $1 AND day = $2",
                [(subscriber, day, count) for subscriber, count in sent.items()],
            )
            if queued:
                await connection.execute("SELECT pg_notify($1, 'mt')", self._store.channel)
        return queued

    async def purge_expired(self, created_before: datetime) -> int:
        async with self._store.transaction() as connection:
            done = await connection.execute(
                "DELETE FROM subscription WHERE created_at < $1", created_before
            )
        return int(done.rsplit(" ", 1)[-1])


async def _lock_days(
    connection: Connection, subscribers: Sequence[str], day: date
) -> dict[str, int]:
    """Lock (creating if needed) each subscriber's counter for ``day``, in a fixed order."""
    sent: dict[str, int] = {}
    for subscriber in subscribers:
        value = await connection.fetchval(
            "INSERT INTO notification_day (subscriber, day, sent) VALUES ($1, $2, 0)"
            " ON CONFLICT (subscriber, day) DO UPDATE SET sent = notification_day.sent"
            " RETURNING sent",
            subscriber,
            day,
        )
        sent[subscriber] = int(value)
    return sent


async def _write(connection: Connection, subscription: Subscription) -> None:
    await connection.execute(
        "UPDATE subscription SET notified = $4, seen = $5, seen_at = $6, due_at = $7"
        " WHERE subscriber = $1 AND code = $2 AND created_at = $3",
        *_values(subscription),
    )


def _values(s: Subscription) -> tuple[object, ...]:
    return (
        s.subscriber,
        s.code,
        s.created_at,
        s.notified.value,
        s.seen.value,
        s.seen_at,
        s.due_at,
    )


def _subscriber_key(subscriber: str) -> int:
    return lock_key(f"subscriber:{subscriber}")


class PgAuditLog:
    """Audit rows by group commit; a failure is logged and the lookup goes on."""

    def __init__(self, store: PgStore) -> None:
        self._store = store
        self._log = structlog.get_logger("statusgw.audit")
        self._batch: GroupCommit[LookupAudit, None] = GroupCommit(
            self._flush, max_items=store.config.batch_max
        )

    async def record(self, entry: LookupAudit) -> None:
        try:
            await self._batch.add(entry)
        except StoreUnavailable as exc:
            self._log.warning("audit.not_recorded", error=str(exc), code=entry.code)

    async def _flush(self, batch: Sequence[LookupAudit]) -> list[None]:
        async with self._store.transaction() as connection:
            await connection.execute(
                "INSERT INTO lookup_audit"
                " (at, channel, requester, code, disclosure, outcome, status, agency)"
                " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[],"
                " $5::text[], $6::text[], $7::text[], $8::text[])",
                [e.at for e in batch],
                [e.channel for e in batch],
                [e.requester for e in batch],
                [e.code for e in batch],
                [e.disclosure for e in batch],
                [e.outcome for e in batch],
                [e.status for e in batch],
                [e.agency for e in batch],
            )
        return [None] * len(batch)

    async def purge(self, before: datetime) -> int:
        return await _purge(self._store, "lookup_audit", "at < $1", before)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    retention_days: int = 30  # messages, replies, receipts
    audit_retention_days: int = 365
    dedup_window: float = 600.0  # fingerprints older than this are no longer needed
    interval: float = 3600.0


class PgRetention:
    """Deletes by age. Finished rows only: an open message or reply is never purged."""

    def __init__(self, store: PgStore, policy: RetentionPolicy, clock: Clock) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock
        self._log = structlog.get_logger("statusgw.retention")

    async def purge_once(self) -> dict[str, int]:
        """One purge; ``{}`` when another instance is purging now."""
        now = self._clock.now()
        messages = now - timedelta(days=self._policy.retention_days)
        audit = now - timedelta(days=self._policy.audit_retention_days)
        seen = now - timedelta(seconds=self._policy.dedup_window)
        key = lock_key(f"retention:{self._store.schema}")
        async with self._store.transaction() as connection:
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", key):
                return {}
        counts = {
            "outbox": await _purge(self._store, "outbox", "finished_at < $1", messages),
            "message_part": await _purge(self._store, "message_part", "created_at < $1", messages),
            "mo": await _purge(self._store, "mo", "answered_at < $1", messages),
            "mo_seen": await _purge(self._store, "mo_seen", "seen_at < $1", seen),
            "lookup_audit": await _purge(self._store, "lookup_audit", "at < $1", audit),
            "call_audit": await _purge(self._store, "call_audit", "at < $1", audit),
            "queue_audit": await _purge(self._store, "queue_audit", "at < $1", audit),
            "call_note": await _purge(self._store, "call_note", "at < $1", audit),
            "notification_day": await _purge(
                self._store, "notification_day", "day < $1", (now - timedelta(days=3)).date()
            ),
        }
        self._log.info("retention.purged", **counts)
        return counts

    async def run(self) -> None:
        while True:
            with contextlib.suppress(StoreUnavailable):
                await self.purge_once()
            await asyncio.sleep(self._policy.interval)


async def _purge(store: PgStore, table: str, condition: str, before: object) -> int:
    """Delete matching rows in chunks, each its own short transaction."""
    total = 0
    while True:
        async with store.transaction() as connection:
            done = await connection.execute(
                f"DELETE FROM {table} WHERE ctid IN"
                f" (SELECT ctid FROM {table} WHERE {condition} LIMIT {PURGE_CHUNK})",
                before,
            )
        count = int(done.rsplit(" ", 1)[-1])
        total += count
        if count < PURGE_CHUNK:
            return total
