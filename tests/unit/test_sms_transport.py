"""SmppClient over a real loopback socket against a tiny in-process SMSC that misbehaves on
purpose (drops, half-open links, garbage, throttling, lost answers).

The fake SMSC speaks through smpplib directly, not through ``sms.codec``, so the two sides do
not share a codec. Interoperability with an independent SMSC is the interop suite's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from smpplib import smpp

from sms.dlr import DeliveryReceipt, ReceiptState
from sms.errors import CommandStatus, SubmitAbortedError
from sms.limits import SmppConfig
from sms.pdu import DeliverSm, SubmitSm
from sms.transport import (
    Ack,
    ClientState,
    MoBacklog,
    SmppClient,
    SubmitOutcome,
    SubmitResult,
)

Parsed = Any  # an smpplib PDU object


def _encode(name: str, sequence: int, status: int = 0, **fields: object) -> bytes:
    pdu = smpp.make_pdu(name, sequence=sequence, **fields)
    pdu.sequence = sequence
    pdu.status = status
    data: bytes = pdu.generate()
    return data


class SmscLink:
    """One ESME connection as the fake SMSC sees it."""

    def __init__(self, smsc: FakeSmsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.smsc = smsc
        self.reader = reader
        self.writer = writer
        self.received: list[Parsed] = []
        self.bind: str | None = None
        self.closed = False
        self._sequence = itertools.count(1)
        self._answers: dict[int, asyncio.Future[Parsed]] = {}

    def send(self, name: str, sequence: int, status: int = 0, **fields: object) -> None:
        self.writer.write(_encode(name, sequence, status, **fields))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def deliver(self, **fields: object) -> asyncio.Future[Parsed]:
        """Push one deliver_sm; the future resolves with the ESME's deliver_sm_resp."""
        sequence = next(self._sequence)
        answer: asyncio.Future[Parsed] = asyncio.get_running_loop().create_future()
        self._answers[sequence] = answer
        fields.setdefault("source_addr", "84912345678")
        fields.setdefault("destination_addr", "8283")
        self.send("deliver_sm", sequence, **fields)
        return answer

    def answer_submit(self, pdu: Parsed, status: int = 0, message_id: str = "") -> None:
        self.send("submit_sm_resp", pdu.sequence, status, message_id=message_id)

    def names(self) -> list[str]:
        return [pdu.command for pdu in self.received]

    async def serve(self) -> None:
        try:
            while True:
                head = await self.reader.readexactly(4)
                (length,) = struct.unpack(">I", head)
                raw = head + await self.reader.readexactly(length - 4)
                pdu = smpp.parse_pdu(raw, sequence=0, allow_unknown_opt_params=True)
                self.received.append(pdu)
                self.smsc.on_pdu(self, pdu)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed = True
            self.writer.close()

    def resolve(self, pdu: Parsed) -> None:
        answer = self._answers.pop(pdu.sequence, None)
        if answer is not None and not answer.done():
            answer.set_result(pdu)


class FakeSmsc:
    """Accepts binds, answers what it is told to, records everything."""

    def __init__(self) -> None:
        self.links: list[SmscLink] = []
        self.bind_status = 0
        self.answer_enquire_link = True
        self.answer_unbind = True
        self.on_submit: Callable[[SmscLink, Parsed], None] = self.accept
        self._ids = itertools.count(0x1A0)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for link in self.links:
            link.writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = SmscLink(self, reader, writer)
        self.links.append(link)
        task = asyncio.get_running_loop().create_task(link.serve())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def accept(self, link: SmscLink, pdu: Parsed) -> str:
        message_id = f"{next(self._ids):X}"
        link.answer_submit(pdu, 0, message_id)
        return message_id

    def on_pdu(self, link: SmscLink, pdu: Parsed) -> None:
        name = pdu.command
        if name.startswith("bind_"):
            link.bind = name
            link.send(name + "_resp", pdu.sequence, self.bind_status, system_id="FAKE")
        elif name == "enquire_link" and self.answer_enquire_link:
            link.send("enquire_link_resp", pdu.sequence)
        elif name == "submit_sm":
            self.on_submit(link, pdu)
        elif name == "unbind" and self.answer_unbind:
            link.send("unbind_resp", pdu.sequence)
        elif name.endswith("_resp") or name == "generic_nack":
            link.resolve(pdu)

    def bound(self, bind: str | None = None) -> list[SmscLink]:
        return [x for x in self.links if x.bind and not x.closed and bind in (None, x.bind)]

    def submits(self) -> list[Parsed]:
        return [pdu for link in self.links for pdu in link.received if pdu.command == "submit_sm"]


