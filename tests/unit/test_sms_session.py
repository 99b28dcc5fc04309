"""sms.session without a socket: bytes in, events out, a clock that moves only when told."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms import codec
from sms.errors import CommandStatus, LocalProtocolError, RemoteProtocolError
from sms.limits import SessionLimits
from sms.pdu import (
    BindMode,
    BindRequest,
    BindResponse,
    CommandId,
    DeliverSm,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)
from sms.session import (
    NEED_DATA,
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

LIMITS = SessionLimits(
    window=2,
    response_timeout=30.0,
    enquire_link_interval=60.0,
    dead_link_timeout=10.0,
    max_pdu_size=4096,
)
T0 = 1000.0
MO = DeliverSm(source_addr="84912345678", destination_addr="8283", short_message=b"TRA 1")
MT = SubmitSm(destination_addr="84912345678", short_message=b"Ho so 1: da co ket qua")


def events(session: SmppSession) -> list[Event]:
    out: list[Event] = []
    while not isinstance(event := session.next_event(), NeedData):
        out.append(event)
    return out


def sent(data: bytes) -> list[Pdu]:
    """Split what the session wrote into decoded PDUs."""
    pdus = []
    while data:
        (length,) = struct.unpack(">I", data[:4])
        pdus.append(codec.decode(data[:length]))
        data = data[length:]
    return pdus


def feed(session: SmppSession, *pdus: Pdu, now: float = T0) -> list[Event]:
    session.receive_data(b"".join(codec.encode(pdu) for pdu in pdus), now)
    return events(session)


def bound_session(
    mode: BindMode = BindMode.TRANSCEIVER, limits: SessionLimits = LIMITS
) -> SmppSession:
    session = SmppSession(mode, limits, T0)
    bind = codec.decode(session.bind(BindRequest("statusgw", "pw"), T0))
    assert feed(session, Pdu(mode.response_id, bind.sequence, 0, BindResponse("SMSC"))) == [
        Bound("SMSC")
    ]
    return session


# ---- bind -----------------------------------------------------------------------------


def test_bind_sends_the_request_and_binds_on_success() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    assert session.state is SessionState.OPEN
    bind = codec.decode(session.bind(BindRequest("statusgw", "pw", address_range="8283"), T0))
    assert bind.command_id == CommandId.BIND_TRANSCEIVER
    assert bind.body == BindRequest("statusgw", "pw", address_range="8283")
    assert session.state is SessionState.BINDING
    assert not session.can_submit
    resp = Pdu(CommandId.BIND_TRANSCEIVER_RESP, bind.sequence, 0, BindResponse("SMSC"))
    assert feed(session, resp) == [Bound("SMSC")]
    assert session.state is SessionState.BOUND
    assert session.can_submit


@pytest.mark.parametrize("mode", list(BindMode))
def test_each_bind_mode_sends_its_own_command(mode: BindMode) -> None:
    session = bound_session(mode)
    assert session.can_submit is mode.can_submit


def test_bind_rejected_closes() -> None:
    session = SmppSession(BindMode.TRANSMITTER, LIMITS, T0)
    bind = codec.decode(session.bind(BindRequest("statusgw", "bad"), T0))
    resp = Pdu(CommandId.BIND_TRANSMITTER_RESP, bind.sequence, CommandStatus.RINVPASWD)
    assert feed(session, resp) == [BindRejected(CommandStatus.RINVPASWD)]
    assert session.state is SessionState.CLOSED


def test_bind_resp_to_another_sequence_does_not_bind() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    bind = codec.decode(session.bind(BindRequest("statusgw"), T0))
    assert feed(session, Pdu(CommandId.BIND_TRANSCEIVER_RESP, bind.sequence + 1, 0)) == []
    assert session.state is SessionState.BINDING


def test_bind_timeout_closes() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    bind = codec.decode(session.bind(BindRequest("statusgw"), T0))
    assert session.timeout(T0) == LIMITS.response_timeout
    session.tick(T0 + 29.9)
    assert events(session) == []
    session.tick(T0 + 30.0)
    assert events(session) == [ResponseTimeout(bind.sequence, CommandId.BIND_TRANSCEIVER)]
    assert session.state is SessionState.CLOSED


def test_bind_twice_is_a_local_error() -> None:
    session = bound_session()
    with pytest.raises(LocalProtocolError):
        session.bind(BindRequest("statusgw"), T0)


def test_generic_nack_to_the_bind_is_a_rejection() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    bind = codec.decode(session.bind(BindRequest("statusgw"), T0))
    nack = Pdu(CommandId.GENERIC_NACK, bind.sequence, CommandStatus.RINVCMDLEN)
    assert feed(session, nack) == [BindRejected(CommandStatus.RINVCMDLEN)]


# ---- submit and the window ----------------------------------------------------------------


def test_submit_before_bound_is_a_local_error() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    with pytest.raises(LocalProtocolError):
        session.submit(MT, T0)


def test_receiver_cannot_submit() -> None:
    session = bound_session(BindMode.RECEIVER)
    with pytest.raises(LocalProtocolError):
        session.submit(MT, T0)


def test_submit_and_its_response() -> None:
    session = bound_session()
    sequence, data = session.submit(MT, T0)
    [pdu] = sent(data)
    assert (pdu.command_id, pdu.sequence, pdu.body) == (CommandId.SUBMIT_SM, sequence, MT)
    assert session.submits_in_flight == 1
    resp = Pdu(CommandId.SUBMIT_SM_RESP, sequence, 0, SubmitSmResp("a1b2"))
    assert feed(session, resp) == [SubmitResponse(sequence, 0, "a1b2")]
    assert session.submits_in_flight == 0


def test_window_full_refuses_until_a_response_frees_a_slot() -> None:
    session = bound_session()
    first, _ = session.submit(MT, T0)
    session.submit(MT, T0)
    assert not session.can_submit
    with pytest.raises(LocalProtocolError):
        session.submit(MT, T0)
    feed(session, Pdu(CommandId.SUBMIT_SM_RESP, first, 0, SubmitSmResp("1")))
    assert session.can_submit
    session.submit(MT, T0)


def test_submit_timeout_frees_the_window_and_ignores_the_late_answer() -> None:
    session = bound_session()
    first, _ = session.submit(MT, T0)
    second, _ = session.submit(MT, T0 + 5)
    assert session.timeout(T0) == 30.0
    session.tick(T0 + 30)
    assert events(session) == [ResponseTimeout(first, CommandId.SUBMIT_SM)]
    assert session.state is SessionState.BOUND
    assert session.submits_in_flight == 1
    assert session.timeout(T0 + 30) == 5.0
    late = Pdu(CommandId.SUBMIT_SM_RESP, first, 0, SubmitSmResp("late"))
    assert feed(session, late, now=T0 + 31) == []
    session.tick(T0 + 35)
    assert events(session) == [ResponseTimeout(second, CommandId.SUBMIT_SM)]


def test_generic_nack_answers_a_submit() -> None:
    session = bound_session()
    sequence, _ = session.submit(MT, T0)
    nack = Pdu(CommandId.GENERIC_NACK, sequence, CommandStatus.RTHROTTLED)
    assert feed(session, nack) == [SubmitResponse(sequence, CommandStatus.RTHROTTLED, "")]
    assert session.submits_in_flight == 0


def test_generic_nack_for_nothing_we_sent_is_reported() -> None:
    session = bound_session()
    nack = Pdu(CommandId.GENERIC_NACK, 0, CommandStatus.RINVCMDLEN)
    assert feed(session, nack) == [PeerNack(0, CommandStatus.RINVCMDLEN)]


def test_sequence_numbers_wrap_after_0x7fffffff() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0, first_sequence=0x7FFFFFFF)
    bind = codec.decode(session.bind(BindRequest("statusgw"), T0))
    assert bind.sequence == 0x7FFFFFFF
    feed(session, Pdu(CommandId.BIND_TRANSCEIVER_RESP, bind.sequence, 0))
    sequence, _ = session.submit(MT, T0)
    assert sequence == 1


def test_sequence_numbers_skip_those_still_in_flight() -> None:
    session = bound_session()
    held, _ = session.submit(MT, T0)
    session._sequence = held - 1  # as if the counter had come all the way round
    sequence, _ = session.submit(MT, T0)
    assert sequence == held + 1


# ---- MO ----------------------------------------------------------------------------------


def test_deliver_sm_is_handed_up_and_acknowledged_once() -> None:
    session = bound_session()
    assert feed(session, Pdu(CommandId.DELIVER_SM, 77, 0, MO)) == [MessageReceived(77, MO)]
    [resp] = sent(session.acknowledge(77, CommandStatus.ROK))
    assert (resp.command_id, resp.sequence, resp.status) == (CommandId.DELIVER_SM_RESP, 77, 0)
    with pytest.raises(LocalProtocolError):
        session.acknowledge(77)


def test_acknowledge_carries_the_status_given() -> None:
    session = bound_session()
    feed(session, Pdu(CommandId.DELIVER_SM, 5, 0, MO))
    [resp] = sent(session.acknowledge(5, CommandStatus.RMSGQFUL))
    assert resp.status == CommandStatus.RMSGQFUL


def test_data_sm_is_answered_with_data_sm_resp() -> None:
    session = bound_session()
    body = b"\0" + b"\x01\x01" + b"849\0" + b"\x00\x00" + b"8283\0" + b"\x00\x00\x00"
    body += b"\x04\x24\x00\x05TRA 1"
    raw = struct.pack(">IIII", 16 + len(body), CommandId.DATA_SM, 0, 9) + body
    session.receive_data(raw, T0)
    [event] = events(session)
    assert isinstance(event, MessageReceived)
    assert event.message.body == b"TRA 1"
    [resp] = sent(session.acknowledge(9))
    assert resp.command_id == CommandId.DATA_SM_RESP


def test_deliver_sm_on_a_transmitter_bind_is_refused() -> None:
    session = bound_session(BindMode.TRANSMITTER)
    [event] = feed(session, Pdu(CommandId.DELIVER_SM, 3, 0, MO))
    assert isinstance(event, MessageRejected)
    [resp] = sent(session.data_to_send())
    assert (resp.command_id, resp.status) == (CommandId.DELIVER_SM_RESP, CommandStatus.RINVBNDSTS)


def test_undecodable_deliver_sm_is_answered_with_an_error_and_the_link_goes_on() -> None:
    session = bound_session()
    bad_body = b"\0\x01\x01849"  # address never terminated
    bad = struct.pack(">IIII", 16 + len(bad_body), CommandId.DELIVER_SM, 0, 12) + bad_body
    good = codec.encode(Pdu(CommandId.DELIVER_SM, 13, 0, MO))
    session.receive_data(bad + good, T0)
    rejected, received = events(session)
    assert isinstance(rejected, MessageRejected)
    assert rejected.sequence == 12
    assert received == MessageReceived(13, MO)
    [resp] = sent(session.data_to_send())
    assert (resp.command_id, resp.sequence) == (CommandId.DELIVER_SM_RESP, 12)
    assert resp.status == CommandStatus.RINVCMDLEN


def test_acknowledge_after_the_connection_is_lost_sends_nothing() -> None:
    session = bound_session()
    feed(session, Pdu(CommandId.DELIVER_SM, 5, 0, MO))
    session.connection_lost()
    assert session.acknowledge(5) == b""


# ---- enquire_link ---------------------------------------------------------------------------


def test_peer_enquire_link_is_answered() -> None:
    session = bound_session()
    assert feed(session, Pdu(CommandId.ENQUIRE_LINK, 444)) == []
    [resp] = sent(session.data_to_send())
    assert (resp.command_id, resp.sequence) == (CommandId.ENQUIRE_LINK_RESP, 444)


def test_enquire_link_after_inactivity_and_its_answer_keeps_the_link() -> None:
    session = bound_session()
    assert session.timeout(T0) == 60.0
    session.tick(T0 + 59)
    assert session.data_to_send() == b""
    session.tick(T0 + 60)
    [enquire] = sent(session.data_to_send())
    assert enquire.command_id == CommandId.ENQUIRE_LINK
    assert session.timeout(T0 + 60) == 10.0
    feed(session, Pdu(CommandId.ENQUIRE_LINK_RESP, enquire.sequence), now=T0 + 61)
    session.tick(T0 + 75)
    assert events(session) == []
    assert session.state is SessionState.BOUND
    assert session.timeout(T0 + 75) == pytest.approx(46.0)


def test_traffic_postpones_our_enquire_link() -> None:
    session = bound_session()
    feed(session, Pdu(CommandId.ENQUIRE_LINK, 1), now=T0 + 50)
    session.data_to_send()
    session.tick(T0 + 60)
    assert session.data_to_send() == b""
    session.tick(T0 + 110)
    assert sent(session.data_to_send())[0].command_id == CommandId.ENQUIRE_LINK


def test_unanswered_enquire_link_means_a_dead_link() -> None:
    session = bound_session()
    session.tick(T0 + 60)
    session.data_to_send()
    session.tick(T0 + 69.9)
    assert events(session) == []
    session.tick(T0 + 70)
    assert events(session) == [LinkDead()]
    assert session.state is SessionState.CLOSED


def test_any_answer_other_than_to_the_enquire_link_does_not_prove_liveness() -> None:
    session = bound_session()
    session.tick(T0 + 60)
    session.data_to_send()
    feed(session, Pdu(CommandId.ENQUIRE_LINK_RESP, 999_999), now=T0 + 61)
    session.tick(T0 + 70)
    assert events(session) == [LinkDead()]


# ---- refusals and framing ----------------------------------------------------------------


def test_unknown_command_gets_generic_nack_and_the_link_goes_on() -> None:
    session = bound_session()
    unknown = struct.pack(">IIII", 16, 0x00000077, 0, 31)
    session.receive_data(unknown + codec.encode(Pdu(CommandId.DELIVER_SM, 32, 0, MO)), T0)
    assert events(session) == [MessageReceived(32, MO)]
    [nack] = sent(session.data_to_send())
    assert (nack.command_id, nack.sequence, nack.status) == (
        CommandId.GENERIC_NACK,
        31,
        CommandStatus.RINVCMDID,
    )


@pytest.mark.parametrize(
    "command_id", [CommandId.SUBMIT_SM, CommandId.QUERY_SM, CommandId.CANCEL_SM]
)
def test_requests_an_esme_does_not_serve_are_nacked(command_id: int) -> None:
    session = bound_session()
    session.receive_data(struct.pack(">IIII", 16, command_id, 0, 8), T0)
    assert events(session) == []
    [nack] = sent(session.data_to_send())
    assert (nack.command_id, nack.sequence) == (CommandId.GENERIC_NACK, 8)


def test_alert_notification_needs_no_answer() -> None:
    session = bound_session()
    session.receive_data(struct.pack(">IIII", 16, CommandId.ALERT_NOTIFICATION, 0, 8), T0)
    assert events(session) == []
    assert session.data_to_send() == b""


@pytest.mark.parametrize("length", [4, 15, 4097, 0xFFFFFFFF])
def test_length_outside_the_budget_is_nacked_and_closes(length: int) -> None:
    session = bound_session()
    session.receive_data(struct.pack(">IIII", length, CommandId.DELIVER_SM, 0, 55), T0)
    with pytest.raises(RemoteProtocolError) as caught:
        session.next_event()
    assert caught.value.fatal
    assert session.state is SessionState.CLOSED
    [nack] = sent(session.data_to_send())
    assert (nack.command_id, nack.sequence, nack.status) == (
        CommandId.GENERIC_NACK,
        55,
        CommandStatus.RINVCMDLEN,
    )
    assert session.next_event() is NEED_DATA


def test_pdu_split_across_reads_is_reassembled() -> None:
    session = bound_session()
    data = codec.encode(Pdu(CommandId.DELIVER_SM, 3, 0, MO))
    for index in range(len(data) - 1):
        session.receive_data(data[index : index + 1], T0)
        assert session.next_event() is NEED_DATA
    session.receive_data(data[-1:], T0)
    assert events(session) == [MessageReceived(3, MO)]


@given(st.lists(st.integers(1, 60), min_size=1, max_size=40))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    session = bound_session()
    stream = b"".join(
        codec.encode(Pdu(CommandId.DELIVER_SM, n, 0, MO))
        + codec.encode(Pdu(CommandId.ENQUIRE_LINK, 1000 + n))
        for n in range(1, 6)
    )
    got: list[Event] = []
    position = 0
    for cut in cuts:
        session.receive_data(stream[position : position + cut], T0)
        position += cut
        got += events(session)
    session.receive_data(stream[position:], T0)
    got += events(session)
    assert got == [MessageReceived(n, MO) for n in range(1, 6)]
    answers = sent(session.data_to_send())
    assert [pdu.sequence for pdu in answers] == [1001, 1002, 1003, 1004, 1005]


# ---- unbind ------------------------------------------------------------------------------


def test_unbind_waits_for_its_answer_and_still_takes_submit_responses() -> None:
    session = bound_session()
    sequence, _ = session.submit(MT, T0)
    unbind = sent(session.unbind(T0))[0]
    assert unbind.command_id == CommandId.UNBIND
    assert session.state is SessionState.UNBINDING
    with pytest.raises(LocalProtocolError):
        session.submit(MT, T0)
    resp = Pdu(CommandId.SUBMIT_SM_RESP, sequence, 0, SubmitSmResp("9"))
    assert feed(session, resp) == [SubmitResponse(sequence, 0, "9")]
    assert feed(session, Pdu(CommandId.UNBIND_RESP, unbind.sequence)) == [Unbound(by_peer=False)]
    assert session.state is SessionState.CLOSED


def test_unbind_unanswered_closes_after_the_response_timeout() -> None:
    session = bound_session()
    unbind = sent(session.unbind(T0))[0]
    session.tick(T0 + 30)
    assert events(session) == [ResponseTimeout(unbind.sequence, CommandId.UNBIND)]
    assert session.state is SessionState.CLOSED


def test_peer_unbind_is_answered_and_closes() -> None:
    session = bound_session()
    assert feed(session, Pdu(CommandId.UNBIND, 71)) == [Unbound(by_peer=True)]
    [resp] = sent(session.data_to_send())
    assert (resp.command_id, resp.sequence) == (CommandId.UNBIND_RESP, 71)
    assert session.state is SessionState.CLOSED
    assert session.timeout(T0) is None


def test_unbind_when_not_bound_is_a_local_error() -> None:
    session = SmppSession(BindMode.TRANSCEIVER, LIMITS, T0)
    with pytest.raises(LocalProtocolError):
        session.unbind(T0)


def test_nothing_is_read_after_close() -> None:
    session = bound_session()
    session.connection_lost()
    session.receive_data(codec.encode(Pdu(CommandId.DELIVER_SM, 3, 0, MO)), T0)
    assert session.next_event() is NEED_DATA


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=120), max_size=8))
def test_random_bytes_never_raise_anything_but_remote_protocol_error(chunks: list[bytes]) -> None:
    session = bound_session()
    for chunk in chunks:
        session.receive_data(chunk, T0)
        try:
            events(session)
        except RemoteProtocolError as exc:
            assert exc.fatal
            assert session.state is SessionState.CLOSED
            return


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(CommandId)), st.binary(max_size=60), st.integers(0, 2**32 - 1)
        ),
        max_size=10,
    )
)
def test_well_framed_random_pdus_never_break_the_session(
    pdus: list[tuple[CommandId, bytes, int]],
) -> None:
    session = bound_session()
    for command_id, body, sequence in pdus:
        session.receive_data(
            struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body, T0
        )
        for event in events(session):
            if isinstance(event, MessageReceived):
                session.acknowledge(event.sequence)
        session.data_to_send()


def test_a_message_resent_under_the_same_sequence_gets_one_answer_per_copy() -> None:
    session = bound_session()
    assert feed(
        session, Pdu(CommandId.DELIVER_SM, 8, 0, MO), Pdu(CommandId.DELIVER_SM, 8, 0, MO)
    ) == [
        MessageReceived(8, MO),
        MessageReceived(8, MO),
    ]
    assert sent(session.acknowledge(8))[0].sequence == 8
    assert sent(session.acknowledge(8))[0].sequence == 8
    with pytest.raises(LocalProtocolError):
        session.acknowledge(8)
