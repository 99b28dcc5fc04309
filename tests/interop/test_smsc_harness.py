"""The independent SMSC and its harness, proven with smpplib's own synchronous client.

Nothing of the gateway is used here: the ESME side is ``smpplib.client.Client`` (its listen
loop on a thread) or a raw socket with smpplib's PDU codec, so these tests show what the SMSC
really sends and decodes before the gateway is tested against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from smpplib import client as smpp_client
from smpplib import consts, exceptions, gsm, smpp

from tests.support.smsc import (
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RMSGQFUL,
    ESME_RTHROTTLED,
    Smsc,
)
from tests.support.smsc_load import run_load

pytestmark = pytest.mark.smsc

DOSSIER = "000.00.22.H29-240101-0001"
VIETNAMESE = f"Hồ sơ {DOSSIER} đã có kết quả, mời nhận tại Bộ phận Một cửa."
PDU_WAIT_S = 10.0

Pdu = Any  # smpplib PDU objects are untyped


class LockedClient(smpp_client.Client):  # type: ignore[misc]
    """smpplib's client with one lock around writes and sequence numbers (it has none)."""

    def __init__(self, port: int) -> None:
        super().__init__("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
        self._lock = threading.RLock()

    def next_sequence(self) -> int:
        with self._lock:
            return int(super().next_sequence())

    def send_pdu(self, p: Pdu) -> bool:
        with self._lock:
            return bool(super().send_pdu(p))


class ThreadedEsme:
    """An ESME made of smpplib's client, its blocking listen loop running on a thread."""

    def __init__(self, port: int) -> None:
        self.client = LockedClient(port)
        self.received: queue.Queue[Pdu] = queue.Queue()
        self.responses: queue.Queue[Pdu] = queue.Queue()
        self.seen: list[str] = []  # commands in arrival order
        self.deliver_status = consts.SMPP_ESME_ROK
        self.on_deliver: Callable[[ThreadedEsme, Pdu], None] | None = None
        self._thread: threading.Thread | None = None
        self.client.set_message_received_handler(self._deliver)
        self.client.set_message_sent_handler(self._sent)
        self.client.set_error_pdu_handler(lambda pdu: None)  # statuses are read from the resp

    def _deliver(self, pdu: Pdu) -> int:
        self.seen.append("deliver_sm")
        self.received.put(pdu)
        if self.on_deliver is not None:
            self.on_deliver(self, pdu)
        return int(self.deliver_status)

    def _sent(self, pdu: Pdu) -> None:
        self.seen.append("submit_sm_resp")
        self.responses.put(pdu)

    def bind(self, mode: str, password: str = "secret", system_id: str = "statusgw") -> None:
        self.client.connect()
        bind = getattr(self.client, f"bind_{mode}")
        bind(system_id=system_id, password=password, system_type="statusgw")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        with contextlib.suppress(exceptions.ConnectionError, OSError):
            self.client.listen()  # returns when the SMSC or close() ends the connection

    def submit(
        self,
        short_message: bytes,
        *,
        data_coding: int = 0,
        esm_class: int = 0,
        destination: str = "84912345678",
        registered_delivery: int = 0,
    ) -> None:
        self.client.send_message(
            source_addr_ton=consts.SMPP_TON_SBSCR,
            source_addr="8283",
            dest_addr_ton=consts.SMPP_TON_INTL,
            destination_addr=destination,
            short_message=short_message,
            data_coding=data_coding,
            esm_class=esm_class,
            registered_delivery=registered_delivery,
        )

    def submit_text(self, text: str, *, destination: str = "84912345678") -> int:
        """Submit ``text`` the way smpplib splits it (GSM-7, else UCS-2; UDH parts)."""
        parts, data_coding, esm_class = gsm.make_parts(text)
        for part in parts:
            self.submit(part, data_coding=data_coding, esm_class=esm_class, destination=destination)
        return len(parts)

    def is_listening(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        sock = self.client._socket
        if sock is not None:
            with contextlib.suppress(OSError):  # already reset by the peer
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
        self.client.disconnect()


@pytest_asyncio.fixture
async def esmes() -> AsyncIterator[list[ThreadedEsme]]:
    """ESMEs a test opens are appended here and closed after it."""
    opened: list[ThreadedEsme] = []
    yield opened
    for esme in opened:
        await asyncio.to_thread(esme.close)


async def bound_esme(
    smsc: Smsc, esmes: list[ThreadedEsme], mode: str = "transceiver"
) -> ThreadedEsme:
    esme = ThreadedEsme(smsc.port)
    esmes.append(esme)
    await asyncio.to_thread(esme.bind, mode)
    esme.start()
    return esme


async def next_pdu(q: queue.Queue[Pdu]) -> Pdu:
    return await asyncio.to_thread(q.get, True, PDU_WAIT_S)


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")


def payload(pdu: Pdu) -> bytes:
    """short_message without its UDH (or message_payload when short_message is empty)."""
    data: bytes = pdu.short_message or pdu.message_payload
    return data[data[0] + 1 :] if pdu.esm_class & consts.SMPP_GSMFEAT_UDHI else data


def udh_concat(pdu: Pdu) -> tuple[int, int, int]:
    """(ref, total, seq) from an 8-bit or 16-bit concatenation UDH."""
    data: bytes = pdu.short_message
    if data[1] == 0x00:
        return data[3], data[4], data[5]
    assert data[1] == 0x08
    return struct.unpack(">H", data[3:5])[0], data[5], data[6]


# ---- binds -----------------------------------------------------------------------------------


async def test_transceiver_bind_is_reported_with_system_type(
    smsc: Smsc, esmes: list[ThreadedEsme]
) -> None:
    await bound_esme(smsc, esmes)
    bind = await smsc.wait_for("bind", status=0)
    assert bind["mode"] == "transceiver"
    assert bind["system_id"] == "statusgw"
    assert bind["system_type"] == "statusgw"
    assert bind["interface_version"] == 0x34


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("statusgw", "wrong", ESME_RINVPASWD), ("someone", "secret", ESME_RINVSYSID)],
)
async def test_bad_credentials_are_refused(
    smsc: Smsc, esmes: list[ThreadedEsme], system_id: str, password: str, status: int
) -> None:
    esme = ThreadedEsme(smsc.port)
    esmes.append(esme)
    with pytest.raises(exceptions.PDUError) as refused:
        await asyncio.to_thread(esme.bind, "transceiver", password, system_id)
    assert refused.value.args[1] == status
    assert (await smsc.wait_for("bind"))["status"] == status


