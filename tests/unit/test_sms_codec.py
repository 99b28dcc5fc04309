"""sms.codec against smpplib (the oracle), against bytes written from the SMPP 3.4 spec, and
against random input (nothing but RemoteProtocolError may come out of decode)."""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from smpplib import smpp

from sms import codec
from sms.errors import CommandStatus, LocalProtocolError, RemoteProtocolError
from sms.pdu import (
    BindRequest,
    BindResponse,
    CommandId,
    DeliverSm,
    Pdu,
    SubmitSm,
    SubmitSmResp,
)


@pytest.fixture(autouse=True)
def _quiet_smpplib() -> Iterator[None]:
    # smpplib logs a warning for every unknown TLV it skips; the fuzz tests make thousands
    logger = logging.getLogger("smpplib.command")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(previous)


def smpplib_encode(name: str, sequence: int, status: int = 0, **fields: object) -> bytes:
    pdu = smpp.make_pdu(name, sequence=sequence, **fields)
    pdu.sequence = sequence
    pdu.status = status
    data: bytes = pdu.generate()
    return data


def header(command_id: int, body: bytes, sequence: int, status: int = 0) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, sequence) + body


# ---- written from the spec (section 4.6.1 deliver_sm, 5.3 TLVs) ---------------------------

SPEC_DELIVER_SM_BODY = (
    b"\0"  # service_type
    + b"\x01\x01"
    + b"84912345678\0"  # source ton, npi, addr
    + b"\x00\x00"
    + b"8283\0"  # dest ton, npi, addr
    + b"\x04"  # esm_class: SMSC delivery receipt
    + b"\x00\x00"  # protocol_id, priority_flag
    + b"\0\0"  # schedule_delivery_time, validity_period
    + b"\x00\x00"  # registered_delivery, replace_if_present_flag
    + b"\x00\x00"  # data_coding, sm_default_msg_id
    + b"\x07TRA 123"  # sm_length, short_message
    + b"\x04\x23\x00\x03\x03\x00\x01"  # network_error_code GSM 1
    + b"\x04\x27\x00\x01\x02"  # message_state DELIVERED
    + b"\x00\x1e\x00\x04abc\0"  # receipted_message_id
)
TLVS_AT = SPEC_DELIVER_SM_BODY.index(b"\x04\x23")


def test_deliver_sm_from_the_spec_decodes_with_tlvs() -> None:
    pdu = codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY, 42))
    assert pdu.command_id == CommandId.DELIVER_SM
    assert pdu.sequence == 42
    assert pdu.body == DeliverSm(
        source_addr="84912345678",
        destination_addr="8283",
        esm_class=0x04,
        short_message=b"TRA 123",
        source_addr_ton=1,
        source_addr_npi=1,
        receipted_message_id="abc",
        message_state=2,
        network_error_code=b"\x03\x00\x01",
    )
    assert isinstance(pdu.body, DeliverSm)
    assert pdu.body.is_receipt


def test_tlv_order_does_not_matter() -> None:
    tlvs = SPEC_DELIVER_SM_BODY[TLVS_AT:]
    reordered = SPEC_DELIVER_SM_BODY[:TLVS_AT] + tlvs[12:] + tlvs[7:12] + tlvs[:7]
    assert codec.decode(header(CommandId.DELIVER_SM, reordered, 1)).body == (
        codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY, 1)).body
    )


def test_deliver_sm_encodes_to_the_spec_bytes() -> None:
    message = codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY, 42)).body
    assert codec.encode(Pdu(CommandId.DELIVER_SM, 42, 0, message)) == header(
        CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY, 42
    )


# ---- the same bytes as smpplib --------------------------------------------------------------

SUBMIT = SubmitSm(
    destination_addr="84912345678",
    short_message="Hồ sơ đã có kết quả".encode("utf-16-be"),
    data_coding=8,
    esm_class=0,
    registered_delivery=1,
    source_addr="8283",
    source_addr_ton=3,
    source_addr_npi=0,
    sar_msg_ref_num=77,
    sar_total_segments=2,
    sar_segment_seqnum=1,
)