class Recorder:
    """MoSink and ReceiptSink that keep what they get; acknowledges at once unless told not to."""

    def __init__(self, ack_at_once: bool = True) -> None:
        self.ack_at_once = ack_at_once
        self.messages: list[tuple[DeliverSm, Ack]] = []
        self.receipts: list[tuple[DeliveryReceipt, str | None]] = []

    def deliver(self, message: DeliverSm, ack: Ack) -> None:
        self.messages.append((message, ack))
        if self.ack_at_once:
            ack(CommandStatus.ROK)

    def receipt(self, receipt: DeliveryReceipt, reference: str | None, ack: Ack) -> None:
        self.receipts.append((receipt, reference))
        ack(CommandStatus.ROK)


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (polling a plain predicate)
            await asyncio.sleep(0.005)


@pytest.fixture(autouse=True)
def _quiet_smpplib() -> None:
    logging.getLogger("smpplib.command").setLevel(logging.ERROR)


@pytest_asyncio.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    server = FakeSmsc()
    await server.start()
    yield server
    await server.close()


def make_config(smsc: FakeSmsc, **overrides: Any) -> SmppConfig:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "statusgw",
        "password": "secret",
        "system_type": "VMA",
        "address_range": "8283",
        "short_code": "8283",
        "source_ton": 3,
        "throughput": 0,
        "reconnect_min": 0.02,
        "reconnect_max": 0.1,
        "response_timeout": 3.0,
        "connect_timeout": 2.0,
    }
    values.update(overrides)
    return SmppConfig(**values)


@contextlib.asynccontextmanager
async def running(client: SmppClient, drain: float = 1.0) -> AsyncIterator[SmppClient]:
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(5):
            await client.wait_bound()
        yield client
    finally:
        await client.stop(drain)
        async with asyncio.timeout(5):
            await task


def client_for(smsc: FakeSmsc, sink: Recorder | None = None, **overrides: Any) -> SmppClient:
    recorder = sink or Recorder()
    return SmppClient(make_config(smsc, **overrides), recorder, recorder, rng=random.Random(1))


def mt(client: SmppClient, text: str = "Ho so 000.00.22.H29: da co ket qua") -> SubmitSm:
    return client.make_submit("84912345678", text.encode("ascii"))


# ---- binds and the happy path ------------------------------------------------------------


async def test_transceiver_bind_and_a_submit(smsc: FakeSmsc) -> None:
    client = client_for(smsc)
    assert client.state is ClientState.DOWN
    async with running(client):
        assert client.state is ClientState.BOUND
        [link] = smsc.bound()
        bind = link.received[0]
        assert link.bind == "bind_transceiver"
        assert (bind.system_id, bind.password, bind.system_type) == (b"statusgw", b"secret", b"VMA")
        assert (bind.interface_version, bind.address_range) == (0x34, b"8283")
        outcome = await client.submit(mt(client))
        assert outcome == SubmitOutcome(SubmitResult.ACCEPTED, 0, "1A0", 1)
        [submit] = smsc.submits()
        assert (submit.source_addr, submit.source_addr_ton) == (b"8283", 3)
        assert (submit.destination_addr, submit.dest_addr_ton, submit.dest_addr_npi) == (
            b"84912345678",
            1,
            1,
        )
        assert submit.registered_delivery == 1
    assert client.state is ClientState.DOWN
    assert "unbind" in link.names()


async def test_transmitter_receiver_pair(smsc: FakeSmsc) -> None:
    sink = Recorder()
    client = client_for(smsc, sink, bind="transmitter_receiver")
    async with running(client):
        [tx] = smsc.bound("bind_transmitter")
        [rx] = smsc.bound("bind_receiver")
        assert (await client.submit(mt(client))).accepted
        assert "submit_sm" in tx.names()
        assert "submit_sm" not in rx.names()
        resp = await asyncio.wait_for(rx.deliver(short_message=b"TRA 123"), 5)
        assert (resp.command, resp.status) == ("deliver_sm_resp", 0)
        assert [message.body for message, _ in sink.messages] == [b"TRA 123"]


async def test_mo_is_answered_when_the_application_acknowledges(smsc: FakeSmsc) -> None:
    sink = Recorder(ack_at_once=False)
    async with running(client_for(smsc, sink)):
        [link] = smsc.bound()
        answer = link.deliver(short_message=b"TRA 1", data_coding=0)
        await until(lambda: sink.messages)
        assert not answer.done()
        message, ack = sink.messages[0]
        assert (message.source_addr, message.destination_addr) == ("84912345678", "8283")
        ack(CommandStatus.ROK)
        resp = await asyncio.wait_for(answer, 5)
        assert resp.status == CommandStatus.ROK
        with pytest.raises(Exception, match="twice"):
            ack(CommandStatus.ROK)


