"""The PostgreSQL message store against the real server: the MessageStore contract, leases,
SKIP LOCKED claims shared by two stores, receipts in either order, wake-ups, outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio

from adapters.pg_store import PgStore, PgStoreConfig, open_pg_store
from gateway.clock import SystemClock
from gateway.store import InboundMo, MemoryStore, MessageStore, ReplyDraft, StoreUnavailable
from tests.support.pg import PgSchema, PrivatePostgres, free_port

pytestmark = pytest.mark.postgres

NOW = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


def mo(n: int, *, fingerprint: str | None = None) -> InboundMo:
    return InboundMo(
        sender=f"8491{n:07d}",
        destination="8283",
        text=f"TRA 000.00.22.H29-240101-{n:04d}",
        received_at=NOW,
        fingerprint=fingerprint or f"fp-{n}",
    )


def config(schema: PgSchema, **changes: object) -> PgStoreConfig:
    return PgStoreConfig(url=schema.url, schema=schema.schema, **changes)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def store(pg_schema: PgSchema) -> AsyncIterator[PgStore]:
    opened = await open_pg_store(config(pg_schema))
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(params=["memory", "postgresql"])
async def any_store(
    request: pytest.FixtureRequest, pg_schema: PgSchema
) -> AsyncIterator[MessageStore]:
    if request.param == "memory":
        memory = MemoryStore(SystemClock())
        yield memory
        await memory.close()
        return
    opened = await open_pg_store(config(pg_schema))
    try:
        yield opened
    finally:
        await opened.close()


# ---- the contract, for both stores -------------------------------------------------------------


async def test_a_redelivery_is_recognised_and_stored_once(any_store: MessageStore) -> None:
    assert await any_store.save_mo([mo(1), mo(2)]) == [True, True]
    assert await any_store.save_mo([mo(2), mo(3), mo(3)]) == [False, True, False]
    claimed = await any_store.claim_mo("a", 10, 30.0)
    assert [m.sender for m in claimed] == [mo(1).sender, mo(2).sender, mo(3).sender]
    assert claimed[0].text == mo(1).text
    assert claimed[0].received_at == NOW


async def test_an_answer_queues_its_replies_once(any_store: MessageStore) -> None:
    await any_store.save_mo([mo(1)])
    [first] = await any_store.claim_mo("a", 10, 30.0)
    drafts = [ReplyDraft(first.sender, "HS 1: DANG XU LY."), ReplyDraft(first.sender, "p2")]
    await any_store.answer_mo(first.id, drafts)
    await any_store.answer_mo(first.id, drafts)  # a second answer (a lease taken over) is a no-op
    assert await any_store.claim_mo("a", 10, 30.0) == []
    replies = await any_store.claim_replies("a", 10, 30.0)
    assert [(r.destination, r.text, r.mo_id, r.attempts) for r in replies] == [
        (first.sender, "HS 1: DANG XU LY.", first.id, 0),
        (first.sender, "p2", first.id, 0),
    ]
    assert await any_store.claim_replies("b", 10, 30.0) == []


async def test_a_temporary_failure_comes_back_after_its_delay(any_store: MessageStore) -> None:
    await any_store.enqueue([ReplyDraft("84912345678", "notice")])
    [reply] = await any_store.claim_replies("a", 10, 30.0)
    assert reply.mo_id is None
    await any_store.reply_retry(reply.id, 0.0, "ESME_RTHROTTLED")
    [again] = await any_store.claim_replies("a", 10, 30.0)
    assert (again.id, again.attempts) == (reply.id, 1)
    await any_store.reply_retry(again.id, 3600.0, "ESME_RTHROTTLED")
    assert await any_store.claim_replies("a", 10, 30.0) == []


async def test_sent_and_failed_replies_are_not_claimed_again(any_store: MessageStore) -> None:
    await any_store.enqueue([ReplyDraft("84912345678", "a"), ReplyDraft("84912345679", "b")])
    first, second = await any_store.claim_replies("a", 10, 30.0)
    await any_store.reply_sent(first.id, ["m-1"])
    await any_store.reply_failed(second.id, "ESME_RINVDSTADR")
    await any_store.record_receipt(first.id, "m-1", "DELIVRD")
    assert await any_store.claim_replies("a", 10, 30.0) == []


async def test_wait_for_work_wakes_on_new_messages(any_store: MessageStore) -> None:
    await any_store.wait_for_work(0.01)  # clear whatever woke it before
    waiter = asyncio.create_task(any_store.wait_for_work(30.0))
    await asyncio.sleep(0)
    await any_store.save_mo([mo(7)])
    await asyncio.wait_for(waiter, 10.0)


# ---- PostgreSQL only ---------------------------------------------------------------------------


async def _reply_row(store: PgStore, reply_id: str) -> asyncpg.Record:
    async with store.transaction() as connection:
        row = await connection.fetchrow("SELECT * FROM outbox WHERE id = $1", int(reply_id))
    assert row is not None
    return row


async def test_two_stores_never_claim_the_same_row(pg_schema: PgSchema) -> None:
    a = await open_pg_store(config(pg_schema))
    b = await open_pg_store(config(pg_schema))
    try:
        await a.save_mo([mo(n) for n in range(200)])
        batches = await asyncio.gather(
            *(s.claim_mo(s_name, 7, 30.0) for _ in range(20) for s, s_name in ((a, "a"), (b, "b")))
        )
        ids = [m.id for batch in batches for m in batch]
        assert len(ids) == len(set(ids)) == 200
        for m in (m for batch in batches for m in batch):
            await a.answer_mo(m.id, [ReplyDraft(m.sender, "ok")])
        replies = await asyncio.gather(
            *(s.claim_replies(n, 9, 30.0) for _ in range(20) for s, n in ((a, "a"), (b, "b")))
        )
        reply_ids = [r.id for batch in replies for r in batch]
        assert len(reply_ids) == len(set(reply_ids)) == 200
    finally:
        await a.close()
        await b.close()


async def test_a_dead_owners_claims_are_taken_over_when_the_lease_ends(
    pg_schema: PgSchema,
) -> None:
    dead = await open_pg_store(config(pg_schema))
    await dead.save_mo([mo(1)])
    await dead.enqueue([ReplyDraft("84912345678", "reply")])
    assert len(await dead.claim_mo("dead", 10, 0.5)) == 1
    [reply] = await dead.claim_replies("dead", 10, 0.5)
    await dead.close()  # stops renewing, as a killed process does
    heir = await open_pg_store(config(pg_schema))
    try:
        assert await heir.claim_mo("heir", 10, 30.0) == []  # the lease still runs
        assert await heir.claim_replies("heir", 10, 30.0) == []
        deadline = asyncio.get_running_loop().time() + 10
        mos: list[object] = []
        replies: list[object] = []
        while (not mos or not replies) and asyncio.get_running_loop().time() < deadline:
            mos += await heir.claim_mo("heir", 10, 30.0)
            replies += await heir.claim_replies("heir", 10, 30.0)
            await heir.wait_for_work(0.1)
        assert len(mos) == 1
        assert [r.id for r in replies] == [reply.id]  # type: ignore[attr-defined]
        assert replies[0].attempts == 1  # type: ignore[attr-defined]
        assert (await heir.counts())["reclaims"] == 1
    finally:
        await heir.close()


async def test_a_live_owner_keeps_its_claims_past_the_lease(store: PgStore) -> None:
    await store.enqueue([ReplyDraft("84912345678", "slow send")])
    assert len(await store.claim_replies("alive", 10, 0.3)) == 1
    first = (await _reply_row(store, "1"))["claimed_until"]
    for _ in range(100):  # renewed every lease/3 while this store runs
        if (await _reply_row(store, "1"))["claimed_until"] > first:
            break
        await store.wait_for_work(0.05)
    assert await store.claim_replies("other", 10, 30.0) == []
    assert (await _reply_row(store, "1"))["claimed_by"] == "alive"


async def test_a_receipt_before_its_submit_resp_is_recorded_is_kept(store: PgStore) -> None:
    await store.enqueue([ReplyDraft("84912345678", "long"), ReplyDraft("84912345679", "x")])
    first, second = await store.claim_replies("a", 10, 30.0)
    await store.record_receipt(None, "abc1", "DELIVRD")  # overtook the resp
    await store.reply_sent(first.id, ["abc0", "abc1"])
    row = await _reply_row(store, first.id)
    assert (row["state"], row["receipt"]) == ("sent", "DELIVRD")
    await store.reply_sent(second.id, ["abc2"])
    await store.record_receipt(None, "abc2", "UNDELIV")  # the usual order, matched by id
    row = await _reply_row(store, second.id)
    assert (row["state"], row["receipt"]) == ("sent", "UNDELIV")


async def test_a_permanent_failure_keeps_its_reason(store: PgStore) -> None:
    await store.enqueue([ReplyDraft("84912345678", "x")])
    [reply] = await store.claim_replies("a", 10, 30.0)
    await store.reply_failed(reply.id, "ESME_RINVDSTADR")
    row = await _reply_row(store, reply.id)
    assert (row["state"], row["reason"]) == ("failed", "ESME_RINVDSTADR")
    assert row["finished_at"] is not None


async def test_concurrent_callers_share_commits(store: PgStore) -> None:
    await store.save_mo([mo(n) for n in range(300)])
    claimed = await store.claim_mo("a", 300, 30.0)
    await asyncio.gather(*(store.answer_mo(m.id, [ReplyDraft(m.sender, "r")]) for m in claimed))
    assert (await store.counts())["queued"] == 300
    assert store._answers.flushes < 300 / 2  # batched, not one commit per answer


async def test_redeliveries_after_the_window_are_new_messages(pg_schema: PgSchema) -> None:
    short = await open_pg_store(config(pg_schema, dedup_window=0.2))
    try:
        assert await short.save_mo([mo(1)]) == [True]
        assert await short.save_mo([mo(1)]) == [False]
        await asyncio.sleep(0.3)  # the window is a time span; nothing to poll for
        assert await short.save_mo([mo(1)]) == [True]
    finally:
        await short.close()


async def test_an_unreachable_database_is_unavailable_not_a_crash() -> None:
    away = PgStoreConfig(
        url=f"postgresql://postgres@127.0.0.1:{free_port()}/test", start_timeout=0.5
    )
    with pytest.raises(StoreUnavailable):
        await open_pg_store(away)


async def test_writes_fail_as_unavailable_while_the_server_is_down_and_resume_after(
    private_postgres: PrivatePostgres,
) -> None:
    store = await open_pg_store(PgStoreConfig(url=private_postgres.url, timeout=2.0))
    try:
        assert await store.save_mo([mo(1)]) == [True]
        await private_postgres.halt()
        with pytest.raises(StoreUnavailable):
            await store.save_mo([mo(2)])
        await private_postgres.resume()
        for _ in range(50):
            try:
                assert await store.save_mo([mo(2)]) == [True]
                break
            except StoreUnavailable:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the store did not come back after the server did")
        await store.save_mo([mo(3)])
        assert len(await store.claim_mo("a", 10, 30.0)) == 3
        # the listener reconnected too: a new message wakes a waiter
        await store.wait_for_work(0.01)
        waiter = asyncio.create_task(store.wait_for_work(30.0))
        await asyncio.sleep(0)
        await store.save_mo([mo(4)])
        await asyncio.wait_for(waiter, 15.0)
    finally:
        await store.close()