def test_submit_sm_encodes_like_smpplib() -> None:
    ours = codec.encode(Pdu(CommandId.SUBMIT_SM, 0x7FFFFFFF, 0, SUBMIT))
    theirs = smpplib_encode(
        "submit_sm",
        0x7FFFFFFF,
        service_type="",
        source_addr_ton=3,
        source_addr_npi=0,
        source_addr="8283",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="84912345678",
        esm_class=0,
        registered_delivery=1,
        data_coding=8,
        short_message=SUBMIT.short_message,
        sar_msg_ref_num=77,
        sar_total_segments=2,
        sar_segment_seqnum=1,
    )
    assert ours == theirs
    assert struct.unpack(">I", ours[12:16])[0] == 0x7FFFFFFF  # sequence kept (pitfall 2)


def test_submit_sm_with_message_payload_round_trips_through_smpplib() -> None:
    long_body = "Trả kết quả ".encode("utf-16-be") * 20
    message = SubmitSm(destination_addr="84912345678", message_payload=long_body, data_coding=8)
    raw = codec.encode(Pdu(CommandId.SUBMIT_SM, 5, 0, message))
    parsed = smpp.parse_pdu(raw, sequence=0, allow_unknown_opt_params=True)
    assert parsed.message_payload == long_body
    assert parsed.sm_length == 0
    assert codec.decode(raw).body == message


def test_deliver_sm_made_by_smpplib_decodes() -> None:
    raw = smpplib_encode(
        "deliver_sm",
        9,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="84912345678",
        destination_addr="8283",
        esm_class=0x40,
        data_coding=8,
        short_message=b"\x05\x00\x03\x2a\x02\x01" + "TRA".encode("utf-16-be"),
        user_message_reference=3,
    )
    pdu = codec.decode(raw)
    assert pdu.sequence == 9
    assert isinstance(pdu.body, DeliverSm)
    assert pdu.body.has_udh
    assert pdu.body.body.endswith("TRA".encode("utf-16-be"))
    assert pdu.body.user_message_reference == 3
    assert not pdu.body.is_receipt


def test_data_sm_decodes_as_a_message() -> None:
    raw = smpplib_encode(
        "data_sm",
        11,
        source_addr="84912345678",
        destination_addr="8283",
        esm_class=0,
        data_coding=0,
        message_payload=b"TRA 123",
    )
    body = codec.decode(raw).body
    assert isinstance(body, DeliverSm)
    assert body.body == b"TRA 123"


@pytest.mark.parametrize(
    ("ours", "name", "fields"),
    [
        (codec.encode_deliver_sm_resp(3, 0), "deliver_sm_resp", {}),
        (codec.encode_deliver_sm_resp(3, CommandStatus.RMSGQFUL), "deliver_sm_resp", {}),
        (codec.encode_header(CommandId.ENQUIRE_LINK, 3), "enquire_link", {}),
        (codec.encode_header(CommandId.ENQUIRE_LINK_RESP, 3), "enquire_link_resp", {}),
        (codec.encode_header(CommandId.UNBIND, 3), "unbind", {}),
        (codec.encode_header(CommandId.UNBIND_RESP, 3), "unbind_resp", {}),
        (
            codec.encode_message_resp(CommandId.SUBMIT_SM_RESP, 3, 0, "ab12"),
            "submit_sm_resp",
            {"message_id": "ab12"},
        ),
    ],
)
def test_fast_paths_encode_like_smpplib(ours: bytes, name: str, fields: dict[str, object]) -> None:
    status = struct.unpack(">I", ours[8:12])[0]
    assert ours == smpplib_encode(name, 3, status, **fields)


def test_generic_nack_encodes_like_smpplib() -> None:
    ours = codec.encode_generic_nack(8, CommandStatus.RINVCMDID)
    assert ours == smpplib_encode("generic_nack", 8, CommandStatus.RINVCMDID)