async def test_full_backlog_answers_msgqful_at_once(smsc: FakeSmsc) -> None:
    backlog = MoBacklog(maxsize=1)
    client = SmppClient(make_config(smsc), backlog, rng=random.Random(1))
    async with running(client):
        [link] = smsc.bound()
        first = link.deliver(short_message=b"TRA 1")
        second = link.deliver(short_message=b"TRA 2")
        resp = await asyncio.wait_for(second, 5)
        assert resp.status == CommandStatus.RMSGQFUL
        assert not first.done()
        message, ack = await backlog.get()
        assert message.body == b"TRA 1"
        ack(CommandStatus.ROK)
        assert (await asyncio.wait_for(first, 5)).status == 0


async def test_a_sink_that_raises_costs_one_temporary_error(smsc: FakeSmsc) -> None:
    class Broken(Recorder):
        def deliver(self, message: DeliverSm, ack: Ack) -> None:
            raise RuntimeError("boom")

    async with running(client_for(smsc, Broken())):
        [link] = smsc.bound()
        resp = await asyncio.wait_for(link.deliver(short_message=b"TRA 1"), 5)
        assert resp.status == CommandStatus.RX_T_APPN
        assert (await asyncio.wait_for(link.deliver(short_message=b"x"), 5)).status != 0


# ---- SMSC answers ------------------------------------------------------------------------


async def test_throttled_submit_is_paused_and_sent_again(smsc: FakeSmsc) -> None:
    answers = iter([CommandStatus.RTHROTTLED, CommandStatus.ROK])

    def throttle_once(link: SmscLink, pdu: Parsed) -> None:
        link.answer_submit(pdu, next(answers), "77")

    smsc.on_submit = throttle_once
    client = client_for(smsc, throttle_pause=0.05)
    async with running(client):
        outcome = await client.submit(mt(client))
    assert outcome == SubmitOutcome(SubmitResult.ACCEPTED, 0, "77", 2)
    assert client.stats.throttled == 1
    assert len(smsc.submits()) == 2


