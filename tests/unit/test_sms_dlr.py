"""Delivery receipts: recognising them, both forms, id normalisation and correlation."""

from __future__ import annotations

import pytest

from sms.dlr import (
    DeliveryReceipt,
    ReceiptCorrelator,
    ReceiptState,
    canonical_message_id,
    parse_receipt,
    parse_text_fields,
)
from sms.limits import IdBase
from sms.pdu import DeliverSm

STANDARD = (
    b"id:0012345678 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
    b"stat:DELIVRD err:000 text:Ho so 000.00.22.H29"
)


def receipt_pdu(text: bytes = b"", esm_class: int = 0x04, **tlvs: object) -> DeliverSm:
    return DeliverSm(
        source_addr="84912345678",
        destination_addr="8283",
        esm_class=esm_class,
        short_message=text,
        **tlvs,  # type: ignore[arg-type]
    )


def test_standard_text_receipt() -> None:
    receipt = parse_receipt(receipt_pdu(STANDARD))
    assert receipt == DeliveryReceipt(
        message_id="12345678",
        raw_message_id="0012345678",
        state=ReceiptState.DELIVERED,
        error="000",
        submitted="001",
        delivered="001",
        submit_date="2401011200",
        done_date="2401011201",
    )
    assert receipt.is_delivered
    assert receipt.state.is_final


@pytest.mark.parametrize(
    ("text", "state", "error"),
    [
        (
            b"id:1 sub:001 dlvrd:000 submit date:2401011200 done date:2401011300"
            b" stat:UNDELIV err:001",
            ReceiptState.UNDELIVERABLE,
            "001",
        ),
        (b"id:1 stat:EXPIRED err:027", ReceiptState.EXPIRED, "027"),
        (b"id:1 stat:REJECTD err:00B", ReceiptState.REJECTED, "00B"),
        (b"id:1 stat:ACCEPTD", ReceiptState.ACCEPTED, ""),
        (b"id:1 stat:ENROUTE", ReceiptState.ENROUTE, ""),
        (b"id:1 stat:DELETED", ReceiptState.DELETED, ""),
        (b"ID:1 STAT:delivrd ERR:0", ReceiptState.DELIVERED, "0"),  # case of keys and words
        (b"id:1 stat:DELIVERED", ReceiptState.DELIVERED, ""),  # spelled out by some SMSCs
        (b"id:1 stat:WHATEVER", ReceiptState.UNKNOWN, ""),
        (b"id:1", ReceiptState.UNKNOWN, ""),
        (b"id: 1  sub: 001  stat: DELIVRD", ReceiptState.DELIVERED, ""),  # spaces after colons
    ],
)
def test_text_receipt_states(text: bytes, state: ReceiptState, error: str) -> None:
    receipt = parse_receipt(receipt_pdu(text))
    assert receipt is not None
    assert (receipt.message_id, receipt.state, receipt.error) == ("1", state, error)


def test_free_text_may_contain_field_names() -> None:
    fields = parse_text_fields("id:7 stat:DELIVRD text:id:9 stat:UNDELIV")
    assert fields == {"id": "7", "stat": "DELIVRD", "text": "id:9 stat:UNDELIV"}


def test_tlv_receipt_without_text() -> None:
    pdu = receipt_pdu(
        receipted_message_id="ABCDEF01",
        message_state=5,
        network_error_code=b"\x03\x00\x22",
    )
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert receipt.message_id == "abcdef01"
    assert receipt.raw_message_id == "ABCDEF01"
    assert receipt.state is ReceiptState.UNDELIVERABLE
    assert receipt.network_error_code == b"\x03\x00\x22"


def test_tlvs_win_over_text() -> None:
    pdu = receipt_pdu(b"id:111 stat:ENROUTE", receipted_message_id="222", message_state=2)
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state) == ("222", ReceiptState.DELIVERED)


def test_out_of_range_message_state_falls_back_to_text() -> None:
    receipt = parse_receipt(receipt_pdu(b"id:5 stat:DELIVRD", message_state=42))
    assert receipt is not None
    assert receipt.state is ReceiptState.DELIVERED


def test_receipted_message_id_alone_makes_a_receipt() -> None:
    receipt = parse_receipt(receipt_pdu(esm_class=0, receipted_message_id="9", message_state=2))
    assert receipt is not None
    assert receipt.message_id == "9"


def test_receipt_in_message_payload_and_ucs2() -> None:
    text = "id:77 stat:DELIVRD err:000".encode("utf-16-be")
    pdu = DeliverSm("849", "8283", esm_class=0x04, data_coding=8, message_payload=text)
    receipt = parse_receipt(pdu)
    assert receipt is not None
    assert (receipt.message_id, receipt.state) == ("77", ReceiptState.DELIVERED)


@pytest.mark.parametrize("esm_class", [0x04, 0x08, 0x20, 0x44])
def test_receipt_esm_classes(esm_class: int) -> None:
    assert receipt_pdu(b"id:1 stat:DELIVRD", esm_class=esm_class).is_receipt