@pytest.mark.parametrize("message_id", ["", "0A1b2C", "9" * 64])
def test_submit_sm_resp_fast_decode_agrees_with_smpplib(message_id: str) -> None:
    raw = smpplib_encode("submit_sm_resp", 21, message_id=message_id)
    pdu = codec.decode(raw)
    parsed = smpp.parse_pdu(raw, sequence=0, allow_unknown_opt_params=True)
    assert pdu.body == SubmitSmResp(parsed.message_id.decode())
    assert pdu.sequence == 21


def test_submit_sm_resp_with_an_error_and_no_body() -> None:
    pdu = codec.decode(codec.encode_header(CommandId.SUBMIT_SM_RESP, 4, CommandStatus.RTHROTTLED))
    assert pdu.status == CommandStatus.RTHROTTLED
    assert pdu.body == SubmitSmResp("")


@pytest.mark.parametrize(
    "command_id",
    [CommandId.BIND_TRANSCEIVER, CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER],
)
def test_bind_round_trips_and_matches_smpplib(command_id: CommandId) -> None:
    bind = BindRequest("statusgw", "secret", "VMA", address_range="8283")
    raw = codec.encode(Pdu(command_id, 1, 0, bind))
    name = CommandId(command_id).name.lower()
    assert raw == smpplib_encode(
        name, 1, system_id="statusgw", password="secret", system_type="VMA", address_range="8283"
    )
    assert codec.decode(raw).body == bind
    resp = codec.encode(Pdu(command_id | 0x80000000, 1, 0, BindResponse("SMSC")))
    assert codec.decode(resp).body == BindResponse("SMSC")


def test_bind_resp_error_without_body() -> None:
    raw = codec.encode_header(CommandId.BIND_TRANSCEIVER_RESP, 1, CommandStatus.RINVPASWD)
    pdu = codec.decode(raw)
    assert pdu.status == CommandStatus.RINVPASWD
    assert pdu.body == BindResponse()


# ---- refusals ---------------------------------------------------------------------------


def test_unknown_command_id_names_the_status_and_sequence() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(header(0x00000077, b"", 5))
    assert caught.value.status == CommandStatus.RINVCMDID
    assert caught.value.sequence == 5
    assert not caught.value.fatal


def test_tlv_declared_for_other_commands_only_is_ignored() -> None:
    # ussd_service_op (0x0501) is known to smpplib but not declared for deliver_sm. SMPP 3.4
    # says an unexpected optional parameter is ignored: the citizen's message must go through.
    plain = codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY, 6)).body
    body = SPEC_DELIVER_SM_BODY + b"\x05\x01\x00\x01\x00"
    message = codec.decode(header(CommandId.DELIVER_SM, body, 6)).body
    assert isinstance(message, DeliverSm)
    assert message == plain


def test_vendor_tlv_is_skipped() -> None:
    body = SPEC_DELIVER_SM_BODY + b"\x14\x01\x00\x02\xab\xcd"
    message = codec.decode(header(CommandId.DELIVER_SM, body, 6)).body
    assert isinstance(message, DeliverSm)
    assert message.message_state == 2


@pytest.mark.parametrize("cut", [1, 5, 20, 30, 40])
def test_truncated_deliver_sm_is_refused(cut: int) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY[:cut], 7))
    assert caught.value.status in (CommandStatus.RINVCMDLEN, CommandStatus.RINVMSGLEN)
    assert caught.value.sequence == 7


def test_short_message_shorter_than_sm_length_is_refused() -> None:
    cut = SPEC_DELIVER_SM_BODY.index(b"\x07TRA 123") + 5
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY[:cut], 7))
    assert caught.value.status == CommandStatus.RINVMSGLEN


def test_length_mismatch_is_fatal() -> None:
    raw = header(CommandId.ENQUIRE_LINK, b"", 1)
    with pytest.raises(RemoteProtocolError) as caught:
        codec.decode(raw + b"x")
    assert caught.value.fatal


@pytest.mark.parametrize(
    "make",
    [
        lambda: SubmitSm("84912345678", b"x" * 255),
        lambda: SubmitSm("84912345678", b"x", message_payload=b"y"),
        lambda: SubmitSm("849123456789012345678"),
        lambda: SubmitSm("8491234567\u0111"),
        lambda: SubmitSm("84912345678", data_coding=256),
        lambda: SubmitSm("84912345678", service_type="TOOLONG"),
    ],
)
def test_submit_sm_that_cannot_be_sent_is_a_local_error(make: object) -> None:
    with pytest.raises(LocalProtocolError):
        make()  # type: ignore[operator]