# ---- MO, reply, receipt over one transceiver -------------------------------------------------


async def test_mo_reply_and_receipt_over_transceiver(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.wait_for("bind", status=0)

    mo_id = await smsc.send_mo(f"TRA {DOSSIER}", source="84912345678", destination="8283")
    mo = await next_pdu(esme.received)
    assert mo.short_message == f"TRA {DOSSIER}".encode()
    assert (mo.data_coding, mo.esm_class) == (0, 0)
    assert (mo.source_addr, mo.destination_addr) == (b"84912345678", b"8283")
    assert (await smsc.wait_for("mo_acked", id=mo_id))["status"] == 0

    # GSM-7 with escapes (two septets each) must come back decoded, not as latin-1 bytes.
    # smpplib's table lacks '§' (0x5F), so that last septet is appended by hand.
    folded = f"Ho so {DOSSIER} [da xu ly] {{xong}} ~ 100€ @ §"
    esme.submit(gsm.gsm_encode(folded[:-1]) + b"\x5f", data_coding=0)
    submit = await smsc.wait_for("submit_sm")
    assert submit["text"] == folded
    assert submit["data_coding"] == 0
    assert (submit["source"], submit["destination"]) == ("8283", "84912345678")
    assert submit["status"] == 0
    resp = await next_pdu(esme.responses)
    assert resp.status == 0
    assert resp.message_id.decode() == submit["message_id"]
    assert (await smsc.wait_for("mt"))["text"] == folded

    mark = smsc.mark()
    esme.submit(ucs2(VIETNAMESE), data_coding=8, registered_delivery=1)
    submit = await smsc.wait_for("submit_sm", after=mark)
    assert submit["text"] == VIETNAMESE
    assert submit["data_coding"] == 8
    assert submit["registered_delivery"] == 1
    mt = await smsc.wait_for("mt", after=mark)
    assert (mt["text"], mt["parts"]) == (VIETNAMESE, 1)
    await next_pdu(esme.responses)

    await smsc.receipt(submit["message_id"])
    receipt = await next_pdu(esme.received)
    assert receipt.esm_class == 0x04  # SMSC delivery receipt
    assert receipt.receipted_message_id.decode() == submit["message_id"]
    assert receipt.message_state == consts.SMPP_MESSAGE_STATE_DELIVERED
    text = receipt.short_message.decode()
    assert text.startswith(f"id:{submit['message_id']} sub:001 dlvrd:001 submit date:")
    assert " stat:DELIVRD err:000 text:" in text
    assert (receipt.source_addr, receipt.destination_addr) == (b"84912345678", b"8283")
    acked = await smsc.wait_for("receipt_acked", message_id=submit["message_id"])
    assert acked["status"] == 0


async def test_multipart_mt_is_reassembled(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    long_text = " ".join([VIETNAMESE] * 3)
    parts = await asyncio.to_thread(esme.submit_text, long_text)
    assert parts > 1
    mt = await smsc.wait_for("mt")
    assert mt["text"] == long_text
    assert mt["parts"] == parts
    assert mt["concat"]["bits"] == 8
    assert len(smsc.find("submit_sm")) == parts


async def test_split_escape_is_visible_in_the_reassembled_text(
    smsc: Smsc, esmes: list[ThreadedEsme]
) -> None:
    """An MT cut inside a GSM escape must not reassemble into the intended text."""
    esme = await bound_esme(smsc, esmes)
    septets = b"A" * 152 + b"\x1b" + b"\x28B"  # '{' split across the two parts
    for seq, chunk in enumerate((septets[:153], septets[153:]), start=1):
        esme.submit(bytes([5, 0, 3, 9, 2, seq]) + chunk, esm_class=0x40)
    mt = await smsc.wait_for("mt")
    assert mt["text"] != "A" * 152 + "{B"
    assert mt["part_texts"][0].endswith("\x1b")


# ---- separate transmitter and receiver binds -------------------------------------------------


async def test_transmitter_receiver_pair(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    rx = await bound_esme(smsc, esmes, "receiver")
    tx = await bound_esme(smsc, esmes, "transmitter")
    rx_bind = await smsc.wait_for("bind", mode="receiver", status=0)
    await smsc.wait_for("bind", mode="transmitter", status=0)

    mo_id = await smsc.send_mo(f"HS {DOSSIER}", encoding="ucs2")
    mo = await next_pdu(rx.received)
    assert (mo.data_coding, payload(mo)) == (8, ucs2(f"HS {DOSSIER}"))
    acked = await smsc.wait_for("mo_acked", id=mo_id)
    assert acked["status"] == 0
    assert smsc.find("deliver_sm_resp", id=mo_id)[0]["session"] == rx_bind["session"]

    tx.submit(ucs2("Hồ sơ"), data_coding=8)
    submit = await smsc.wait_for("submit_sm")
    assert submit["text"] == "Hồ sơ"
    await next_pdu(tx.responses)
    await smsc.receipt(submit["message_id"], stat="UNDELIV", err="001")
    receipt = await next_pdu(rx.received)
    assert receipt.message_state == consts.SMPP_MESSAGE_STATE_UNDELIVERABLE
    assert b"stat:UNDELIV err:001" in receipt.short_message
    assert tx.received.empty()


# ---- MO shapes -------------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "ref"), [("udh8", 200), ("udh16", 300)])
async def test_multipart_mo_out_of_order_with_duplicate(
    smsc: Smsc, esmes: list[ThreadedEsme], split: str, ref: int
) -> None:
    esme = await bound_esme(smsc, esmes)
    text = " ".join([VIETNAMESE] * 2)
    assert len(ucs2(text)) in range(2 * 134 + 1, 3 * 134)  # three parts of 67 characters
    mo_id = await smsc.send_mo(text, encoding="ucs2", split=split, order=[3, 1, 2, 1], ref=ref)
    pdus = [await next_pdu(esme.received) for _ in range(4)]
    concat = [udh_concat(p) for p in pdus]
    assert [seq for _, _, seq in concat] == [3, 1, 2, 1]
    assert {(ref, total) for ref, total, _ in concat} == {(ref, 3)}
    by_seq = {seq: payload(p) for p, (_, _, seq) in zip(pdus, concat, strict=True)}
    assert b"".join(by_seq[i] for i in (1, 2, 3)).decode("utf-16-be") == text
    acked = await smsc.wait_for("mo_acked", id=mo_id)
    assert acked["statuses"] == [0, 0, 0, 0]


async def test_multipart_mo_with_sar_tlvs(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    text = "TRA " + "X" * 200
    await smsc.send_mo(text, split="sar", ref=4660)
    pdus = [await next_pdu(esme.received) for _ in range(2)]
    assert [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in pdus] == [
        (4660, 2, 1),
        (4660, 2, 2),
    ]
    assert all(p.esm_class == 0 for p in pdus)
    assert b"".join(p.short_message for p in pdus) == text.encode()


async def test_mo_in_message_payload_and_raw_bytes(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.send_mo(VIETNAMESE * 6, encoding="ucs2", split="payload")
    mo = await next_pdu(esme.received)
    assert mo.short_message in (b"", None)
    assert mo.message_payload == ucs2(VIETNAMESE * 6)

    await smsc.send_mo(hex="00ff1b41", data_coding=4)
    mo = await next_pdu(esme.received)
    assert (mo.data_coding, mo.short_message) == (4, b"\x00\xff\x1bA")

    await smsc.send_mo("Tra cuu ho so", encoding="latin1")
    mo = await next_pdu(esme.received)
    assert (mo.data_coding, mo.short_message) == (3, b"Tra cuu ho so")


async def test_mo_rejected_by_the_esme_reports_the_status(
    smsc: Smsc, esmes: list[ThreadedEsme]
) -> None:
    esme = await bound_esme(smsc, esmes)
    esme.deliver_status = consts.SMPP_ESME_RX_T_APPN
    mo_id = await smsc.send_mo("TRA 1")
    assert (await smsc.wait_for("mo_acked", id=mo_id))["status"] == consts.SMPP_ESME_RX_T_APPN


class RawEsme:
    """A bare socket speaking through smpplib's PDU codec, for what its client cannot do."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sequence = 0

    @classmethod
    async def connect(cls, smsc: Smsc) -> RawEsme:
        return cls(*await asyncio.open_connection(smsc.host, smsc.port))

    def send(self, command: str, sequence: int | None = None, **fields: object) -> int:
        self.sequence += 1
        seq = self.sequence if sequence is None else sequence
        pdu = smpp.make_pdu(command, sequence=seq, **fields)
        pdu.sequence = seq  # make_pdu keeps 0 otherwise
        self.writer.write(pdu.generate())
        return seq

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def read(self) -> Pdu:
        header = await asyncio.wait_for(self.reader.readexactly(16), PDU_WAIT_S)
        body = await self.reader.readexactly(struct.unpack(">L", header[:4])[0] - 16)
        return smpp.parse_pdu(header + body, sequence=0, allow_unknown_opt_params=True)

    async def bind(self, command: str = "bind_transceiver") -> Pdu:
        self.send(command, system_id="statusgw", password="secret")
        return await self.read()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest_asyncio.fixture
async def raw(smsc: Smsc) -> AsyncIterator[RawEsme]:
    esme = await RawEsme.connect(smsc)
    yield esme
    await esme.close()


async def test_mo_before_bind_resp(smsc: Smsc, raw: RawEsme) -> None:
    """With mo_before_bind_resp set, deliver_sm reaches the ESME before its bind_resp."""
    await smsc.configure(mo_before_bind_resp={"text": "TRA EARLY", "id": "early"})
    raw.send("bind_transceiver", system_id="statusgw", password="secret")
    mo = await raw.read()
    assert (mo.command, mo.short_message) == ("deliver_sm", b"TRA EARLY")
    raw.send("deliver_sm_resp", sequence=mo.sequence)
    assert (await raw.read()).command == "bind_transceiver_resp"
    assert (await smsc.wait_for("mo_acked", id="early"))["status"] == 0


async def test_unbind_either_way(smsc: Smsc, raw: RawEsme) -> None:
    assert (await raw.bind()).status == 0
    await smsc.unbind()
    unbind = await raw.read()
    assert unbind.command == "unbind"
    raw.send("unbind_resp", sequence=unbind.sequence)
    assert (await smsc.wait_for("unbind_resp"))["status"] == 0

    seq = raw.send("unbind")
    resp = await raw.read()
    assert (resp.command, resp.sequence, resp.status) == ("unbind_resp", seq, 0)
    assert (await smsc.wait_for("unbind"))["mode"] == "transceiver"


async def test_submit_needs_a_transmitting_bind(smsc: Smsc, raw: RawEsme) -> None:
    raw.send("submit_sm", source_addr="8283", destination_addr="84912345678", short_message=b"x")
    assert (await raw.read()).status == consts.SMPP_ESME_RINVBNDSTS
    assert (await raw.bind("bind_receiver")).status == 0
    raw.send("submit_sm", source_addr="8283", destination_addr="84912345678", short_message=b"x")
    assert (await raw.read()).status == consts.SMPP_ESME_RINVBNDSTS
    assert smsc.find("mt") == []


async def test_unknown_tlv_in_submit_is_reported(smsc: Smsc, raw: RawEsme) -> None:
    await raw.bind()
    pdu = smpp.make_pdu(
        "submit_sm",
        sequence=7,
        source_addr="8283",
        destination_addr="84912345678",
        short_message=b"Ho so",
    )
    pdu.sequence = 7
    data = pdu.generate() + b"\x14\x01\x00\x02\xab\xcd"  # vendor TLV 0x1401
    raw.send_raw(struct.pack(">L", len(data)) + data[4:])
    resp = await raw.read()
    assert (resp.command, resp.status) == ("submit_sm_resp", 0)
    submit = await smsc.wait_for("submit_sm")
    assert submit["unknown_tlvs"] == {str(0x1401): "abcd"}
    assert submit["text"] == "Ho so"


async def test_malformed_pdu_closes_the_session(smsc: Smsc, raw: RawEsme) -> None:
    await raw.bind()
    raw.send_raw(struct.pack(">LLLL", 8, 4, 0, 1))  # command_length below the header size
    await smsc.wait_for("session_error")
    await smsc.wait_for("close")
    assert await raw.reader.read() == b""


async def test_unsupported_command_gets_generic_nack(smsc: Smsc, raw: RawEsme) -> None:
    await raw.bind()
    raw.send_raw(struct.pack(">LLLL", 16, 0x00000222, 0, 9))  # no such command
    nack = await raw.read()
    assert (nack.command, nack.sequence, nack.status) == (
        "generic_nack",
        9,
        consts.SMPP_ESME_RINVCMDID,
    )


# ---- faults ----------------------------------------------------------------------------------


async def test_throttled_then_accepted(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.fail_submits(ESME_RTHROTTLED, count=2)
    await smsc.fail_submits(ESME_RMSGQFUL)
    for _ in range(4):
        esme.submit(b"Ho so", data_coding=0)
    statuses = [(await next_pdu(esme.responses)).status for _ in range(4)]
    assert statuses == [ESME_RTHROTTLED, ESME_RTHROTTLED, ESME_RMSGQFUL, 0]
    await smsc.wait_for("mt")
    assert [e["status"] for e in smsc.find("submit_sm")] == statuses
    assert len(smsc.find("mt")) == 1


async def test_unanswered_submit(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.ignore_submits(1)
    esme.submit(b"first", data_coding=0)
    esme.submit(b"second", data_coding=0)
    resp = await next_pdu(esme.responses)
    assert resp.sequence == (await smsc.wait_for("submit_sm", text="second"))["seq"]
    silent = await smsc.wait_for("submit_sm", text="first")
    assert (silent["status"], silent["message_id"]) == (None, None)


async def test_auto_receipt_before_submit_resp(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.configure(auto_receipts="requested", receipt_before_resp=True)
    esme.submit(b"no receipt wanted", data_coding=0)
    await next_pdu(esme.responses)
    esme.submit(b"receipt wanted", data_coding=0, registered_delivery=1)
    receipt = await next_pdu(esme.received)
    resp = await next_pdu(esme.responses)
    assert esme.seen == ["submit_sm_resp", "deliver_sm", "submit_sm_resp"]
    assert receipt.receipted_message_id == resp.message_id


async def test_decimal_receipt_id_for_a_hex_message_id(
    smsc: Smsc, esmes: list[ThreadedEsme]
) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.configure(receipt_id_format="dec")
    esme.submit(b"x", data_coding=0)
    message_id = (await next_pdu(esme.responses)).message_id.decode()
    await smsc.receipt(message_id)
    receipt = await next_pdu(esme.received)
    assert receipt.short_message.startswith(f"id:{int(message_id, 16)} ".encode())
    assert receipt.receipted_message_id.decode() == message_id


async def test_enquire_link_both_ways(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.enquire_link()
    assert (await smsc.wait_for("enquire_link_resp"))["status"] == 0
    await asyncio.to_thread(esme.client.send_pdu, smpp.make_pdu("enquire_link", client=esme.client))
    assert (await smsc.wait_for("enquire_link"))["answered"] is True


async def test_destroy_and_listen_again(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    await smsc.stop_listening()
    await smsc.destroy_sessions()
    await smsc.wait_for("close")
    await asyncio.to_thread(esme._thread.join, PDU_WAIT_S)  # type: ignore[union-attr]
    assert not esme.is_listening()
    late = ThreadedEsme(smsc.port)
    with pytest.raises(exceptions.ConnectionError):
        await asyncio.to_thread(late.client.connect)
    late.client.disconnect()

    await smsc.listen()
    again = await bound_esme(smsc, esmes)
    await smsc.wait_for("bind", status=0, after=len(smsc.events) - 1)
    await smsc.send_mo("TRA 2")
    assert (await next_pdu(again.received)).short_message == b"TRA 2"


# ---- load ------------------------------------------------------------------------------------


def reply_with_code(esme: ThreadedEsme, mo: Pdu) -> None:
    """A trivial responder: answer every MO from its sender with its code, folded GSM-7."""
    code = mo.short_message.decode().split()[-1]
    esme.submit(f"Ho so {code}: da co ket qua".encode(), destination=mo.source_addr.decode())


async def test_load_counts_every_reply(smsc: Smsc, esmes: list[ThreadedEsme]) -> None:
    esme = await bound_esme(smsc, esmes)
    esme.on_deliver = reply_with_code
    codes = [DOSSIER, "000.00.22.H29-240101-0002", "G22.39-240101-0003"]
    report = await run_load(smsc, codes, n=300, window=20)
    assert report.clean, report
    assert (report.mo_acked, report.replies, report.mt_total) == (300, 300, 300)
    assert report.latency_ms.p50 is not None
    assert report.latency_ms.max is not None
    assert report.latency_ms.p50 <= report.latency_ms.max


async def test_load_reports_wrong_duplicate_and_unmatched_replies(
    smsc: Smsc, esmes: list[ThreadedEsme]
) -> None:
    esme = await bound_esme(smsc, esmes)
    count = 0

    def sloppy(esme: ThreadedEsme, mo: Pdu) -> None:
        nonlocal count
        count += 1
        source = mo.source_addr.decode()
        if count % 10 == 0:
            esme.submit(ucs2("Hồ sơ không tồn tại"), data_coding=8, destination=source)
        else:
            reply_with_code(esme, mo)
        if count % 25 == 0:
            reply_with_code(esme, mo)
            esme.submit(b"stray", destination="84999999999")

    esme.on_deliver = sloppy
    report = await run_load(smsc, ["A-1", "B-2"], n=100, window=10, settle_ms=300)
    assert not report.clean
    assert (report.replies, report.missing) == (100, 0)
    assert report.wrong_text == 10
    assert report.duplicates == 4
    assert report.unmatched == 4
    assert report.wrong_samples[0]["text"] == "Hồ sơ không tồn tại"
