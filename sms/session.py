"""One SMPP 3.4 ESME session as a pure state machine: bytes in, events out, bytes to send.

No socket, no clock, no asyncio: the caller feeds received bytes (``receive_data``), pulls
typed events (``next_event``), asks for the bytes of what it wants to send (``bind``,
``submit``, ``acknowledge``, ``unbind``), and drives the timers with ``tick(now)`` at the
moment ``timeout(now)`` says. Replies the protocol makes on its own (enquire_link_resp,
unbind_resp, generic_nack, answers to PDUs we refuse, our own enquire_link) collect in
``data_to_send()``.

States, and the rule that forces each transition::

    OPEN -bind()-> BINDING -bind_resp OK-> BOUND -unbind()-> UNBINDING -unbind_resp-> CLOSED
                      |                      |                  |
                      +- bind_resp error ----+- peer unbind ----+- timeout ----------> CLOSED
                      +- bind timeout        +- our enquire_link unanswered (dead link)
                                             +- framing lost (length outside budget)

- OPEN -> BINDING: nothing but a bind may be sent before the SMSC has accepted one.
- BINDING -> BOUND: only a successful bind_resp to *our* bind sequence binds; any error
  status, or no answer within ``response_timeout``, closes (the transport reconnects).
- BOUND: submits are allowed while fewer than ``window`` are unanswered; each has its own
  response deadline. A deliver_sm is handed up once and must be acknowledged exactly once.
  After ``enquire_link_interval`` with nothing received we send enquire_link; if that goes
  unanswered for ``dead_link_timeout`` the link is dead (half-open TCP looks exactly like
  a quiet SMSC otherwise).
- BOUND -> UNBINDING: we stop sending requests but still take responses, so in-flight
  submits can complete; the SMSC must confirm the unbind, or it may redeliver what we
  already took (Kannel waits for unbind_resp for the same reason).
- any -> CLOSED: peer unbind (answered first), fatal framing error (answered with
  generic_nack first, then ``next_event`` raises ``RemoteProtocolError``), or the transport
  telling us the connection is gone (``connection_lost``).

A PDU that is merely undecodable keeps the link: it is answered with an error status
(generic_nack, or deliver_sm_resp with the status) and reported as an event.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Final

from sms import codec
from sms.errors import CommandStatus, LocalProtocolError, RemoteProtocolError
from sms.limits import MIN_PDU_SIZE, SessionLimits
from sms.pdu import (
    SEQUENCE_MAX,
    BindMode,
    BindRequest,
    BindResponse,
    CommandId,
    DeliverSm,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    is_response,
)


class SessionState(Enum):
    OPEN = "open"
    BINDING = "binding"
    BOUND = "bound"
    UNBINDING = "unbinding"
    CLOSED = "closed"


# ---------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True, slots=True)
class Bound:
    """The SMSC accepted our bind."""

    system_id: str


@dataclass(frozen=True, slots=True)
class BindRejected:
    """The SMSC refused our bind (the session is closed)."""

    status: int


@dataclass(frozen=True, slots=True)
class SubmitResponse:
    """The answer to one of our submit_sm (a generic_nack counts, with its status)."""

    sequence: int
    status: int
    message_id: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A deliver_sm or data_sm to hand up; answer it with ``acknowledge(sequence, status)``."""

    sequence: int
    message: DeliverSm


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """A deliver_sm we already answered with an error status (undecodable, wrong state)."""

    sequence: int
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class ResponseTimeout:
    """No answer to our request in time. For a bind or an unbind, the session is closed."""

    sequence: int
    command_id: int


@dataclass(frozen=True, slots=True)
class LinkDead:
    """Our enquire_link went unanswered: the link is presumed half-open; session closed."""