def test_bind_with_a_too_long_password_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode(Pdu(CommandId.BIND_TRANSCEIVER, 1, 0, BindRequest("gw", "123456789")))


def test_encoding_an_unsupported_command_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode(Pdu(CommandId.QUERY_SM, 1))


# ---- properties ---------------------------------------------------------------------------

addresses = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)
octet = st.integers(0, 255)


@st.composite
def submits(draw: st.DrawFn) -> SubmitSm:
    use_payload = draw(st.booleans())
    body = draw(st.binary(min_size=1, max_size=600 if use_payload else 254))
    sar = draw(st.none() | st.tuples(st.integers(0, 0xFFFF), octet, octet))
    return SubmitSm(
        destination_addr=draw(addresses),
        short_message=b"" if use_payload else body,
        message_payload=body if use_payload else None,
        data_coding=draw(octet),
        esm_class=draw(octet),
        registered_delivery=draw(octet),
        source_addr=draw(addresses),
        source_addr_ton=draw(octet),
        source_addr_npi=draw(octet),
        dest_addr_ton=draw(octet),
        dest_addr_npi=draw(octet),
        sar_msg_ref_num=sar[0] if sar else None,
        sar_total_segments=sar[1] if sar else None,
        sar_segment_seqnum=sar[2] if sar else None,
    )


@st.composite
def delivers(draw: st.DrawFn) -> DeliverSm:
    use_payload = draw(st.booleans())
    body = draw(st.binary(min_size=1, max_size=600 if use_payload else 254))
    receipt_id = draw(
        st.none()
        | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64)
    )
    return DeliverSm(
        source_addr=draw(addresses),
        destination_addr=draw(addresses),
        esm_class=draw(octet),
        data_coding=draw(octet),
        short_message=b"" if use_payload else body,
        message_payload=body if use_payload else None,
        source_addr_ton=draw(octet),
        dest_addr_npi=draw(octet),
        sar_msg_ref_num=draw(st.none() | st.integers(0, 0xFFFF)),
        receipted_message_id=receipt_id,
        message_state=draw(st.none() | octet),
        network_error_code=draw(st.none() | st.binary(min_size=3, max_size=3)),
    )


@given(submits(), st.integers(1, 0x7FFFFFFF))
def test_any_submit_sm_round_trips(message: SubmitSm, sequence: int) -> None:
    pdu = Pdu(CommandId.SUBMIT_SM, sequence, 0, message)
    assert codec.decode(codec.encode(pdu)) == pdu


@given(delivers(), st.integers(1, 0x7FFFFFFF))
def test_any_deliver_sm_round_trips(message: DeliverSm, sequence: int) -> None:
    pdu = Pdu(CommandId.DELIVER_SM, sequence, 0, message)
    assert codec.decode(codec.encode(pdu)) == pdu


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_decoding_random_bytes_raises_only_remote_protocol_error(raw: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(raw)


@settings(max_examples=2000)
@given(st.sampled_from(list(CommandId)), st.binary(max_size=300), st.integers(0, 0xFFFFFFFF))
def test_decoding_random_bodies_raises_only_remote_protocol_error(
    command_id: CommandId, body: bytes, sequence: int
) -> None:
    try:
        pdu = codec.decode(header(command_id, body, sequence))
    except RemoteProtocolError as exc:
        assert exc.sequence == sequence
        assert not exc.fatal
    else:
        assert pdu.command_id == command_id


@settings(max_examples=1000)
@given(st.binary(max_size=80))
def test_decoding_garbage_tlvs_after_a_valid_deliver_sm_raises_only_remote_protocol_error(
    tail: bytes,
) -> None:
    with contextlib.suppress(RemoteProtocolError):
        codec.decode(header(CommandId.DELIVER_SM, SPEC_DELIVER_SM_BODY + tail, 1))


# ---- the TLV-free fast paths against smpplib -------------------------------------------------

VENDOR_TLV = b"\x14\x01\x00\x02\xab\xcd"  # unknown to smpplib: skipped, but it takes the slow path


@st.composite
def plain_submits(draw: st.DrawFn) -> SubmitSm:
    """A submit_sm without TLVs, as the gateway sends every reply part."""
    return SubmitSm(
        destination_addr=draw(addresses),
        short_message=draw(st.binary(max_size=254)),
        data_coding=draw(octet),
        esm_class=draw(octet),
        registered_delivery=draw(octet),
        source_addr=draw(addresses),
        source_addr_ton=draw(octet),
        source_addr_npi=draw(octet),
        dest_addr_ton=draw(octet),
        dest_addr_npi=draw(octet),
        service_type=draw(
            st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=5)
        ),
        protocol_id=draw(octet),
        priority_flag=draw(octet),
        validity_period=draw(st.sampled_from(["", "000001000000000R", "251231235959000+"])),
    )


