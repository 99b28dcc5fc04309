"""The SMS channel's flow: MO in, stored, acknowledged, answered, reply sent.

    SMPP read loop ─deliver()─► decode, join parts ─► batch ─save_mo─► ack each deliver_sm
                                                                         │
      processors: claim_mo ─► Responder.answer (lookup) ─► answer_mo (replies into the outbox)
                                                                         │
      senders: claim_replies ─► encode + segment ─► SmppClient.submit ─► reply_sent/retry/failed

Rules that keep it whole:

- The read loop never waits here: ``deliver`` only appends to a batch. A full backlog answers
  ESME_RMSGQFUL at once; the SMSC keeps the message and retries.
- Group commit: the batch is written in one store call, then every deliver_sm in it is
  acknowledged; if the store cannot write, every one gets ESME_RX_T_APPN (the SMSC retries).
  Nothing is acknowledged that is not stored. A redelivery of a stored message is
  acknowledged and not answered again.
- Parts of a long message are acknowledged as they arrive and held in memory until the last
  one; the joined message is then stored like any other. (A crash while parts are still
  missing loses those parts; the citizen's phone has to send them again.)
- Replies leave only through the outbox, so a reply is never lost with a dropped link: the
  transport resends what was in flight, and a reply whose sending failed for a temporary
  reason is retried with backoff; a permanent SMSC error marks it failed with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from gateway.clock import Clock
from gateway.phone import to_international
from gateway.store import (
    InboundMo,
    MessageStore,
    OutboundSms,
    ReplyDraft,
    StoredMo,
    StoreUnavailable,
)
from sms.dlr import DeliveryReceipt, canonical_message_id
from sms.errors import CommandStatus, SubmitAbortedError
from sms.pdu import DeliverSm
from sms.reassembly import CompleteMo, MoPart, Reassembler
from sms.responder import Responder
from sms.text import Concat, Encoding, ReferenceCounter, decode_mo, encode_reply
from sms.transport import Ack, SmppClient, SubmitResult

_log = structlog.get_logger("statusgw.sms")
STORE_RETRY = 0.2  # seconds between claims while the store is unavailable
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PipelineLimits:
    backlog: int = 10_000  # messages accepted but not answered before refusing new ones
    batch_max: int = 200  # messages stored in one commit
    batch_wait: float = 0.002  # seconds a batch waits to fill once its first message is in
    processors: int = 32  # messages answered at once (lookups run concurrently)
    senders: int = 64  # replies being submitted at once (should cover the SMPP window)
    claim_batch: int = 50
    lease: float = 60.0  # seconds a claimed message or reply stays ours
    retry_min: float = 5.0  # backoff for a reply whose sending failed temporarily
    retry_max: float = 600.0
    max_send_attempts: int = 10  # then the reply is marked failed
    encoding: Encoding = "fold"
    max_parts: int = 3
    reassembly_timeout: float = 300.0
    reassembly_max_pending: int = 10_000


@dataclass(frozen=True, slots=True)
class _Pending:
    mo: InboundMo
    acks: tuple[Ack, ...]
    started: float


class SmsPipeline:
    """Implements the transport's ``MoSink`` and ``ReceiptSink``; owns the worker tasks."""

    def __init__(
        self,
        store: MessageStore,
        responder: Responder,
        clock: Clock,
        limits: PipelineLimits,
        owner: str,
    ) -> None:
        self._store = store
        self._responder = responder
        self._clock = clock
        self._limits = limits
        self._owner = owner
        self._client: SmppClient | None = None
        self._reassembler = Reassembler(limits.reassembly_timeout, limits.reassembly_max_pending)
        self._refs = ReferenceCounter()
        self._batch: list[_Pending] = []
        self._batch_ready = asyncio.Event()
        self._in_flight = 0  # accepted, not yet answered by this process
        self._accepting = True
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._progress = asyncio.Event()  # set whenever a message is stored, answered or sent
        self.stats = PipelineStats()
        self._mo_lane: _Lane[StoredMo] = _Lane(limits.processors)
        self._reply_lane: _Lane[OutboundSms] = _Lane(limits.senders)

    def attach(self, client: SmppClient) -> None:
        self._client = client

    # ---- from the SMPP read loop (never blocks) ----------------------------------------

    def deliver(self, message: DeliverSm, ack: Ack) -> None:
        if not self._accepting:
            ack(CommandStatus.RX_T_APPN)
            return
        if self._in_flight + len(self._batch) >= self._limits.backlog:
            self.stats.refused += 1
            ack(CommandStatus.RMSGQFUL)
            return
        concat, decoded = decode_mo(message.body, message.data_coding, message.esm_class)
        if concat is None and message.sar_msg_ref_num is not None:
            concat = _sar(message)
        part = MoPart(message.source_addr, message.destination_addr, decoded.text, concat)
        complete = self._reassembler.add(part, self._clock.monotonic())
        if complete is None:
            # A part: acknowledged now. Holding its deliver_sm_resp until the last part came
            # would stall the SMSC's window for minutes and make it redeliver.
            ack(CommandStatus.ROK)
            return
        self._enqueue(complete, (ack,))

    def receipt(self, receipt: DeliveryReceipt, reference: str | None, ack: Ack) -> None:
        self.stats.receipts += 1
        task = asyncio.get_running_loop().create_task(self._record(receipt, reference, ack))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    def _enqueue(self, complete: CompleteMo, acks: tuple[Ack, ...]) -> None:
        inbound = InboundMo(
            sender=complete.sender,
            destination=complete.destination,
            text=complete.text,
            received_at=self._clock.now(),
            fingerprint=_fingerprint(complete),
        )
        self._batch.append(_Pending(inbound, acks, time.perf_counter()))
        self._batch_ready.set()

    # ---- workers ------------------------------------------------------------------------

    def start(self) -> None:
        spawn = asyncio.get_running_loop().create_task
        self._tasks.append(spawn(self._commit_loop(), name="sms-commit"))
        self._tasks.append(spawn(self._expire_loop(), name="sms-reassembly"))
        mo, replies = self._mo_lane, self._reply_lane
        self._tasks += [
            spawn(self._watch_store(), name="sms-watch-store"),
            spawn(self._claim_loop(mo, self._claim_mo), name="sms-claim-mo"),
            spawn(self._claim_loop(replies, self._claim_replies), name="sms-claim-replies"),
        ]
        self._tasks += [
            spawn(self._lane_worker(mo, self._process_claimed), name=f"sms-process-{i}")
            for i in range(self._limits.processors)
        ]
        self._tasks += [
            spawn(self._lane_worker(replies, self._send_claimed), name=f"sms-send-{i}")
            for i in range(self._limits.senders)
        ]

    async def stop_accepting(self) -> None:
        """New MO are refused with a temporary error from now on (the SMSC redelivers later)."""
        self._accepting = False

    async def drain(self, timeout: float) -> bool:
        """Wait until every accepted message is answered and sent; True if it happened."""
        try:
            async with asyncio.timeout(timeout):
                while self._in_flight or self._batch or self._reply_lane.held:
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _commit_loop(self) -> None:
        while True:
            await self._batch_ready.wait()
            await asyncio.sleep(self._limits.batch_wait)
            batch, self._batch = (
                self._batch[: self._limits.batch_max],
                self._batch[self._limits.batch_max :],
            )
            if not self._batch:
                self._batch_ready.clear()
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            fresh = await self._store.save_mo([p.mo for p in batch])
        except StoreUnavailable as exc:
            self.stats.store_errors += 1
            _log.warning("store_unavailable", messages=len(batch), error=str(exc))
            for pending in batch:
                for ack in pending.acks:
                    ack(CommandStatus.RX_T_APPN)
            return
        for pending, new in zip(batch, fresh, strict=True):
            for ack in pending.acks:
                ack(CommandStatus.ROK)
            if new:
                self._in_flight += 1
                self.stats.received += 1
            else:
                self.stats.duplicates += 1
        self._progress.set()

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for complete in self._reassembler.expire(self._clock.monotonic()):
                self._enqueue(complete, ())

    async def _watch_store(self) -> None:
        """The one task that waits on the store, then wakes both claimers.

        At least every half second even without news: a reply whose retry came due, or work
        another instance left when its lease ended, is found then.
        """
        while True:
            await self._store.wait_for_work(0.5)
            self._mo_lane.wake.set()
            self._reply_lane.wake.set()

    async def _claim_loop(
        self, lane: _Lane[_T], claim: Callable[[int], Awaitable[list[_T]]]
    ) -> None:
        """Claim as much work as the lane's workers have room for, one query at a time.

        Why one claimer per lane: with a claim per idle worker, every wake-up sent each of
        them to the store at once, and all but one came back empty (measured: ten claims per
        reply sent with the SMPP window at 100, most of the gateway's time at full load).
        """
        while True:
            room = lane.workers - lane.held
            if room <= 0:
                lane.freed.clear()
                await lane.freed.wait()
                continue
            lane.wake.clear()  # before claiming: news that arrives meanwhile is not lost
            asked = min(room, self._limits.claim_batch)
            try:
                claimed = await claim(asked)
            except StoreUnavailable:
                self.stats.store_errors += 1
                await asyncio.sleep(STORE_RETRY)  # the store is away: ask again shortly
                continue
            lane.held += len(claimed)
            for item in claimed:
                lane.queue.put_nowait(item)
            if len(claimed) < asked:
                await lane.wake.wait()

    async def _lane_worker(self, lane: _Lane[_T], work: Callable[[_T], Awaitable[bool]]) -> None:
        """Work through claimed items until ``work`` says this worker is done."""
        going = True
        while going:
            item = await lane.queue.get()
            try:
                going = await work(item)
            finally:
                lane.held -= 1
                lane.freed.set()

    async def _claim_mo(self, limit: int) -> list[StoredMo]:
        return await self._store.claim_mo(self._owner, limit, self._limits.lease)

    async def _claim_replies(self, limit: int) -> list[OutboundSms]:
        return await self._store.claim_replies(self._owner, limit, self._limits.lease)

    async def _process_claimed(self, mo: StoredMo) -> bool:
        await self._process(mo.id, mo.sender, mo.text)
        return True

    async def _process(self, mo_id: str, sender: str, text: str) -> None:
        started = time.perf_counter()
        try:
            answer = await self._responder.answer(sender, text)
        except Exception:  # a bug must not silence the citizen: answer and log it
            _log.exception("sms_failed", sender=sender)
            answer = None
        drafts = (
            [ReplyDraft(sender, t) for t in answer.texts]
            if answer is not None
            else [ReplyDraft(sender, self._responder.replies.unavailable())]
        )
        try:
            await self._store.answer_mo(mo_id, drafts)
        except StoreUnavailable:
            self.stats.store_errors += 1
            return  # the claim's lease ends and the message is answered later
        self._in_flight = max(0, self._in_flight - 1)
        self.stats.answered += 1
        self._progress.set()
        if answer is not None:
            _log.info(
                "sms",
                sender=sender,
                command=answer.command,
                outcome=answer.outcome,
                codes=list(answer.codes),
                disclosure=answer.disclosure or None,
                cache=answer.cache or None,
                replies=len(drafts),
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
            )

    async def _send_claimed(self, sms: OutboundSms) -> bool:
        self.stats.sending += 1
        try:
            await self._send(sms)
        except StoreUnavailable:
            # Sent or not, the outcome was not recorded: the claim lapses and the reply
            # is sent again (a possible duplicate, never a loss).
            self.stats.store_errors += 1
        except SubmitAbortedError:
            # The client stopped (a drain that ran out of time): nothing more can be
            # sent; the claim lapses and the reply goes out from the next start.
            return False
        finally:
            self.stats.sending -= 1
            self._progress.set()
        return True

    async def _send(self, sms: OutboundSms) -> None:
        assert self._client is not None, "attach() the SMPP client before start()"
        destination = to_international(sms.destination)
        segmented = encode_reply(
            sms.text, self._limits.encoding, self._limits.max_parts, self._refs.next(destination)
        )
        if segmented.replaced:
            _log.warning("sms_unrepresentable", characters="".join(segmented.replaced))
        message_ids: list[str] = []
        for body in segmented.parts:
            submit = self._client.make_submit(
                destination, body, data_coding=segmented.data_coding, esm_class=segmented.esm_class
            )
            outcome = await self._client.submit(submit, reference=sms.id)
            if outcome.result is SubmitResult.REJECTED:
                self.stats.failed += 1
                await self._store.reply_failed(sms.id, f"smsc status 0x{outcome.status or 0:08X}")
                return
            if outcome.result is SubmitResult.GAVE_UP:
                await self._retry(sms, f"no acceptance after {outcome.attempts} attempts")
                return
            # Stored in the form receipts are matched in, so a receipt that arrives after a
            # restart (nothing left in memory) still finds its reply by message id.
            message_ids.append(
                canonical_message_id(outcome.message_id or "", self._client.config.submit_id_base)
            )
        self.stats.sent += 1
        self.stats.segments += len(segmented.parts)
        await self._store.reply_sent(sms.id, message_ids)

    async def _retry(self, sms: OutboundSms, reason: str) -> None:
        if sms.attempts + 1 >= self._limits.max_send_attempts:
            self.stats.failed += 1
            await self._store.reply_failed(sms.id, reason)
            return
        delay = min(self._limits.retry_max, self._limits.retry_min * 2**sms.attempts)
        await self._store.reply_retry(sms.id, delay, reason)

    async def _record(self, receipt: DeliveryReceipt, reference: str | None, ack: Ack) -> None:
        try:
            await self._store.record_receipt(
                reference, receipt.message_id, receipt.state.name.lower()
            )
        except StoreUnavailable:
            ack(CommandStatus.RX_T_APPN)
            return
        state = receipt.state.name.lower()
        self.stats.receipt_states[state] = self.stats.receipt_states.get(state, 0) + 1
        ack(CommandStatus.ROK)


class _Lane(Generic[_T]):
    """Claimed work on its way to ``workers`` tasks; ``held``: claimed and not finished."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.queue: asyncio.Queue[_T] = asyncio.Queue()
        self.held = 0
        self.wake = asyncio.Event()  # the store may have work
        self.freed = asyncio.Event()  # a worker finished an item


@dataclass(slots=True)
class PipelineStats:
    received: int = 0
    duplicates: int = 0
    refused: int = 0
    answered: int = 0
    sent: int = 0
    segments: int = 0
    failed: int = 0
    receipts: int = 0
    store_errors: int = 0
    sending: int = 0
    receipt_states: dict[str, int] = field(default_factory=dict)  # delivered, undeliverable, …


def _sar(message: DeliverSm) -> Concat | None:
    return Concat.from_sar(
        message.sar_msg_ref_num or 0,
        message.sar_total_segments or 0,
        message.sar_segment_seqnum or 0,
    )


def _fingerprint(complete: CompleteMo) -> str:
    raw = f"{complete.sender}\x1f{complete.destination}\x1f{complete.text}".encode()
    return hashlib.blake2b(raw, digest_size=16).hexdigest()