async def test_permanent_error_is_returned(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: link.answer_submit(pdu, CommandStatus.RINVDSTADR)
    client = client_for(smsc)
    async with running(client):
        outcome = await client.submit(mt(client))
    assert outcome == SubmitOutcome(SubmitResult.REJECTED, CommandStatus.RINVDSTADR, None, 1)


async def test_transient_errors_give_up_after_the_attempts_budget(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: link.answer_submit(pdu, CommandStatus.RSYSERR)
    client = client_for(smsc, max_submit_attempts=3)
    async with running(client):
        outcome = await client.submit(mt(client))
    assert outcome == SubmitOutcome(SubmitResult.GAVE_UP, CommandStatus.RSYSERR, None, 3)


async def test_window_caps_submits_in_flight(smsc: FakeSmsc) -> None:
    held: list[tuple[SmscLink, Parsed]] = []
    smsc.on_submit = lambda link, pdu: held.append((link, pdu))
    client = client_for(smsc, window=3)
    async with running(client):
        tasks = [asyncio.create_task(client.submit(mt(client))) for _ in range(5)]
        await until(lambda: len(held) == 3)
        assert client.window_in_use == 3
        assert client.queued == 2
        for link, pdu in held[:2]:
            link.answer_submit(pdu, 0, str(pdu.sequence))
        await until(lambda: len(held) == 5)
        for link, pdu in held[2:]:
            link.answer_submit(pdu, 0, str(pdu.sequence))
        outcomes = await asyncio.gather(*tasks)
    assert all(outcome.accepted for outcome in outcomes)


# ---- faults ------------------------------------------------------------------------------


async def test_submit_in_flight_on_a_dropped_link_is_sent_again_after_rebind(
    smsc: FakeSmsc,
) -> None:
    def drop_first(link: SmscLink, pdu: Parsed) -> None:
        if len(smsc.submits()) == 1:
            link.writer.transport.abort()  # the resp is lost with the link
        else:
            smsc.accept(link, pdu)

    smsc.on_submit = drop_first
    client = client_for(smsc)
    async with running(client):
        outcome = await client.submit(mt(client))
        assert outcome.accepted
        assert outcome.attempts == 2
        assert client.stats.submits_resent == 1
        assert client.stats.binds == 2
    first, second = smsc.submits()
    assert first.short_message == second.short_message


async def test_submits_queued_while_down_go_out_after_the_bind(smsc: FakeSmsc) -> None:
    client = client_for(smsc)
    pending = asyncio.create_task(client.submit(mt(client)))
    await asyncio.sleep(0)
    assert not pending.done()
    async with running(client):
        assert (await pending).accepted


async def test_half_open_link_is_declared_dead_and_rebound(smsc: FakeSmsc) -> None:
    client = client_for(smsc, enquire_link_interval=0.1, dead_link_timeout=0.1)
    async with running(client):
        smsc.answer_enquire_link = False
        await until(lambda: client.stats.binds >= 2 and client.state is ClientState.BOUND)
        first = smsc.links[0]
        assert "enquire_link" in first.names()
        await until(lambda: first.closed)
        smsc.answer_enquire_link = True
        assert (await client.submit(mt(client))).accepted


async def test_we_answer_the_smsc_enquire_link(smsc: FakeSmsc) -> None:
    async with running(client_for(smsc)):
        [link] = smsc.bound()
        answer: asyncio.Future[Parsed] = asyncio.get_running_loop().create_future()
        link._answers[900] = answer
        link.send("enquire_link", 900)
        resp = await asyncio.wait_for(answer, 5)
        assert resp.command == "enquire_link_resp"


async def test_garbage_length_is_nacked_then_the_link_is_rebuilt(smsc: FakeSmsc) -> None:
    client = client_for(smsc)
    async with running(client):
        first = smsc.links[0]
        first.send_raw(struct.pack(">IIII", 0x7FFFFFFF, 5, 0, 66) + b"garbage")
        await until(lambda: first.closed)
        nack = first.received[-1]
        assert (nack.command, nack.sequence, nack.status) == (
            "generic_nack",
            66,
            CommandStatus.RINVCMDLEN,
        )
        await until(lambda: client.stats.binds == 2 and client.state is ClientState.BOUND)
        assert (await client.submit(mt(client))).accepted


async def test_unknown_command_is_nacked_and_the_link_stays(smsc: FakeSmsc) -> None:
    sink = Recorder()
    async with running(client_for(smsc, sink)):
        [link] = smsc.bound()
        answer: asyncio.Future[Parsed] = asyncio.get_running_loop().create_future()
        link._answers[31] = answer
        link.send_raw(struct.pack(">IIII", 16, 0x00000077, 0, 31))
        nack = await asyncio.wait_for(answer, 5)
        assert (nack.command, nack.status) == ("generic_nack", CommandStatus.RINVCMDID)
        assert (await asyncio.wait_for(link.deliver(short_message=b"TRA 1"), 5)).status == 0
        assert not link.closed


async def test_response_timeout_rebinds_and_sends_again(smsc: FakeSmsc) -> None:
    def ignore_first(link: SmscLink, pdu: Parsed) -> None:
        if len(smsc.submits()) > 1:
            smsc.accept(link, pdu)

    smsc.on_submit = ignore_first
    client = client_for(smsc, response_timeout=0.5)
    async with running(client):
        outcome = await client.submit(mt(client))
    assert (outcome.accepted, outcome.attempts) == (True, 2)
    assert client.stats.response_timeouts == 1
    assert smsc.links[0].closed


async def test_bind_refused_is_retried_with_backoff(smsc: FakeSmsc) -> None:
    smsc.bind_status = CommandStatus.RINVPASWD
    client = client_for(smsc)
    task = asyncio.create_task(client.run())
    await until(lambda: len(smsc.links) >= 3)
    assert client.state is not ClientState.BOUND
    smsc.bind_status = 0
    async with asyncio.timeout(5):
        await client.wait_bound()
    await client.stop(0.5)
    await task


async def test_connection_refused_is_retried(smsc: FakeSmsc) -> None:
    client = client_for(smsc, port=1)  # nothing listens there
    task = asyncio.create_task(client.run())
    await until(lambda: client.stats.reconnects >= 2)
    assert client.state is not ClientState.BOUND
    await client.stop(0.1)
    await task


# ---- receipts ----------------------------------------------------------------------------


async def test_receipt_is_matched_to_the_reference(smsc: FakeSmsc) -> None:
    sink = Recorder()
    client = client_for(smsc, sink)
    async with running(client):
        outcome = await client.submit(mt(client), reference="reply-1")
        [link] = smsc.bound()
        text = f"id:{outcome.message_id} sub:001 dlvrd:001 stat:DELIVRD err:000".encode()
        resp = await asyncio.wait_for(link.deliver(esm_class=0x04, short_message=text), 5)
        assert resp.status == 0
    [(receipt, reference)] = sink.receipts
    assert (receipt.state, reference) == (ReceiptState.DELIVERED, "reply-1")
    assert sink.messages == []
    assert client.stats.receipts_matched == 1


async def test_receipt_before_its_submit_resp_is_held_and_matched(smsc: FakeSmsc) -> None:
    def receipt_first(link: SmscLink, pdu: Parsed) -> None:
        link.deliver(esm_class=0x04, receipted_message_id="00ab", message_state=2)
        link.answer_submit(pdu, 0, "AB")

    smsc.on_submit = receipt_first
    sink = Recorder()
    client = client_for(smsc, sink)
    async with running(client):
        await client.submit(mt(client), reference="reply-2")
        await until(lambda: sink.receipts)
    [(receipt, reference)] = sink.receipts
    assert (receipt.message_id, reference) == ("ab", "reply-2")


async def test_unmatched_receipt_is_delivered_after_the_hold(smsc: FakeSmsc) -> None:
    def receipt_for_another(link: SmscLink, pdu: Parsed) -> None:
        link.deliver(esm_class=0x04, receipted_message_id="FFFF", message_state=5)
        asyncio.get_running_loop().call_later(0.5, link.answer_submit, pdu, 0, "AB")

    smsc.on_submit = receipt_for_another
    sink = Recorder()
    client = client_for(smsc, sink, receipt_hold=0.02)
    async with running(client):
        await client.submit(mt(client), reference="reply-3")
        await until(lambda: sink.receipts)
    [(receipt, reference)] = sink.receipts
    assert (receipt.state, reference) == (ReceiptState.UNDELIVERABLE, None)


# ---- stop --------------------------------------------------------------------------------


async def test_stop_drains_refuses_new_mo_and_unbinds(smsc: FakeSmsc) -> None:
    held: list[tuple[SmscLink, Parsed]] = []
    smsc.on_submit = lambda link, pdu: held.append((link, pdu))
    client = client_for(smsc)
    task = asyncio.create_task(client.run())
    await client.wait_bound()
    [link] = smsc.bound()
    submit = asyncio.create_task(client.submit(mt(client)))
    await until(lambda: held)
    stopping = asyncio.create_task(client.stop(5.0))
    await until(lambda: client._stopping)
    refused = await asyncio.wait_for(link.deliver(short_message=b"TRA 9"), 5)
    assert refused.status == CommandStatus.RX_T_APPN
    assert "unbind" not in link.names()  # still draining
    link.answer_submit(held[0][1], 0, "D1")
    assert (await submit).accepted
    await asyncio.wait_for(stopping, 5)
    await asyncio.wait_for(task, 5)
    assert link.names()[-1] == "unbind"
    assert client.state is ClientState.DOWN
    with pytest.raises(SubmitAbortedError):
        await client.submit(mt(client))


async def test_stop_is_bounded_when_nothing_answers(smsc: FakeSmsc) -> None:
    smsc.on_submit = lambda link, pdu: None
    smsc.answer_unbind = False
    client = client_for(smsc, response_timeout=0.2)
    task = asyncio.create_task(client.run())
    await client.wait_bound()
    submit = asyncio.create_task(client.submit(mt(client)))
    await until(smsc.submits)
    await client.stop(0.05)
    with pytest.raises(SubmitAbortedError):
        await submit
    await asyncio.wait_for(task, 5)
    await until(lambda: smsc.links[0].closed)


async def test_stop_waits_for_the_unbind_resp_of_every_link(smsc: FakeSmsc) -> None:
    smsc.answer_unbind = False
    client = client_for(smsc, bind="transmitter_receiver")
    task = asyncio.create_task(client.run())
    await client.wait_bound()
    [tx] = smsc.bound("bind_transmitter")
    [rx] = smsc.bound("bind_receiver")
    stopping = asyncio.create_task(client.stop(1.0))
    await until(lambda: "unbind" in tx.names() and "unbind" in rx.names())
    tx.send("unbind_resp", tx.received[-1].sequence)
    await until(lambda: tx.closed)
    with pytest.raises(TimeoutError):  # the receiver is still waiting for its answer
        await until(lambda: rx.closed, timeout=0.3)
    assert not stopping.done()
    rx.send("unbind_resp", rx.received[-1].sequence)
    await asyncio.wait_for(stopping, 5)
    await asyncio.wait_for(task, 5)
    assert rx.closed
