"""The PostgreSQL message store: nothing acknowledged that is not committed, nothing lost.

It implements :class:`gateway.store.MessageStore` over the schema of ``adapters/migrations``
(applied by :func:`open_pg_store` under an advisory lock, safe when instances start together).

- **MO before ack.** ``save_mo`` writes a batch in one statement (one commit, durable with the
  configured ``synchronous_commit``) and recognises redeliveries by fingerprint within
  ``dedup_window``; the pipeline acknowledges only what returned from it.
- **Claims with leases.** Open MO and due replies are claimed with ``FOR UPDATE SKIP LOCKED``,
  so two instances never take the same row, and hold it until ``claimed_until``. While this
  process lives it renews its owners' leases every third of a lease; a killed process stops
  renewing and its rows are free again when their lease ends.
- **Group commit.** Answers, enqueues, sends, retries, failures and receipts from many tasks
  are each written in batches (:class:`adapters.pg_batch.GroupCommit`).
- **Wake-ups.** Each write that makes work claimable sends ``NOTIFY <schema>_work`` in its
  transaction; a dedicated connection ``LISTEN``s (and reconnects with backoff when the
  server goes away) and wakes :meth:`wait_for_work`.
- **Receipts** meet their reply in ``message_part`` whichever arrives first (see 0001).
- **Errors.** Any failure to reach or use the database is raised as
  :class:`gateway.store.StoreUnavailable`; the pipeline answers the SMSC with a temporary
  error, so it keeps the message and tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from adapters.pg_batch import GroupCommit
from adapters.pg_migrate import check_schema_name, migrate
from gateway.settings import StoreSettings
from gateway.store import InboundMo, OutboundSms, ReplyDraft, StoredMo, StoreUnavailable

T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")
Connection = asyncpg.Connection | PoolConnectionProxy

CONNECT_TIMEOUT = 5.0
LISTEN_BACKOFF_MIN = 0.2
LISTEN_BACKOFF_MAX = 5.0
RIDE_THROUGH_STEP = 0.1


@dataclass(frozen=True, slots=True)
class PgStoreConfig:
    """What the store needs from ``[store]``; see gateway/settings.py for the meanings."""

    url: str
    schema: str = "statusgw"
    pool_size: int = 10
    timeout: float = 5.0
    batch_max: int = 500
    batch_wait: float = 0.0
    dedup_window: float = 600.0
    synchronous_commit: str = "on"
    start_timeout: float = 30.0
    ride_through: float = 1.0  # seconds an MO write waits for the database to come back

    @classmethod
    def from_settings(cls, store: StoreSettings) -> PgStoreConfig:
        return cls(
            url=store.url,
            schema=store.schema,
            pool_size=store.pool_size,
            timeout=store.timeout,
            batch_max=store.batch_max,
            batch_wait=store.batch_wait_ms / 1000,
            dedup_window=store.dedup_window,
            synchronous_commit=store.synchronous_commit,
            start_timeout=store.start_timeout,
            ride_through=store.ride_through,
        )


@dataclass(frozen=True, slots=True)
class _Claim:
    owner: str
    limit: int
    lease: float


_CLAIM_MO = """
    UPDATE mo SET claimed_by = $1, claimed_until = now() + make_interval(secs => $3),
                  claims = claims + 1
    WHERE id IN (
        SELECT id FROM mo
        WHERE answered_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id, sender, destination, body, received_at
"""

_CLAIM_REPLIES = """
    UPDATE outbox o SET state = 'sending', claimed_by = $1,
           claimed_until = now() + make_interval(secs => $3),
           reclaims = o.reclaims + (o.state = 'sending')::int,
           attempts = o.attempts + (o.state = 'sending')::int
    WHERE id IN (
        SELECT id FROM outbox
        WHERE state IN ('queued', 'sending') AND due_at <= now()
          AND (state = 'queued' OR claimed_until < now())
        ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id, mo_id, destination, body, attempts, created_at
"""


@dataclass(frozen=True, slots=True)
class _Answer:
    mo_id: int
    replies: tuple[ReplyDraft, ...]


@dataclass(frozen=True, slots=True)
class _Sent:
    reply_id: int
    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Retry:
    reply_id: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class _Receipt:
    reply_id: int | None
    message_id: str
    state: str


def _unavailable(exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(f"{type(exc).__name__}: {exc}".strip())


# Everything that means "the database cannot do it now": the server is away, restarting,
# refusing connections, or the statement was cut off. Programming errors surface as
# PostgresError too; they are logged as errors but also answered as temporary, since the
# message was not stored either way.
_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresError,
)


class PgStore:
    """The PostgreSQL :class:`~gateway.store.MessageStore`. Create with :func:`open_pg_store`."""

    def __init__(self, pool: asyncpg.Pool, config: PgStoreConfig) -> None:
        self.pool = pool
        self.config = config
        self.schema = config.schema
        self.channel = f"{config.schema}_work"
        self._log = structlog.get_logger("statusgw.store")
        self._work = asyncio.Event()
        self._owners: dict[str, float] = {}  # owner -> longest lease it asked for
        # Rows claimed here and not finished: only these are renewed. A claim the pipeline
        # let go of (its write failed) lapses, and the row is claimed again.
        self._held_mo: set[int] = set()
        self._held_replies: set[int] = set()
        self._closing = False
        self._save: GroupCommit[InboundMo, bool] = self._group(self._flush_mo)
        self._answers: GroupCommit[_Answer, None] = self._group(self._flush_answers)
        self._enqueues: GroupCommit[ReplyDraft, None] = self._group(self._flush_enqueue)
        self._sent: GroupCommit[_Sent, None] = self._group(self._flush_sent)
        self._retries: GroupCommit[_Retry, None] = self._group(self._flush_retries)
        self._failed: GroupCommit[_Retry, None] = self._group(self._flush_failed)
        self._receipts: GroupCommit[_Receipt, None] = self._group(self._flush_receipts)
        self._mo_claims: GroupCommit[_Claim, list[asyncpg.Record]] = self._group(
            self._flush_mo_claims
        )
        self._reply_claims: GroupCommit[_Claim, list[asyncpg.Record]] = self._group(
            self._flush_reply_claims
        )
        self._listener = asyncio.create_task(self._listen(), name="pg-store-listen")
        self._renewer = asyncio.create_task(self._renew_leases(), name="pg-store-leases")

    def _group(
        self, flush: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]
    ) -> GroupCommit[Item, Result]:
        return GroupCommit(flush, max_items=self.config.batch_max, wait=self.config.batch_wait)

    # ---- MessageStore ------------------------------------------------------------------------

    async def save_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        return await self._save.add_many(batch)

    async def claim_mo(self, owner: str, limit: int, lease: float) -> list[StoredMo]:
        self._owners[owner] = max(lease, self._owners.get(owner, 0.0))
        rows = await self._mo_claims.add(_Claim(owner, limit, lease))
        return [
            StoredMo(
                str(row["id"]), row["sender"], row["destination"], row["body"], row["received_at"]
            )
            for row in rows
        ]

    async def answer_mo(self, mo_id: str, replies: Sequence[ReplyDraft]) -> None:
        try:
            await self._answers.add(_Answer(int(mo_id), tuple(replies)))
        finally:
            self._held_mo.discard(int(mo_id))

    async def enqueue(self, replies: Sequence[ReplyDraft]) -> None:
        await self._enqueues.add_many(replies)

    async def claim_replies(self, owner: str, limit: int, lease: float) -> list[OutboundSms]:
        self._owners[owner] = max(lease, self._owners.get(owner, 0.0))
        rows = await self._reply_claims.add(_Claim(owner, limit, lease))
        return [
            OutboundSms(
                str(row["id"]),
                None if row["mo_id"] is None else str(row["mo_id"]),
                row["destination"],
                row["body"],
                int(row["attempts"]),
                row["created_at"],
            )
            for row in rows
        ]

    # Claims from many workers (a sender asks for one reply at a time) are made together:
    # one statement claims for all of them, and the rows are dealt out in order.

    async def _flush_mo_claims(self, batch: Sequence[_Claim]) -> list[list[asyncpg.Record]]:
        return await self._deal(batch, _CLAIM_MO, self._held_mo)

    async def _flush_reply_claims(self, batch: Sequence[_Claim]) -> list[list[asyncpg.Record]]:
        return await self._deal(batch, _CLAIM_REPLIES, self._held_replies)

    async def _deal(
        self, batch: Sequence[_Claim], sql: str, held: set[int]
    ) -> list[list[asyncpg.Record]]:
        dealt: list[list[asyncpg.Record]] = [[] for _ in batch]
        groups: dict[tuple[str, float], list[int]] = {}
        for index, claim in enumerate(batch):
            groups.setdefault((claim.owner, claim.lease), []).append(index)
        for (owner, lease), members in groups.items():
            total = sum(batch[i].limit for i in members)
            rows = await self._fetch(sql, owner, total, lease)
            rows.sort(key=lambda row: int(row["id"]))
            held.update(int(row["id"]) for row in rows)
            for index in members:
                dealt[index], rows = rows[: batch[index].limit], rows[batch[index].limit :]
        return dealt

    async def reply_sent(self, reply_id: str, message_ids: Sequence[str]) -> None:
        try:
            await self._sent.add(_Sent(int(reply_id), tuple(message_ids)))
        finally:
            self._held_replies.discard(int(reply_id))

    async def reply_retry(self, reply_id: str, delay: float, reason: str) -> None:
        try:
            await self._retries.add(_Retry(int(reply_id), max(0.0, delay), reason[:500]))
        finally:
            self._held_replies.discard(int(reply_id))

    async def reply_failed(self, reply_id: str, reason: str) -> None:
        try:
            await self._failed.add(_Retry(int(reply_id), 0.0, reason[:500]))
        finally:
            self._held_replies.discard(int(reply_id))

    async def record_receipt(self, reply_id: str | None, message_id: str, state: str) -> None:
        reference = int(reply_id) if reply_id and reply_id.isdigit() else None
        await self._receipts.add(_Receipt(reference, message_id, state))

    async def wait_for_work(self, timeout: float) -> None:
        if not self._work.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._work.wait()
        self._work.clear()

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._work.set()
        for batcher in (
            self._mo_claims,
            self._reply_claims,
            self._save,
            self._answers,
            self._enqueues,
            self._sent,
            self._retries,
            self._failed,
            self._receipts,
        ):
            await batcher.close()
        for task in (self._listener, self._renewer):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pool.close()

    # ---- for operators and tests -------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Rows by state: mo_open, mo_answered, and one entry per outbox state."""
        row = await self._fetchrow(
            """
            SELECT (SELECT count(*) FROM mo WHERE answered_at IS NULL) AS mo_open,
                   (SELECT count(*) FROM mo WHERE answered_at IS NOT NULL) AS mo_answered,
                   (SELECT count(*) FROM outbox WHERE state = 'queued') AS queued,
                   (SELECT count(*) FROM outbox WHERE state = 'sending') AS sending,
                   (SELECT count(*) FROM outbox WHERE state = 'sent') AS sent,
                   (SELECT count(*) FROM outbox WHERE state = 'failed') AS failed,
                   (SELECT coalesce(sum(reclaims), 0) FROM outbox) AS reclaims
            """
        )
        assert row is not None
        return {key: int(value) for key, value in row.items()}

    async def outstanding(self) -> int:
        counts = await self.counts()
        return counts["mo_open"] + counts["queued"] + counts["sending"]

    # ---- flushes (one statement each: atomic without an explicit transaction) ---------------

    async def _flush_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        """Store a batch; a database that went away is given ``ride_through`` seconds to come
        back (a restart or failover) before the SMSC is told to retry."""
        deadline = asyncio.get_running_loop().time() + self.config.ride_through
        while True:
            try:
                return await self._store_mo(batch)
            except StoreUnavailable:
                if asyncio.get_running_loop().time() + RIDE_THROUGH_STEP > deadline:
                    raise
                await asyncio.sleep(RIDE_THROUGH_STEP)

    async def _store_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        first: dict[str, int] = {}
        for index, mo in enumerate(batch):
            first.setdefault(mo.fingerprint, index)
        unique = [batch[i] for i in sorted(first.values())]
        rows = await self._fetch(
            """
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                                     $5::timestamptz[]) WITH ORDINALITY
                    AS t(fingerprint, sender, destination, body, received_at, position)
            ), fresh AS (
                INSERT INTO mo_seen AS s (fingerprint, seen_at)
                SELECT fingerprint, now() FROM input
                ON CONFLICT (fingerprint) DO UPDATE SET seen_at = excluded.seen_at
                    WHERE s.seen_at < excluded.seen_at - make_interval(secs => $6)
                RETURNING fingerprint
            ), stored AS (
                INSERT INTO mo (sender, destination, body, fingerprint, received_at)
                SELECT i.sender, i.destination, i.body, i.fingerprint, i.received_at
                FROM input i JOIN fresh USING (fingerprint) ORDER BY i.position
                RETURNING fingerprint
            )
            SELECT fingerprint, pg_notify($7, 'mo') FROM stored
            """,
            [mo.fingerprint for mo in unique],
            [mo.sender for mo in unique],
            [mo.destination for mo in unique],
            [mo.text for mo in unique],
            [mo.received_at for mo in unique],
            self.config.dedup_window,
            self.channel,
        )
        stored = {row["fingerprint"] for row in rows}
        return [
            first[mo.fingerprint] == index and mo.fingerprint in stored
            for index, mo in enumerate(batch)
        ]

    async def _flush_answers(self, batch: Sequence[_Answer]) -> list[None]:
        drafts = [(a.mo_id, r) for a in batch for r in a.replies]
        await self._execute(
            """
            WITH done AS (
                UPDATE mo SET answered_at = now(), claimed_by = NULL, claimed_until = NULL
                WHERE id = ANY($1::bigint[]) AND answered_at IS NULL
                RETURNING id
            ), queued AS (
                INSERT INTO outbox (mo_id, destination, body)
                SELECT r.mo_id, r.destination, r.body
                FROM unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
                    AS r(mo_id, destination, body, position)
                JOIN done ON done.id = r.mo_id ORDER BY r.position
                RETURNING id
            )
            SELECT pg_notify($5, 'mt') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued
            """,
            [a.mo_id for a in batch],
            [mo_id for mo_id, _ in drafts],
            [draft.destination for _, draft in drafts],
            [draft.text for _, draft in drafts],
            self.channel,
        )
        return [None] * len(batch)

    async def _flush_enqueue(self, batch: Sequence[ReplyDraft]) -> list[None]:
        await self._execute(
            """
            WITH queued AS (
                INSERT INTO outbox (destination, body)
                SELECT * FROM unnest($1::text[], $2::text[]) RETURNING id
            )
            SELECT pg_notify($3, 'mt') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued
            """,
            [draft.destination for draft in batch],
            [draft.text for draft in batch],
            self.channel,
        )
        return [None] * len(batch)

    async def _flush_sent(self, batch: Sequence[_Sent]) -> list[None]:
        parts: dict[str, int] = {}
        for sent in batch:
            for message_id in sent.message_ids:
                parts[message_id] = sent.reply_id
        await self._execute(
            """
            WITH parts AS (
                INSERT INTO message_part AS p (message_id, reply_id)
                SELECT * FROM unnest($2::text[], $3::bigint[])
                ON CONFLICT (message_id) DO UPDATE SET reply_id = excluded.reply_id
                RETURNING p.reply_id, p.receipt
            ), early AS (
                SELECT DISTINCT ON (reply_id) reply_id, receipt FROM parts
                WHERE receipt IS NOT NULL
            )
            UPDATE outbox o SET state = 'sent', sent_at = now(), finished_at = now(),
                   claimed_until = NULL, reason = '',  -- claimed_by stays: who sent it
                   receipt = coalesce(early.receipt, o.receipt),
                   receipt_at = CASE WHEN early.receipt IS NULL THEN o.receipt_at ELSE now() END
            FROM unnest($1::bigint[]) AS t(id) LEFT JOIN early ON early.reply_id = t.id
            WHERE o.id = t.id
            """,
            [sent.reply_id for sent in batch],
            list(parts),
            list(parts.values()),
        )
        return [None] * len(batch)

    async def _flush_retries(self, batch: Sequence[_Retry]) -> list[None]:
        await self._execute(
            """
            UPDATE outbox o SET state = 'queued', attempts = o.attempts + 1, reason = t.reason,
                   due_at = now() + make_interval(secs => t.delay),
                   claimed_by = NULL, claimed_until = NULL
            FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS t(id, delay, reason)
            WHERE o.id = t.id AND o.state = 'sending'
            """,
            [retry.reply_id for retry in batch],
            [retry.delay for retry in batch],
            [retry.reason for retry in batch],
        )
        return [None] * len(batch)

    async def _flush_failed(self, batch: Sequence[_Retry]) -> list[None]:
        await self._execute(
            """
            UPDATE outbox o SET state = 'failed', attempts = o.attempts + 1, reason = t.reason,
                   finished_at = now(), claimed_by = NULL, claimed_until = NULL
            FROM unnest($1::bigint[], $2::text[]) AS t(id, reason)
            WHERE o.id = t.id AND o.state IN ('queued', 'sending')
            """,
            [failure.reply_id for failure in batch],
            [failure.reason for failure in batch],
        )
        return [None] * len(batch)

    async def _flush_receipts(self, batch: Sequence[_Receipt]) -> list[None]:
        latest = {receipt.message_id: receipt for receipt in batch}
        await self._execute(
            """
            WITH parts AS (
                INSERT INTO message_part AS p (message_id, reply_id, receipt)
                SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
                ON CONFLICT (message_id) DO UPDATE
                    SET receipt = excluded.receipt,
                        reply_id = coalesce(p.reply_id, excluded.reply_id)
                RETURNING p.reply_id, p.receipt
            )
            UPDATE outbox o SET receipt = parts.receipt, receipt_at = now()
            FROM parts WHERE o.id = parts.reply_id
            """,
            list(latest),
            [receipt.reply_id for receipt in latest.values()],
            [receipt.state for receipt in latest.values()],
        )
        return [None] * len(batch)

    # ---- background work ---------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        """Keep this process's claims alive while it runs; a dead process's claims lapse."""
        failed = False
        while True:
            shortest = min(self._owners.values(), default=3.0)
            # After a failed renewal, try again soon: two misses in a row lose the lease.
            await asyncio.sleep(max(0.05, shortest / 10 if failed else shortest / 3))
            failed = False
            if not (self._held_mo or self._held_replies):
                continue
            lease = max(self._owners.values())
            try:
                await self._execute(
                    """
                    WITH renewed_mo AS (
                        UPDATE mo SET claimed_until = now() + make_interval(secs => $3)
                        WHERE id = ANY($1::bigint[]) AND answered_at IS NULL
                          AND claimed_by = ANY($4::text[])
                        RETURNING 1
                    )
                    UPDATE outbox SET claimed_until = now() + make_interval(secs => $3)
                    WHERE id = ANY($2::bigint[]) AND state = 'sending'
                      AND claimed_by = ANY($4::text[])
                    """,
                    list(self._held_mo),
                    list(self._held_replies),
                    lease,
                    list(self._owners),
                )
            except StoreUnavailable as exc:
                failed = True
                self._log.warning("store.lease_renewal_failed", error=str(exc))

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; after any loss, reconnect with backoff."""
        backoff = LISTEN_BACKOFF_MIN
        while not self._closing:
            lost = asyncio.Event()
            on_lost = _setter(lost)
            try:
                connection = await asyncpg.connect(
                    self.config.url, timeout=CONNECT_TIMEOUT, server_settings=self._settings()
                )
            except _DATABASE_ERRORS as exc:
                self._log.warning("store.listen_connect_failed", error=str(exc))
                await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                backoff = min(backoff * 2, LISTEN_BACKOFF_MAX)
                continue
            try:
                connection.add_termination_listener(on_lost)
                await connection.add_listener(self.channel, self._notified)
                backoff = LISTEN_BACKOFF_MIN
                self._work.set()  # something may have been written while nobody listened
                await self._until_lost(connection, lost)
            except _DATABASE_ERRORS as exc:
                self._log.warning("store.listen_lost", error=str(exc))
            finally:
                with contextlib.suppress(*_DATABASE_ERRORS):
                    await asyncio.wait_for(connection.close(), CONNECT_TIMEOUT)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))

    async def _until_lost(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        # A listening connection sends nothing; a cheap query now and then finds a dead one.
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await lost.wait()
            if not lost.is_set():
                await connection.execute("SELECT 1", timeout=self.config.timeout)

    def _notified(self, *_args: object) -> None:
        self._work.set()

    def _settings(self) -> dict[str, str]:
        return _server_settings(self.config)

    # ---- database access, errors mapped once -------------------------------------------------

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(lambda c: c.fetch(sql, *args, timeout=self.config.timeout))

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(lambda c: c.fetchrow(sql, *args, timeout=self.config.timeout))

    async def _execute(self, sql: str, *args: Any) -> str:
        return await self._run(lambda c: c.execute(sql, *args, timeout=self.config.timeout))

    async def _run(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        try:
            async with self.pool.acquire(timeout=self.config.timeout) as connection:
                return await operation(connection)
        except _DATABASE_ERRORS as exc:
            if isinstance(exc, asyncpg.PostgresError) and not _is_transient(exc):
                self._log.error("store.statement_failed", error=str(exc), sqlstate=exc.sqlstate)
            raise _unavailable(exc) from exc

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One connection in one transaction, errors mapped to StoreUnavailable."""
        try:
            async with (
                self.pool.acquire(timeout=self.config.timeout) as connection,
                connection.transaction(),
            ):
                yield connection
        except _DATABASE_ERRORS as exc:
            raise _unavailable(exc) from exc

    def wake(self) -> None:
        self._work.set()


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


def _is_transient(exc: asyncpg.PostgresError) -> bool:
    state = exc.sqlstate or ""
    # 08 connection, 40 rollback (serialisation, deadlock), 53 resources, 57 operator, 58 system
    return state[:2] in ("08", "40", "53", "57", "58")


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What the pool does to a connection handed back: nothing more than asyncpg's own
    cleanup (an open transaction is rolled back, listeners dropped).

    The store's connections carry no session state of their own (settings are fixed when
    they connect, every lock is transaction-scoped), so the default ``RESET ALL; UNLISTEN *;
    CLOSE ALL ...`` would be a round trip on every release for nothing: with it, 20 tasks
    running ``SELECT 1`` through a 10-connection pool did 5.5-8.8k/s, without it 12.5-13.5k/s.
    """


def _server_settings(config: PgStoreConfig) -> dict[str, str]:
    return {
        "search_path": config.schema,
        "application_name": "statusgw",
        "synchronous_commit": config.synchronous_commit,
    }


async def open_pg_store(config: PgStoreConfig) -> PgStore:
    """Connect, apply the migrations (once, whatever else starts now), return the store.

    Retries a database that is not reachable yet for ``start_timeout`` seconds, then raises
    :class:`StoreUnavailable` with the reason.
    """
    check_schema_name(config.schema)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + config.start_timeout
    delay = 0.2
    while True:
        try:
            connection = await asyncpg.connect(config.url, timeout=CONNECT_TIMEOUT)
            try:
                await migrate(connection, config.schema)
            finally:
                await connection.close()
            pool = await asyncpg.create_pool(
                config.url,
                min_size=1,
                max_size=config.pool_size,
                timeout=CONNECT_TIMEOUT,
                command_timeout=config.timeout,
                server_settings=_server_settings(config),
                reset=_keep_session,
            )
            return PgStore(pool, config)
        except _DATABASE_ERRORS as exc:
            if loop.time() + delay > deadline:
                raise _unavailable(exc) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
