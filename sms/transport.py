"""The SMPP client: the only asyncio code of the SMS channel.

It moves bytes between TCP connections and ``sms.session.SmppSession`` state machines and
applies the policies the session leaves open:

- **Binds.** One transceiver connection, or a transmitter + receiver pair (two
  connections, each re-established on its own).
- **Reconnects** after any drop, with exponential backoff and jitter (``ReconnectBackoff``);
  the backoff resets once a bind has lasted ``stable_after`` seconds.
- **Submits** wait in one queue for a bound transmitter, room in the window and a token
  from the pacer (our ``throughput`` cap, halved and paused when the SMSC answers
  ESME_RTHROTTLED / ESME_RMSGQFUL; ``SubmitPacer``). Throttled submits are sent again.
  Submits in flight on a link that drops, or whose response times out (the link is then
  closed and re-bound, Kannel's default), go back to the head of the queue and are sent
  again after the re-bind. **Duplicate risk:** if the SMSC had accepted such a submit and
  only its submit_sm_resp was lost, the citizen gets the reply twice. A status reply twice
  is better than none; ``max_submit_attempts`` bounds it.
- **MO** are handed to the ``MoSink`` from the read callback itself: the read path never
  awaits application work (an awaiting reader lets MO fill a queue while the
  submit_sm_resp the application waits for sit unread behind them). The sink answers
  through the ``ack`` it is given, at once or later; the deliver_sm_resp goes out then,
  so the SMSC's own window is the backpressure. A sink whose backlog is full answers
  ESME_RMSGQFUL at once (``MoBacklog`` does exactly that).
- **Receipts** go to the ``ReceiptSink`` with the ``reference`` given to ``submit``, matched
  by message id (``sms.dlr.ReceiptCorrelator``).
- **Stop**: refuse new MO with a temporary error (the SMSC redelivers later), let queued
  and in-flight submits finish within ``drain_timeout``, unbind and wait for unbind_resp.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import structlog

from sms.dlr import DeliveryReceipt, ReceiptCorrelator, canonical_message_id, parse_receipt
from sms.errors import (
    CommandStatus,
    LocalProtocolError,
    RemoteProtocolError,
    SubmitAbortedError,
    is_temporary,
    is_throttling,
    status_name,
)
from sms.limits import ReconnectBackoff, SmppConfig, SubmitPacer
from sms.pdu import MAX_SHORT_MESSAGE, BindMode, CommandId, DeliverSm, SubmitSm
from sms.session import (
    BindRejected,
    Bound,
    Event,
    LinkDead,
    MessageReceived,
    MessageRejected,
    NeedData,
    PeerNack,
    ResponseTimeout,
    SessionState,
    SmppSession,
    SubmitResponse,
    Unbound,
)

Ack = Callable[[int], None]
"""Answer one deliver_sm with this command status; call exactly once."""


class MoSink(Protocol):
    def deliver(self, message: DeliverSm, ack: Ack) -> None:
        """Take one citizen message. Must not block; call ``ack(status)`` exactly once,
        now or later (ESME_ROK once the message is safe, ESME_RMSGQFUL when full)."""
        ...


class ReceiptSink(Protocol):
    def receipt(self, receipt: DeliveryReceipt, reference: str | None, ack: Ack) -> None:
        """Take one delivery receipt; ``reference`` is what ``submit`` was given for the
        message it reports on (None if unknown). Same ``ack`` contract as ``MoSink``."""
        ...


class ClientState(Enum):
    """For health checks: every connection bound, some connecting, or waiting to retry."""

    BOUND = "bound"
    CONNECTING = "connecting"
    DOWN = "down"


class SubmitResult(Enum):
    ACCEPTED = "accepted"  # the SMSC took it: message_id is set
    REJECTED = "rejected"  # a permanent error status
    GAVE_UP = "gave_up"  # temporary failures until the attempts budget ran out


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    result: SubmitResult
    status: int | None  # the SMSC's last command status; None if it never answered
    message_id: str | None
    attempts: int

    @property
    def accepted(self) -> bool:
        return self.result is SubmitResult.ACCEPTED


@dataclass(slots=True)
class SmppStats:
    """Counters for metrics; read them, never write them."""

    binds: int = 0
    reconnects: int = 0
    mo_received: int = 0
    mo_refused: int = 0  # answered with an error by the gateway itself
    receipts_received: int = 0
    receipts_matched: int = 0
    submits_accepted: int = 0
    submits_rejected: int = 0
    submits_gave_up: int = 0
    submits_resent: int = 0
    throttled: int = 0
    response_timeouts: int = 0


class MoBacklog:
    """A bounded ``MoSink``: queues MO for a consumer, answers ESME_RMSGQFUL when full."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[tuple[DeliverSm, Ack]] = asyncio.Queue(maxsize)

    def deliver(self, message: DeliverSm, ack: Ack) -> None:
        try:
            self._queue.put_nowait((message, ack))
        except asyncio.QueueFull:
            ack(CommandStatus.RMSGQFUL)

    async def get(self) -> tuple[DeliverSm, Ack]:
        return await self._queue.get()

    def qsize(self) -> int:
        return self._queue.qsize()