@dataclass(frozen=True, slots=True)
class Unbound:
    """The session ended with an unbind, ours (confirmed or nacked) or the peer's."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class PeerNack:
    """A generic_nack that answers none of our pending requests."""

    sequence: int
    status: int


class NeedData:
    """The type of ``NEED_DATA``: no complete PDU is buffered."""

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()

Event = (
    Bound
    | BindRejected
    | SubmitResponse
    | MessageReceived
    | MessageRejected
    | ResponseTimeout
    | LinkDead
    | Unbound
    | PeerNack
)

_LENGTH = struct.Struct(">I")
_SEQUENCE_AT = 12
_MESSAGES = frozenset({CommandId.DELIVER_SM, CommandId.DATA_SM})
_RESPONSE_FOR: dict[int, int] = {
    CommandId.DELIVER_SM: CommandId.DELIVER_SM_RESP,
    CommandId.DATA_SM: CommandId.DATA_SM_RESP,
}
# Requests that have no response in SMPP 3.4; anything else we do not serve is nacked.
_NO_RESPONSE = frozenset({CommandId.OUTBIND, CommandId.ALERT_NOTIFICATION})


class SmppSession:
    """The ESME side of one SMPP connection (see the module docstring for the rules)."""

    def __init__(
        self, mode: BindMode, limits: SessionLimits, now: float, first_sequence: int = 1
    ) -> None:
        self.mode = mode
        self.limits = limits
        self.state = SessionState.OPEN
        self._buffer = bytearray()
        self._offset = 0
        self._outbox = bytearray()
        self._events: deque[Event] = deque()
        if not 1 <= first_sequence <= SEQUENCE_MAX:
            raise LocalProtocolError("sequence numbers run from 1 to 0x7FFFFFFF")
        self._sequence = first_sequence - 1
        # our requests awaiting an answer: sequence -> (command_id, deadline). One timeout
        # applies to all of them, so insertion order is deadline order.
        self._pending: dict[int, tuple[int, float]] = {}
        self._submits = 0
        # deliver_sm/data_sm awaiting our answer: sequence -> (command_id, how many); an SMSC
        # that re-sends under the same sequence before we answered gets one answer per copy
        self._unacked: dict[int, tuple[int, int]] = {}
        self._last_received = now
        self._enquire_sequence: int | None = None
        self._enquire_deadline = 0.0

    # ---- what the caller may ask -----------------------------------------------------

    @property
    def submits_in_flight(self) -> int:
        return self._submits

    @property
    def can_submit(self) -> bool:
        """Bound for transmitting, with room in the window."""
        return (
            self.state is SessionState.BOUND
            and self.mode.can_submit
            and self._submits < self.limits.window
        )

    def bind(self, request: BindRequest, now: float) -> bytes:
        if self.state is not SessionState.OPEN:
            raise LocalProtocolError(f"bind in state {self.state.value}")
        sequence = self._next_sequence()
        data = codec.encode(Pdu(self.mode.command_id, sequence, 0, request))
        self._expect(sequence, self.mode.command_id, now)
        self.state = SessionState.BINDING
        return data

    def submit(self, message: SubmitSm, now: float) -> tuple[int, bytes]:
        """Sequence number and bytes of one submit_sm. The window must have room."""
        if not self.can_submit:
            raise LocalProtocolError(
                f"cannot submit: state {self.state.value}, mode {self.mode.name}, "
                f"{self._submits}/{self.limits.window} in flight"
            )
        sequence = self._next_sequence()
        data = codec.encode(Pdu(CommandId.SUBMIT_SM, sequence, 0, message))
        self._expect(sequence, CommandId.SUBMIT_SM, now)
        self._submits += 1
        return sequence, data

    def acknowledge(self, sequence: int, status: int = CommandStatus.ROK) -> bytes:
        """The answer to a ``MessageReceived``; empty once the link is gone."""
        waiting = self._unacked.pop(sequence, None)
        if waiting is None:
            raise LocalProtocolError(f"no message awaiting an answer under sequence {sequence}")
        command_id, copies = waiting
        if copies > 1:
            self._unacked[sequence] = (command_id, copies - 1)
        if self.state is SessionState.CLOSED:
            return b""
        if command_id == CommandId.DELIVER_SM:
            return codec.encode_deliver_sm_resp(sequence, status)
        return codec.encode_message_resp(_RESPONSE_FOR[command_id], sequence, status)

    def unbind(self, now: float) -> bytes:
        if self.state is not SessionState.BOUND:
            raise LocalProtocolError(f"unbind in state {self.state.value}")
        sequence = self._next_sequence()
        self._expect(sequence, CommandId.UNBIND, now)
        self.state = SessionState.UNBINDING
        return codec.encode_header(CommandId.UNBIND, sequence)

    def connection_lost(self) -> None:
        """The transport lost the connection: nothing more will be sent or received."""
        self.state = SessionState.CLOSED

    def data_to_send(self) -> bytes:
        """Bytes the session produced on its own since the last call."""
        if not self._outbox:
            return b""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    # ---- input -------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if self.state is SessionState.CLOSED:
            return
        self._last_received = now
        if self._offset:
            del self._buffer[: self._offset]
            self._offset = 0
        self._buffer += data

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``. Raises ``RemoteProtocolError`` if framing is lost."""
        if self._events:
            return self._events.popleft()
        while self.state is not SessionState.CLOSED:
            frame = self._next_frame()
            if frame is None:
                break
            event = self._handle(frame)
            if event is not None:
                return event
        return self._events.popleft() if self._events else NEED_DATA

    # ---- timers ------------------------------------------------------------------------

    def timeout(self, now: float) -> float | None:
        """Seconds until ``tick`` has something to do, or ``None`` if no timer runs."""
        deadline = self._next_deadline()
        return None if deadline is None else max(0.0, deadline - now)

    def tick(self, now: float) -> None:
        """Fire the timers due at ``now``; their events come out of ``next_event``."""
        self._expire_requests(now)
        if self.state is not SessionState.BOUND:
            return
        if self._enquire_sequence is not None:
            if now >= self._enquire_deadline:
                self.state = SessionState.CLOSED
                self._events.append(LinkDead())
        elif now >= self._last_received + self.limits.enquire_link_interval:
            self._enquire_sequence = self._next_sequence()
            self._enquire_deadline = now + self.limits.dead_link_timeout
            self._outbox += codec.encode_header(CommandId.ENQUIRE_LINK, self._enquire_sequence)

    def _next_deadline(self) -> float | None:
        candidates = []
        if self._pending:
            candidates.append(next(iter(self._pending.values()))[1])
        if self.state is SessionState.BOUND:
            if self._enquire_sequence is not None:
                candidates.append(self._enquire_deadline)
            else:
                candidates.append(self._last_received + self.limits.enquire_link_interval)
        return min(candidates) if candidates else None

    def _expire_requests(self, now: float) -> None:
        while self._pending:
            sequence, (command_id, deadline) = next(iter(self._pending.items()))
            if deadline > now:
                return
            del self._pending[sequence]
            if command_id == CommandId.SUBMIT_SM:
                self._submits -= 1
            else:  # bind or unbind unanswered: nothing more to expect from this link
                self.state = SessionState.CLOSED
            self._events.append(ResponseTimeout(sequence, command_id))

    # ---- framing -----------------------------------------------------------------------

    def _next_frame(self) -> bytes | None:
        available = len(self._buffer) - self._offset
        if available < 4:
            return None
        (length,) = _LENGTH.unpack_from(self._buffer, self._offset)
        if length < MIN_PDU_SIZE or length > self.limits.max_pdu_size:
            self._lose_framing(length, available)
        if available < length:
            return None
        frame = bytes(self._buffer[self._offset : self._offset + length])
        self._offset += length
        return frame

    def _lose_framing(self, length: int, available: int) -> None:
        sequence = 0
        if available >= MIN_PDU_SIZE:
            (sequence,) = _LENGTH.unpack_from(self._buffer, self._offset + _SEQUENCE_AT)
        self._outbox += codec.encode_generic_nack(sequence, CommandStatus.RINVCMDLEN)
        self.state = SessionState.CLOSED
        self._buffer.clear()
        self._offset = 0
        raise RemoteProtocolError(
            f"command_length {length} outside {MIN_PDU_SIZE}..{self.limits.max_pdu_size}",
            status=CommandStatus.RINVCMDLEN,
            sequence=sequence,
            fatal=True,
        )

    # ---- dispatch ----------------------------------------------------------------------

    def _handle(self, frame: bytes) -> Event | None:
        try:
            pdu = codec.decode(frame)
        except RemoteProtocolError as exc:
            return self._refuse(frame, exc)
        command_id = pdu.command_id
        if command_id in _MESSAGES:
            return self._on_message(pdu)
        if command_id == CommandId.SUBMIT_SM_RESP:
            return self._on_submit_resp(pdu)
        if command_id == CommandId.ENQUIRE_LINK:
            self._outbox += codec.encode_header(CommandId.ENQUIRE_LINK_RESP, pdu.sequence)
            return None
        if command_id == CommandId.ENQUIRE_LINK_RESP:
            if pdu.sequence == self._enquire_sequence:
                self._enquire_sequence = None
            return None
        if command_id == self.mode.response_id:
            return self._on_bind_resp(pdu)
        if command_id == CommandId.UNBIND:
            self._outbox += codec.encode_header(CommandId.UNBIND_RESP, pdu.sequence)
            self.state = SessionState.CLOSED
            return Unbound(by_peer=True)
        if command_id == CommandId.UNBIND_RESP:
            return self._on_unbind_resp(pdu)
        if command_id == CommandId.GENERIC_NACK:
            return self._on_nack(pdu)
        if not is_response(command_id) and command_id not in _NO_RESPONSE:
            self._outbox += codec.encode_generic_nack(pdu.sequence, CommandStatus.RINVCMDID)
        return None  # a response to nothing we asked, or a PDU that needs no answer

    def _refuse(self, frame: bytes, exc: RemoteProtocolError) -> Event | None:
        _, command_id, status, sequence = codec.HEADER.unpack_from(frame)
        if is_response(command_id):  # cannot answer an answer: take its header alone
            return self._handle_header_only(Pdu(command_id, sequence, status))
        reply_id = _RESPONSE_FOR.get(command_id)
        if reply_id is None:
            self._outbox += codec.encode_generic_nack(sequence, exc.status)
            return None
        self._outbox += codec.encode_message_resp(reply_id, sequence, exc.status)
        return MessageRejected(sequence, exc.status, exc.reason)

    def _handle_header_only(self, pdu: Pdu) -> Event | None:
        if pdu.command_id == self.mode.response_id:
            return self._on_bind_resp(pdu)
        return None

    def _on_message(self, pdu: Pdu) -> Event:
        if (
            self.state not in (SessionState.BOUND, SessionState.UNBINDING)
            or not self.mode.can_receive
        ):
            reply_id = _RESPONSE_FOR[pdu.command_id]
            status = CommandStatus.RINVBNDSTS
            self._outbox += codec.encode_message_resp(reply_id, pdu.sequence, status)
            return MessageRejected(pdu.sequence, status, f"message while {self.state.value}")
        assert isinstance(pdu.body, DeliverSm)
        waiting = self._unacked.get(pdu.sequence)
        copies = waiting[1] + 1 if waiting is not None else 1
        self._unacked[pdu.sequence] = (pdu.command_id, copies)
        return MessageReceived(pdu.sequence, pdu.body)

    def _on_submit_resp(self, pdu: Pdu) -> Event | None:
        if not self._take_pending(pdu.sequence, CommandId.SUBMIT_SM):
            return None  # late answer to a submit that already timed out
        self._submits -= 1
        message_id = pdu.body.message_id if isinstance(pdu.body, SubmitSmResp) else ""
        return SubmitResponse(pdu.sequence, pdu.status, message_id)

    def _on_bind_resp(self, pdu: Pdu) -> Event | None:
        if self.state is not SessionState.BINDING or not self._take_pending(
            pdu.sequence, self.mode.command_id
        ):
            return None
        if pdu.status != CommandStatus.ROK:
            self.state = SessionState.CLOSED
            return BindRejected(pdu.status)
        self.state = SessionState.BOUND
        system_id = pdu.body.system_id if isinstance(pdu.body, BindResponse) else ""
        return Bound(system_id)

    def _on_unbind_resp(self, pdu: Pdu) -> Event | None:
        if not self._take_pending(pdu.sequence, CommandId.UNBIND):
            return None
        self.state = SessionState.CLOSED
        return Unbound(by_peer=False)

    def _on_nack(self, pdu: Pdu) -> Event | None:
        sequence, status = pdu.sequence, pdu.status
        if sequence == self._enquire_sequence:  # it answered: the link is alive
            self._enquire_sequence = None
            return None
        pending = self._pending.get(sequence)
        if pending is None:
            return PeerNack(sequence, status)
        command_id = pending[0]
        if command_id == CommandId.SUBMIT_SM:
            return self._on_submit_resp(
                Pdu(CommandId.SUBMIT_SM_RESP, sequence, status or CommandStatus.RSYSERR)
            )
        if command_id == CommandId.UNBIND:
            return self._on_unbind_resp(pdu)
        return self._on_bind_resp(
            Pdu(self.mode.response_id, sequence, status or CommandStatus.RBINDFAIL)
        )

    # ---- bookkeeping -------------------------------------------------------------------

    def _next_sequence(self) -> int:
        sequence = self._sequence
        while True:
            sequence = sequence % SEQUENCE_MAX + 1
            if sequence not in self._pending and sequence != self._enquire_sequence:
                self._sequence = sequence
                return sequence

    def _expect(self, sequence: int, command_id: int, now: float) -> None:
        self._pending[sequence] = (command_id, now + self.limits.response_timeout)

    def _take_pending(self, sequence: int, command_id: int) -> bool:
        pending = self._pending.get(sequence)
        if pending is None or pending[0] != command_id:
            return False
        del self._pending[sequence]
        return True