@settings(max_examples=500)
@given(plain_submits(), st.integers(0, 0xFFFFFFFF), st.integers(1, 0x7FFFFFFF))
def test_submit_sm_without_tlvs_encodes_like_smpplib(
    message: SubmitSm, status: int, sequence: int
) -> None:
    theirs = smpplib_encode(
        "submit_sm",
        sequence,
        status,
        service_type=message.service_type,
        source_addr_ton=message.source_addr_ton,
        source_addr_npi=message.source_addr_npi,
        source_addr=message.source_addr,
        dest_addr_ton=message.dest_addr_ton,
        dest_addr_npi=message.dest_addr_npi,
        destination_addr=message.destination_addr,
        esm_class=message.esm_class,
        protocol_id=message.protocol_id,
        priority_flag=message.priority_flag,
        validity_period=message.validity_period,
        registered_delivery=message.registered_delivery,
        data_coding=message.data_coding,
        short_message=message.short_message,
    )
    assert codec.encode(Pdu(CommandId.SUBMIT_SM, sequence, status, message)) == theirs


@st.composite
def plain_delivers(draw: st.DrawFn) -> tuple[bytes, DeliverSm]:
    """A deliver_sm without TLVs made by smpplib (a plain MO), and what it says."""
    text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=5)
    expected = DeliverSm(
        source_addr=draw(addresses),
        destination_addr=draw(addresses),
        esm_class=draw(octet),
        data_coding=draw(octet),
        short_message=draw(st.binary(max_size=254)),
        source_addr_ton=draw(octet),
        source_addr_npi=draw(octet),
        dest_addr_ton=draw(octet),
        dest_addr_npi=draw(octet),
        service_type=draw(text),
        protocol_id=draw(octet),
        registered_delivery=draw(octet),
    )
    times = draw(st.sampled_from(["", "251231235959000+"]))
    raw = smpplib_encode(
        "deliver_sm",
        77,
        service_type=expected.service_type,
        source_addr_ton=expected.source_addr_ton,
        source_addr_npi=expected.source_addr_npi,
        source_addr=expected.source_addr,
        dest_addr_ton=expected.dest_addr_ton,
        dest_addr_npi=expected.dest_addr_npi,
        destination_addr=expected.destination_addr,
        esm_class=expected.esm_class,
        protocol_id=expected.protocol_id,
        priority_flag=draw(octet),
        schedule_delivery_time=times,
        validity_period=times,
        registered_delivery=expected.registered_delivery,
        replace_if_present_flag=draw(octet),
        data_coding=expected.data_coding,
        sm_default_msg_id=draw(octet),
        short_message=expected.short_message,
    )
    return raw, expected


@settings(max_examples=500)
@given(plain_delivers())
def test_deliver_sm_without_tlvs_decodes_as_smpplib_does(made: tuple[bytes, DeliverSm]) -> None:
    raw, expected = made
    fast = codec.decode(raw)
    slow = codec.decode(header(CommandId.DELIVER_SM, raw[16:] + VENDOR_TLV, 77))
    assert fast == slow
    assert fast.body == expected
