"""Encode/decode throughput of the hot SMPP PDUs, and of one MO -> MT cycle through the session.

    .venv/bin/python bench/smpp_codec.py [--seconds 1.0] [--repeat 3]

Each line reports operations per second (best of ``repeat`` runs of about ``seconds`` each,
one core, no I/O). The smpplib-only figures for the same PDUs are printed alongside, so the
gain of the struct fast paths is visible. The last line is the per-MO path of the gateway
without sockets: the SMSC's deliver_sm fed to the session, the event taken, the
deliver_sm_resp produced, a UCS-2 reply submitted and its submit_sm_resp fed back.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from smpplib import smpp

from sms import codec
from sms.limits import SessionLimits
from sms.pdu import BindMode, BindRequest, CommandId, DeliverSm, Pdu, SubmitSm, SubmitSmResp
from sms.session import MessageReceived, SmppSession, SubmitResponse

REPLY = "Hồ sơ 000.00.22.H29-240101-0001: Đang xử lý. Hẹn trả 05/03/2025.".encode("utf-16-be")
MO = DeliverSm(
    source_addr="84912345678",
    destination_addr="8283",
    source_addr_ton=1,
    source_addr_npi=1,
    short_message=b"TRA 000.00.22.H29-240101-0001",
)
RECEIPT = DeliverSm(
    source_addr="84912345678",
    destination_addr="8283",
    esm_class=0x04,
    short_message=b"id:1A2B3C sub:001 dlvrd:001 submit date:2401011200 done date:2401011201"
    b" stat:DELIVRD err:000 text:",
    receipted_message_id="1A2B3C",
    message_state=2,
)
MT = SubmitSm(
    destination_addr="84912345678",
    short_message=REPLY,
    data_coding=8,
    source_addr="8283",
    source_addr_ton=3,
    registered_delivery=1,
)


def rate(operation: Callable[[], object], seconds: float, repeat: int) -> float:
    best = 0.0
    batch = 1000
    for _ in range(repeat):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(batch):
                operation()
            count += batch
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, count / (now - start))
    return best


def smpplib_decode(raw: bytes) -> Callable[[], object]:
    return lambda: smpp.parse_pdu(raw, sequence=0, allow_unknown_opt_params=True)


def smpplib_encode(name: str, **fields: object) -> Callable[[], object]:
    def encode() -> bytes:
        pdu = smpp.make_pdu(name, sequence=7, **fields)
        pdu.sequence = 7
        data: bytes = pdu.generate()
        return data

    return encode


def session_cycle() -> Callable[[], object]:
    """One MO in, its resp out, one MT out, its resp in: the gateway's per-message protocol work."""
    limits = SessionLimits(window=100, max_pdu_size=65536)
    session = SmppSession(BindMode.TRANSCEIVER, limits, 0.0)
    bind = codec.decode(session.bind(BindRequest("statusgw"), 0.0))
    session.receive_data(codec.encode(Pdu(CommandId.BIND_TRANSCEIVER_RESP, bind.sequence)), 0.0)
    session.next_event()
    mo_bytes = codec.encode(Pdu(CommandId.DELIVER_SM, 1, 0, MO))

    def cycle() -> None:
        session.receive_data(mo_bytes, 0.0)
        event = session.next_event()
        assert isinstance(event, MessageReceived)
        session.acknowledge(event.sequence)
        sequence, _ = session.submit(MT, 0.0)
        resp = codec.encode_message_resp(CommandId.SUBMIT_SM_RESP, sequence, 0, "1A2B3C")
        session.receive_data(resp, 0.0)
        answered = session.next_event()
        assert isinstance(answered, SubmitResponse)

    return cycle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("smpplib.command").setLevel(logging.ERROR)

    mo_raw = codec.encode(Pdu(CommandId.DELIVER_SM, 7, 0, MO))
    receipt_raw = codec.encode(Pdu(CommandId.DELIVER_SM, 7, 0, RECEIPT))
    resp_raw = codec.encode(Pdu(CommandId.SUBMIT_SM_RESP, 7, 0, SubmitSmResp("1A2B3C")))
    enquire_raw = codec.encode_header(CommandId.ENQUIRE_LINK, 7)
    submit_pdu = Pdu(CommandId.SUBMIT_SM, 7, 0, MT)
    submit_fields = {
        "source_addr": "8283",
        "source_addr_ton": 3,
        "destination_addr": "84912345678",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "data_coding": 8,
        "registered_delivery": 1,
        "short_message": REPLY,
    }
    cases: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = [
        ("decode deliver_sm (MO)", lambda: codec.decode(mo_raw), smpplib_decode(mo_raw)),
        (
            "decode deliver_sm (receipt, TLVs)",
            lambda: codec.decode(receipt_raw),
            smpplib_decode(receipt_raw),
        ),
        (
            "encode submit_sm (UCS-2)",
            lambda: codec.encode(submit_pdu),
            smpplib_encode("submit_sm", **submit_fields),
        ),
        ("decode submit_sm_resp", lambda: codec.decode(resp_raw), smpplib_decode(resp_raw)),
        (
            "encode deliver_sm_resp",
            lambda: codec.encode_deliver_sm_resp(7),
            smpplib_encode("deliver_sm_resp"),
        ),
        (
            "encode enquire_link_resp",
            lambda: codec.encode_header(CommandId.ENQUIRE_LINK_RESP, 7),
            smpplib_encode("enquire_link_resp"),
        ),
        ("decode enquire_link", lambda: codec.decode(enquire_raw), smpplib_decode(enquire_raw)),
        ("session MO->MT cycle (4 PDUs)", session_cycle(), None),
    ]
    print(f"{'operation':36} {'sms.codec ops/s':>16} {'smpplib ops/s':>14}")
    for name, ours, theirs in cases:
        ours_rate = rate(ours, args.seconds, args.repeat)
        theirs_text = (
            f"{rate(theirs, args.seconds, args.repeat):14,.0f}" if theirs else f"{'-':>14}"
        )
        print(f"{name:36} {ours_rate:16,.0f} {theirs_text}")


if __name__ == "__main__":
    main()