def submit_from_short_code(
    config: SmppConfig,
    destination_addr: str,
    body: bytes,
    *,
    data_coding: int = 0,
    esm_class: int = 0,
    sar: tuple[int, int, int] | None = None,
) -> SubmitSm:
    """A reply from the configured short code (TON/NPI, receipts as configured).

    ``body`` over 254 octets travels in message_payload; ``sar`` is
    (msg_ref_num, total_segments, segment_seqnum) for SAR-style concatenation.
    """
    long_body = len(body) > MAX_SHORT_MESSAGE
    ref, total, seqnum = sar if sar is not None else (None, None, None)
    return SubmitSm(
        destination_addr=destination_addr,
        short_message=b"" if long_body else body,
        message_payload=body if long_body else None,
        data_coding=data_coding,
        esm_class=esm_class,
        registered_delivery=config.registered_delivery,
        source_addr=config.short_code,
        source_addr_ton=config.source_ton,
        source_addr_npi=config.source_npi,
        sar_msg_ref_num=ref,
        sar_total_segments=total,
        sar_segment_seqnum=seqnum,
    )


@dataclass(slots=True)
class _SubmitJob:
    message: SubmitSm
    reference: str | None
    future: asyncio.Future[SubmitOutcome]
    sends: int = 0
    failures: int = 0  # lost links, response timeouts, transient errors
    throttled: int = 0
    last_status: int | None = None


class _Ack:
    """The ``ack`` handed with one MO: answers it on the connection it came from, once."""

    __slots__ = ("_link", "_sequence", "done")

    def __init__(self, link: _Link, sequence: int) -> None:
        self._link = link
        self._sequence = sequence
        self.done = False

    def __call__(self, status: int = CommandStatus.ROK) -> None:
        if self.done:
            raise LocalProtocolError("message acknowledged twice")
        self.done = True
        self._link.acknowledge(self._sequence, status)