@pytest.mark.parametrize("esm_class", [0x00, 0x40, 0x10, 0x03])
def test_ordinary_messages_are_not_receipts(esm_class: int) -> None:
    pdu = receipt_pdu(b"id:1 stat:DELIVRD", esm_class=esm_class)
    assert not pdu.is_receipt
    assert parse_receipt(pdu) is None


def test_receipt_without_any_id_is_not_parsed() -> None:
    assert parse_receipt(receipt_pdu(b"stat:DELIVRD")) is None


@pytest.mark.parametrize(
    ("raw", "base", "canonical"),
    [
        ("0012345678", "text", "12345678"),
        ("  ABCdef\0", "text", "abcdef"),
        ("0000", "text", "0"),
        ("1A2B", "hex", "6699"),
        ("001A2b", "hex", "6699"),
        ("6699", "dec", "6699"),
        ("006699", "dec", "6699"),
        ("not-a-number", "dec", "not-a-number"),
        ("XYZ", "hex", "xyz"),
    ],
)
def test_canonical_message_id(raw: str, base: IdBase, canonical: str) -> None:
    assert canonical_message_id(raw, base) == canonical


def test_hex_submit_id_meets_decimal_receipt_id() -> None:
    receipt = parse_receipt(receipt_pdu(b"id:0000006699 stat:DELIVRD"), "dec")
    assert receipt is not None
    assert receipt.message_id == canonical_message_id("1a2b", "hex")


# ---- correlation ---------------------------------------------------------------------------


def make(message_id: str, state: ReceiptState = ReceiptState.DELIVERED) -> DeliveryReceipt:
    return DeliveryReceipt(message_id=message_id, raw_message_id=message_id, state=state)


def test_receipt_after_its_submit_is_matched_and_forgotten_when_final() -> None:
    correlator: ReceiptCorrelator[str, str] = ReceiptCorrelator(capacity=10, hold=5.0)
    assert correlator.sent("m1", "reply-1", now=0.0) == []
    assert correlator.received(make("m1", ReceiptState.ENROUTE), "ack", 1.0, may_hold=True) == (
        True,
        "reply-1",
    )
    assert correlator.received(make("m1"), "ack", 2.0, may_hold=True) == (True, "reply-1")
    assert len(correlator) == 0
    assert correlator.received(make("m1"), "ack", 3.0, may_hold=False) == (True, None)


def test_receipt_before_its_submit_resp_is_held_then_matched() -> None:
    correlator: ReceiptCorrelator[str, str] = ReceiptCorrelator(capacity=10, hold=5.0)
    receipt = make("m2")
    assert correlator.received(receipt, "ack-2", 1.0, may_hold=True) == (False, None)
    assert correlator.held == 1
    assert correlator.next_expiry() == 6.0
    assert correlator.sent("m2", "reply-2", now=2.0) == [(receipt, "ack-2")]
    assert correlator.held == 0
    assert correlator.expire(10.0) == []


def test_held_receipt_is_released_unmatched_when_its_time_is_up() -> None:
    correlator: ReceiptCorrelator[str, str] = ReceiptCorrelator(capacity=10, hold=5.0)
    first, second = make("a"), make("b")
    correlator.received(first, "ack-a", 1.0, may_hold=True)
    correlator.received(second, "ack-b", 3.0, may_hold=True)
    assert correlator.expire(5.9) == []
    assert correlator.expire(6.0) == [(first, "ack-a")]
    assert correlator.next_expiry() == 8.0
    assert correlator.drop_held() == [(second, "ack-b")]


def test_nothing_is_held_when_no_submit_awaits_its_response() -> None:
    correlator: ReceiptCorrelator[str, str] = ReceiptCorrelator(capacity=10, hold=5.0)
    assert correlator.received(make("zz"), "ack", 1.0, may_hold=False) == (True, None)
    assert correlator.held == 0


def test_held_receipts_are_bounded() -> None:
    correlator: ReceiptCorrelator[str, int] = ReceiptCorrelator(capacity=10, hold=5.0, max_held=2)
    assert correlator.received(make("1"), 1, 0.0, may_hold=True)[0] is False
    assert correlator.received(make("2"), 2, 0.0, may_hold=True)[0] is False
    assert correlator.received(make("3"), 3, 0.0, may_hold=True) == (True, None)


def test_sent_ids_are_bounded_oldest_first() -> None:
    correlator: ReceiptCorrelator[str, str] = ReceiptCorrelator(capacity=2, hold=5.0)
    for n in range(3):
        correlator.sent(f"m{n}", f"r{n}", now=0.0)
    assert len(correlator) == 2
    assert correlator.received(make("m0"), "ack", 1.0, may_hold=False) == (True, None)
    assert correlator.received(make("m2"), "ack", 1.0, may_hold=False) == (True, "r2")
