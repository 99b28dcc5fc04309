"""The SMS pipeline's rules, with the SMPP link replaced by a recorder and faults injected in
the store (the real SMSC and PostgreSQL are exercised by the interop and durability tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from gateway.app import build_responder
from gateway.clock import ManualClock
from gateway.health import Health
from gateway.lookup_factory import build_lookup
from gateway.settings import build_settings
from gateway.store import InboundMo, MemoryStore, StoreUnavailable
from sms.errors import CommandStatus
from sms.limits import SmppConfig
from sms.pdu import DeliverSm, SubmitSm
from sms.pipeline import PipelineLimits, SmsPipeline
from sms.transport import SubmitOutcome, SubmitResult
from tests.support.fake_ami import eventually

CODE = "000.00.22.H29-240101-0001"
SENDER = "84901000001"


@dataclass
class RecordingClient:
    """Stands in for ``SmppClient``: records submits, answers with scripted outcomes."""

    config: SmppConfig = field(default_factory=lambda: SmppConfig(short_code="8283"))
    outcomes: list[SubmitOutcome] = field(default_factory=list)
    submitted: list[SubmitSm] = field(default_factory=list)

    def make_submit(
        self, destination_addr: str, body: bytes, *, data_coding: int = 0, esm_class: int = 0
    ) -> SubmitSm:
        return SubmitSm(
            destination_addr, short_message=body, data_coding=data_coding, esm_class=esm_class
        )

    async def submit(self, message: SubmitSm, *, reference: str | None = None) -> SubmitOutcome:
        self.submitted.append(message)
        if self.outcomes:
            return self.outcomes.pop(0)
        return SubmitOutcome(SubmitResult.ACCEPTED, 0, f"00AB{len(self.submitted):02d}", 1)


class FlakyStore(MemoryStore):
    """A memory store whose MO writes fail while ``down`` is set."""

    down = False

    async def save_mo(self, batch: Sequence[InboundMo]) -> list[bool]:
        if self.down:
            raise StoreUnavailable("database restarting")
        return await super().save_mo(batch)


@dataclass
class Acks:
    statuses: list[int] = field(default_factory=list)

    def __call__(self, status: int) -> None:
        self.statuses.append(status)


def mo(text: str, sender: str = SENDER) -> DeliverSm:
    return DeliverSm(sender, "8283", short_message=text.encode("ascii"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def make_pipeline(
    store: MemoryStore, clock: ManualClock, client: RecordingClient, backlog: int = 100
) -> SmsPipeline:
    settings = build_settings({"smpp": {"short_code": "8283"}})
    lookup = build_lookup(settings, Health(clock), clock)
    responder = build_responder(settings, lookup, clock)
    limits = PipelineLimits(backlog=backlog, processors=2, senders=2, batch_wait=0.0)
    pipeline = SmsPipeline(store, responder, clock, limits, "test")
    pipeline.attach(client)  # type: ignore[arg-type]
    pipeline.start()
    return pipeline


async def test_nothing_is_acknowledged_that_is_not_stored(clock: ManualClock) -> None:
    store, client = FlakyStore(clock), RecordingClient()
    pipeline = await make_pipeline(store, clock, client)
    try:
        store.down = True
        refused = Acks()
        pipeline.deliver(mo(f"TRA {CODE}"), refused)
        await eventually(lambda: bool(refused.statuses))
        assert refused.statuses == [CommandStatus.RX_T_APPN]
        store.down = False
        accepted = Acks()
        pipeline.deliver(mo(f"TRA {CODE}"), accepted)  # the SMSC's retry
        await eventually(lambda: bool(client.submitted))
        assert accepted.statuses == [CommandStatus.ROK]
        assert len(client.submitted) == 1
    finally:
        await pipeline.close()


async def test_a_redelivery_is_acknowledged_but_answered_once(clock: ManualClock) -> None:
    store, client = MemoryStore(clock), RecordingClient()
    pipeline = await make_pipeline(store, clock, client)
    try:
        first, again = Acks(), Acks()
        pipeline.deliver(mo(f"TRA {CODE}"), first)
        pipeline.deliver(mo(f"TRA {CODE}"), again)
        await eventually(lambda: bool(client.submitted and first.statuses and again.statuses))
        assert await pipeline.drain(5.0)
        assert first.statuses == again.statuses == [CommandStatus.ROK]
        assert len(client.submitted) == 1
        assert pipeline.stats.duplicates == 1
    finally:
        await pipeline.close()


async def test_a_full_backlog_asks_the_smsc_to_retry(clock: ManualClock) -> None:
    store, client = MemoryStore(clock), RecordingClient()
    pipeline = await make_pipeline(store, clock, client, backlog=1)
    try:
        first, second = Acks(), Acks()
        pipeline.deliver(mo(f"TRA {CODE}"), first)
        pipeline.deliver(mo(f"TRA {CODE}", sender="84901000002"), second)
        assert second.statuses == [CommandStatus.RMSGQFUL]
        await eventually(lambda: bool(first.statuses))
        assert first.statuses == [CommandStatus.ROK]
    finally:
        await pipeline.close()


async def test_message_ids_are_kept_in_the_form_receipts_use(clock: ManualClock) -> None:
    store, client = MemoryStore(clock), RecordingClient()
    pipeline = await make_pipeline(store, clock, client)
    try:
        pipeline.deliver(mo(f"TRA {CODE}"), Acks())
        await eventually(lambda: bool(store.outstanding() == 0 and client.submitted))
        sent = [r for r in store._replies.values() if r.state == "sent"]
        assert [r.message_ids for r in sent] == [("ab01",)]  # "00AB01" canonical: no zeros, folded
    finally:
        await pipeline.close()


async def test_a_permanent_refusal_fails_the_reply_without_retrying(clock: ManualClock) -> None:
    store = MemoryStore(clock)
    client = RecordingClient(outcomes=[SubmitOutcome(SubmitResult.REJECTED, 0x0B, None, 1)])
    pipeline = await make_pipeline(store, clock, client)
    try:
        pipeline.deliver(mo(f"TRA {CODE}"), Acks())
        await eventually(lambda: bool(pipeline.stats.failed == 1))
        await asyncio.sleep(0.1)
        assert len(client.submitted) == 1
        assert [r.reason for r in store._replies.values()] == ["smsc status 0x0000000B"]
    finally:
        await pipeline.close()


async def test_a_temporary_failure_is_retried_later(clock: ManualClock) -> None:
    store = MemoryStore(clock)
    client = RecordingClient(outcomes=[SubmitOutcome(SubmitResult.GAVE_UP, 0x58, None, 5)])
    pipeline = await make_pipeline(store, clock, client)
    try:
        pipeline.deliver(mo(f"TRA {CODE}"), Acks())
        await eventually(lambda: bool(len(client.submitted) == 1))
        await asyncio.sleep(0.1)
        assert pipeline.stats.sent == 0
        clock.advance(PipelineLimits().retry_min + 1)  # the backoff has passed
        await eventually(lambda: bool(pipeline.stats.sent == 1))
        assert len(client.submitted) == 2
    finally:
        await pipeline.close()


async def test_alphanumeric_senders_get_no_reply(clock: ManualClock) -> None:
    store, client = MemoryStore(clock), RecordingClient()
    pipeline = await make_pipeline(store, clock, client)
    try:
        acks = Acks()
        pipeline.deliver(mo(f"TRA {CODE}", sender="VNPT"), acks)
        await eventually(lambda: bool(acks.statuses and pipeline.stats.answered == 1))
        assert acks.statuses == [CommandStatus.ROK]
        await asyncio.sleep(0.1)
        assert client.submitted == []
    finally:
        await pipeline.close()