class _Link(asyncio.Protocol):
    """One TCP connection and its session. Every callback here is synchronous."""

    def __init__(self, client: SmppClient, mode: BindMode) -> None:
        self.client = client
        self.mode = mode
        self.session = SmppSession(mode, client.config.session_limits(), client.now())
        self.in_flight: dict[int, _SubmitJob] = {}
        self.bound_at: float | None = None
        loop = asyncio.get_running_loop()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._out = bytearray()  # written this loop iteration, sent in one syscall
        self._flush_scheduled = False
        self._dispatching = False

    # ---- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._write(self.session.bind(self.client.config.bind_request(), self.client.now()))
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        self.session.receive_data(data, self.client.now())
        self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self.session.connection_lost()
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.closed.done():
            self.closed.set_result(None)
        self.client._link_closed(self)

    # ---- used by the client -----------------------------------------------------------

    @property
    def can_submit(self) -> bool:
        """Bound with room in the window, and not being closed (a closing link still reads
        answers to what it sent, but takes nothing new)."""
        transport = self._transport
        return transport is not None and not transport.is_closing() and self.session.can_submit

    def send_submit(self, job: _SubmitJob, now: float) -> None:
        sequence, data = self.session.submit(job.message, now)
        job.sends += 1
        self.in_flight[sequence] = job
        self._write(data)
        self._arm_timer()

    def acknowledge(self, sequence: int, status: int) -> None:
        data = self.session.acknowledge(sequence, status)
        if data:
            self._write(data)

    def unbind(self) -> None:
        if self.session.state is SessionState.BOUND:
            self._write(self.session.unbind(self.client.now()))
            self._arm_timer()
        else:
            self.close(abort=True)

    def close(self, *, abort: bool = False) -> None:
        transport = self._transport
        if transport is None:
            return
        if abort:
            transport.abort()
        elif not transport.is_closing():
            self._flush()
            transport.close()  # sends what is buffered first
            # a peer that stopped reading would keep close() waiting for ever
            self._loop.call_later(self.client.config.response_timeout, transport.abort)

    # ---- internals --------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Queue bytes; everything written in one loop iteration leaves in one send."""
        self._out += data
        if not self._dispatching and not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._out:
            return
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(bytes(self._out))
        self._out.clear()

    def _process(self) -> None:
        """Drain the session's events; flush replies once; close or re-arm the timer."""
        self._dispatching = True
        fatal = False
        try:
            while True:
                event = self.session.next_event()
                if isinstance(event, NeedData):
                    break
                self.client._on_event(self, event)
        except RemoteProtocolError as exc:
            self.client._log.warning("smpp_framing_lost", mode=self.mode.name, reason=exc.reason)
            fatal = True
        except Exception:  # a bug must cost one connection, not the reader
            self.client._log.exception("smpp_link_error", mode=self.mode.name)
            fatal = True
        finally:
            self._dispatching = False
        self._out += self.session.data_to_send()
        self._flush()
        if fatal or self.session.state is SessionState.CLOSED:
            self.close()
        else:
            self._arm_timer()

    def _arm_timer(self) -> None:
        now = self.client.now()
        delay = self.session.timeout(now)
        if delay is None:
            return
        if self._timer is not None:
            if self._timer_at <= now + delay:
                return  # fires earlier anyway; it re-arms itself
            self._timer.cancel()
        self._timer_at = now + delay
        self._timer = self._loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._transport is None:
            return
        self.session.tick(self.client.now())
        self._process()


class SmppClient:
    """An SMPP 3.4 ESME that stays bound, sends submits and hands up MO and receipts.

    ``clock`` (seconds, monotonic) and ``rng`` (reconnect jitter) are injected.
    """

    def __init__(
        self,
        config: SmppConfig,
        mo_sink: MoSink,
        receipt_sink: ReceiptSink | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.stats = SmppStats()
        self.now = clock
        self._mo_sink = mo_sink
        self._receipt_sink = receipt_sink
        self._rng = rng if rng is not None else random.Random()
        self._log = structlog.get_logger("statusgw.smpp")
        self._queue: deque[_SubmitJob] = deque()
        self._links: dict[BindMode, _Link] = {}
        self._slot_states = dict.fromkeys(config.bind_modes, ClientState.DOWN)
        self._pacer = SubmitPacer(
            config.throughput, config.throttle_pause, config.throttle_pause_max, clock()
        )
        self._correlator: ReceiptCorrelator[str | None, _Ack] = ReceiptCorrelator(
            config.receipt_map_size, config.receipt_hold
        )
        self._receipt_timer: asyncio.TimerHandle | None = None
        self._accepting_mo = True
        self._stopping = False
        self._closing = False
        self._running = False
        self._wake: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._state_changed: asyncio.Event | None = None
        self._closing_event: asyncio.Event | None = None
        self._stopped: asyncio.Event | None = None

    # ---- public API ---------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        states = self._slot_states.values()
        if self._closing:
            return ClientState.DOWN
        if all(state is ClientState.BOUND for state in states):
            return ClientState.BOUND
        if any(state is ClientState.CONNECTING for state in states):
            return ClientState.CONNECTING
        return ClientState.DOWN

    @property
    def window_in_use(self) -> int:
        return sum(len(link.in_flight) for link in self._links.values())

    @property
    def queued(self) -> int:
        return len(self._queue)

    def make_submit(
        self,
        destination_addr: str,
        body: bytes,
        *,
        data_coding: int = 0,
        esm_class: int = 0,
        sar: tuple[int, int, int] | None = None,
    ) -> SubmitSm:
        """A submit from the configured short code; see ``submit_from_short_code``."""
        return submit_from_short_code(
            self.config,
            destination_addr,
            body,
            data_coding=data_coding,
            esm_class=esm_class,
            sar=sar,
        )

    async def run(self) -> None:
        """Keep the binds up until ``stop()``; returns once stopped."""
        if self._running:
            raise LocalProtocolError("SmppClient.run() is already running")
        self._running = True
        self._events()
        assert self._stopped is not None
        tasks = [asyncio.create_task(self._keep_bound(mode)) for mode in self.config.bind_modes]
        tasks.append(asyncio.create_task(self._send_loop()))
        stopped = asyncio.create_task(self._stopped.wait())
        try:
            running = {stopped, *tasks}
            while not stopped.done():
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done - {stopped}:  # a worker that failed is a bug: surface it
                    error = None if task.cancelled() else task.exception()
                    if error is not None:
                        raise error
        finally:
            stopped.cancel()
            self._closing = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for link in list(self._links.values()):
                link.close(abort=True)
            self._abort_jobs("the SMPP client stopped")
            if self._receipt_timer is not None:
                self._receipt_timer.cancel()

    async def submit(self, message: SubmitSm, *, reference: str | None = None) -> SubmitOutcome:
        """Send one submit_sm: waits for a bound link, the window and the rate cap, survives
        reconnects. Raises ``SubmitAbortedError`` if the client stops first."""
        if self._closing:
            raise SubmitAbortedError("the SMPP client is stopped")
        job = _SubmitJob(message, reference, asyncio.get_running_loop().create_future())
        self._queue.append(job)
        self._signal(self._wake)
        return await job.future

    async def stop(self, drain_timeout: float) -> None:
        """Refuse new MO, let submits finish (bounded), unbind, wait for unbind_resp."""
        self._events()
        assert self._stopped is not None and self._closing_event is not None
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        self._accepting_mo = False
        self._log.info("smpp_stopping", queued=len(self._queue), in_flight=self.window_in_use)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain_timeout):
                await self._drained()
        self._closing = True
        self._closing_event.set()
        self._abort_jobs("the SMPP client stopped before the SMSC answered")
        links = list(self._links.values())
        for link in links:
            link.unbind()
        if links:
            await asyncio.wait(
                [link.closed for link in links], timeout=self.config.response_timeout
            )
        for link in links:
            link.close(abort=True)
        self._log.info("smpp_stopped")
        self._stopped.set()

    async def wait_bound(self) -> None:
        """Until every connection is bound (for start-up and tests)."""
        self._events()
        assert self._state_changed is not None
        while self.state is not ClientState.BOUND:
            self._state_changed.clear()
            await self._state_changed.wait()

    # ---- connections --------------------------------------------------------------------

    def _events(self) -> None:
        """Create the asyncio events inside the running loop, once."""
        if self._wake is None:
            self._wake = asyncio.Event()
            self._progress = asyncio.Event()
            self._state_changed = asyncio.Event()
            self._closing_event = asyncio.Event()
            self._stopped = asyncio.Event()

    def _set_slot(self, mode: BindMode, state: ClientState) -> None:
        self._slot_states[mode] = state
        self._signal(self._state_changed)

    async def _keep_bound(self, mode: BindMode) -> None:
        config = self.config
        backoff = ReconnectBackoff(
            config.reconnect_min, config.reconnect_max, self._rng, config.reconnect_jitter
        )
        while not self._closing:
            self._set_slot(mode, ClientState.CONNECTING)
            try:
                link = await self._connect(mode)
            except (OSError, TimeoutError) as exc:
                self._log.warning("smpp_connect_failed", mode=mode.name, error=str(exc))
            else:
                self._links[mode] = link
                await link.closed
                self._links.pop(mode, None)
                if link.bound_at is not None and self.now() - link.bound_at >= config.stable_after:
                    backoff.reset()
            self._set_slot(mode, ClientState.DOWN)
            if self._closing:
                return
            delay = backoff.next_delay()
            self.stats.reconnects += 1
            self._log.info("smpp_reconnect_in", mode=mode.name, seconds=round(delay, 2))
            assert self._closing_event is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._closing_event.wait()

    async def _connect(self, mode: BindMode) -> _Link:
        link = _Link(self, mode)
        async with asyncio.timeout(self.config.connect_timeout):
            await asyncio.get_running_loop().create_connection(
                lambda: link, self.config.host, self.config.port
            )
        return link

    def _link_closed(self, link: _Link) -> None:
        """Submits in flight on a lost link go back to the head of the queue (see the
        module docstring about the duplicate this may cause)."""
        self._slot_states[link.mode] = ClientState.DOWN
        jobs = list(link.in_flight.values())
        link.in_flight.clear()
        for job in reversed(jobs):
            self._retry_or_give_up(job)
        if link.bound_at is not None:
            self._log.info("smpp_link_closed", mode=link.mode.name, resent=len(jobs))
        self._signal(self._progress)
        self._signal(self._wake)

    def _transmitter(self) -> _Link | None:
        for link in self._links.values():
            if link.can_submit:
                return link
        return None

    # ---- events from the links ------------------------------------------------------------

    def _on_event(self, link: _Link, event: Event) -> None:
        if isinstance(event, MessageReceived):
            self._on_message(link, event.sequence, event.message)
        elif isinstance(event, SubmitResponse):
            job = link.in_flight.pop(event.sequence, None)
            if job is not None:
                self._on_submit_response(job, event.status, event.message_id)
        elif isinstance(event, MessageRejected):
            self.stats.mo_refused += 1
            self._log.debug(
                "smpp_message_refused", status=status_name(event.status), reason=event.reason
            )
        elif isinstance(event, ResponseTimeout):
            self._on_timeout(link, event)
        else:
            self._on_link_event(link, event)

    def _on_link_event(self, link: _Link, event: Event) -> None:
        mode = link.mode.name
        if isinstance(event, Bound):
            link.bound_at = self.now()
            self.stats.binds += 1
            self._log.info("smpp_bound", mode=mode, smsc=event.system_id)
            self._set_slot(link.mode, ClientState.BOUND)
            self._signal(self._wake)
        elif isinstance(event, BindRejected):
            self._log.warning("smpp_bind_rejected", mode=mode, status=status_name(event.status))
        elif isinstance(event, LinkDead):
            self._log.warning("smpp_link_dead", mode=mode)
            link.close(abort=True)
        elif isinstance(event, Unbound):
            self._log.info("smpp_unbound", mode=mode, by_peer=event.by_peer)
        elif isinstance(event, PeerNack):
            self._log.debug("smpp_peer_nack", mode=mode, status=status_name(event.status))

    def _on_timeout(self, link: _Link, event: ResponseTimeout) -> None:
        self.stats.response_timeouts += 1
        self._log.warning(
            "smpp_response_timeout", mode=link.mode.name, command=CommandId(event.command_id).name
        )
        job = link.in_flight.pop(event.sequence, None)
        if job is not None:
            self._retry_or_give_up(job)
            link.close()  # reconnect rather than wait on a link that lost an answer

    # ---- MO and receipts ----------------------------------------------------------------

    def _on_message(self, link: _Link, sequence: int, message: DeliverSm) -> None:
        ack = _Ack(link, sequence)
        if not self._accepting_mo:
            self.stats.mo_refused += 1
            ack(CommandStatus.RX_T_APPN)
        elif message.is_receipt:
            self._on_receipt(message, ack)
        else:
            self.stats.mo_received += 1
            try:
                self._mo_sink.deliver(message, ack)
            except Exception:
                self._sink_failed(ack)

    def _sink_failed(self, ack: _Ack) -> None:
        self._log.exception("smpp_sink_failed")
        if not ack.done:
            ack(CommandStatus.RX_T_APPN)

    def _on_receipt(self, message: DeliverSm, ack: _Ack) -> None:
        self.stats.receipts_received += 1
        receipt = parse_receipt(message, self.config.receipt_id_base)
        if receipt is None or self._receipt_sink is None:
            ack(CommandStatus.ROK)  # nothing to match; refusing would only make it come back
            return
        now = self.now()
        deliver_now, reference = self._correlator.received(
            receipt, ack, now, may_hold=self.window_in_use > 0
        )
        if deliver_now:
            self._deliver_receipt(receipt, reference, ack)
        else:
            self._arm_receipt_timer()

    def _deliver_receipt(self, receipt: DeliveryReceipt, reference: str | None, ack: _Ack) -> None:
        assert self._receipt_sink is not None
        if reference is not None:
            self.stats.receipts_matched += 1
        try:
            self._receipt_sink.receipt(receipt, reference, ack)
        except Exception:
            self._sink_failed(ack)

    def _arm_receipt_timer(self) -> None:
        due = self._correlator.next_expiry()
        if due is None or self._receipt_timer is not None:
            return
        delay = max(0.0, due - self.now())
        self._receipt_timer = asyncio.get_running_loop().call_later(delay, self._expire_receipts)

    def _expire_receipts(self) -> None:
        self._receipt_timer = None
        for receipt, ack in self._correlator.expire(self.now()):
            self._deliver_receipt(receipt, None, ack)
        self._arm_receipt_timer()

    # ---- submits --------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        assert self._wake is not None
        while True:
            link = self._transmitter() if self._queue else None
            if link is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self.now()
            wait = self._pacer.delay(now)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            job = self._queue.popleft()
            if job.future.done():  # the caller gave up waiting
                continue
            self._pacer.sent(now)
            try:
                link.send_submit(job, now)
            except LocalProtocolError as exc:
                self._finish(job, SubmitResult.REJECTED, None, None)
                self._log.error("smpp_submit_unencodable", error=str(exc))

    def _on_submit_response(self, job: _SubmitJob, status: int, message_id: str) -> None:
        now = self.now()
        job.last_status = status
        if status == CommandStatus.ROK:
            self._pacer.accepted(now)
            self._finish(job, SubmitResult.ACCEPTED, status, message_id)
            self._remember(message_id, job.reference, now)
        elif is_throttling(status):
            self.stats.throttled += 1
            self._pacer.throttled(now)
            job.throttled += 1
            if job.throttled > self.config.max_throttle_retries:
                self._finish(job, SubmitResult.GAVE_UP, status, None)
            else:
                self._queue.appendleft(job)
        elif is_temporary(status):
            self._retry_or_give_up(job)
        else:
            self._finish(job, SubmitResult.REJECTED, status, None)
        self._signal(self._wake)

    def _remember(self, message_id: str, reference: str | None, now: float) -> None:
        if not message_id or self._receipt_sink is None:
            return
        key = canonical_message_id(message_id, self.config.submit_id_base)
        for receipt, ack in self._correlator.sent(key, reference, now):
            self._deliver_receipt(receipt, reference, ack)

    def _retry_or_give_up(self, job: _SubmitJob) -> None:
        if job.future.done():
            return
        job.failures += 1
        if job.failures >= self.config.max_submit_attempts or self._closing:
            self._finish(job, SubmitResult.GAVE_UP, job.last_status, None)
        else:
            self.stats.submits_resent += 1
            self._queue.appendleft(job)
        self._signal(self._progress)

    def _finish(
        self, job: _SubmitJob, result: SubmitResult, status: int | None, message_id: str | None
    ) -> None:
        if result is SubmitResult.ACCEPTED:
            self.stats.submits_accepted += 1
        elif result is SubmitResult.REJECTED:
            self.stats.submits_rejected += 1
        else:
            self.stats.submits_gave_up += 1
        if not job.future.done():
            job.future.set_result(SubmitOutcome(result, status, message_id, job.sends))
        self._signal(self._progress)

    def _abort_jobs(self, reason: str) -> None:
        jobs = list(self._queue)
        self._queue.clear()
        for link in self._links.values():
            jobs += link.in_flight.values()
            link.in_flight.clear()
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(SubmitAbortedError(reason))
                job.future.exception()  # retrieved: a caller that went away is no error

    async def _drained(self) -> None:
        assert self._progress is not None
        while any(not job.future.done() for job in self._queue) or self.window_in_use:
            self._progress.clear()
            await self._progress.wait()

    @staticmethod
    def _signal(event: asyncio.Event | None) -> None:
        if event is not None:
            event.set()
