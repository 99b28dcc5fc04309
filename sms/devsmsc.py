"""A development SMSC: just enough of an SMPP 3.4 server to try the gateway with no operator.

It is what ``statusgw demo`` connects to. It accepts transceiver or transmitter + receiver
binds, pushes citizen messages as ``deliver_sm`` (UCS-2 when the text needs it, split with a
UDH when it is long), answers every ``submit_sm`` with a message id, sends a delivery receipt
when one is requested, and hands each reply to the caller decoded. It deliberately uses
smpplib's codec directly rather than the gateway's own codec module, so a mistake in one is not
cancelled by the same mistake in the other. It is not an SMSC for production or for load tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smpplib import consts, smpp

_HEADER = struct.Struct(">LLLL")
_MAX_PDU = 65536
_UCS2_PART = 67  # UTF-16 units per part with an 8-bit-reference UDH
_BIND_COMMANDS = {"bind_transceiver", "bind_transmitter", "bind_receiver"}


@dataclass(frozen=True, slots=True)
class DevReply:
    """One ``submit_sm`` the gateway sent, as a citizen's phone would show it."""

    source: str
    destination: str
    data_coding: int
    parts: int
    text: str
    message_id: str


TextDecoder = Callable[[bytes, int], str]


def _default_decode(payload: bytes, data_coding: int) -> str:
    if data_coding == 8:
        return payload.decode("utf-16-be", errors="replace")
    return payload.decode("latin-1")


class DevSmsc:
    """An in-process SMSC for demos; one gateway connection (or TX + RX pair) at a time."""

    def __init__(
        self, system_id: str, password: str, decode: TextDecoder = _default_decode
    ) -> None:
        self._system_id = system_id
        self._password = password
        self._decode = decode
        self._server: asyncio.Server | None = None
        self._receivers: list[asyncio.StreamWriter] = []
        self._bound = asyncio.Event()
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._refs = itertools.count(1)
        self._pending_parts: dict[tuple[str, int], dict[int, str]] = {}
        self.replies: asyncio.Queue[DevReply] = asyncio.Queue()
        self.receipts_sent = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        for writer in self._receivers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_bound(self, timeout: float) -> None:
        await asyncio.wait_for(self._bound.wait(), timeout)

    async def send_mo(self, sender: str, text: str, destination: str) -> None:
        """Deliver one citizen message, split into UDH parts when it does not fit one."""
        if not self._receivers:
            raise RuntimeError("no gateway is bound to receive messages")
        writer = self._receivers[-1]
        for pdu in self._mo_pdus(sender, destination, text):
            writer.write(pdu)
        await writer.drain()

    def _mo_pdus(self, sender: str, destination: str, text: str) -> list[bytes]:
        gsm_safe = all(ord(c) < 128 for c in text) and len(text) <= 160
        if gsm_safe:
            return [self._deliver(sender, destination, text.encode("ascii"), 0, 0)]
        units = text.encode("utf-16-be")
        if len(units) <= 140:
            return [self._deliver(sender, destination, units, 8, 0)]
        chunks = [units[i : i + _UCS2_PART * 2] for i in range(0, len(units), _UCS2_PART * 2)]
        ref = next(self._refs) % 256
        return [
            self._deliver(
                sender, destination, bytes([5, 0, 3, ref, len(chunks), n]) + chunk, 8, 0x40
            )
            for n, chunk in enumerate(chunks, 1)
        ]

    def _deliver(
        self, sender: str, destination: str, payload: bytes, coding: int, esm: int
    ) -> bytes:
        return _encode(
            "deliver_sm",
            next(self._seq),
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=sender,
            dest_addr_ton=0,
            dest_addr_npi=0,
            destination_addr=destination,
            esm_class=esm,
            data_coding=coding,
            short_message=payload,
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readexactly(4)
                (length,) = struct.unpack(">L", head)
                if not 16 <= length <= _MAX_PDU:
                    break
                raw = head + await reader.readexactly(length - 4)
                if not await self._handle(raw, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self._receivers:
                self._receivers.remove(writer)
            writer.close()

    async def _handle(self, raw: bytes, writer: asyncio.StreamWriter) -> bool:
        _, command_id, _, sequence = _HEADER.unpack_from(raw)
        if command_id & 0x80000000:
            return True  # responses to our deliver_sm: nothing to do
        try:
            pdu = smpp.parse_pdu(raw, sequence=0, allow_unknown_opt_params=True)
        except Exception:  # any malformed request: answer as a real SMSC would
            writer.write(_encode("generic_nack", sequence, status=consts.SMPP_ESME_RINVCMDID))
            return True
        name = pdu.command
        if name in _BIND_COMMANDS:
            return self._bind(pdu, sequence, writer)
        if name == "enquire_link":
            writer.write(_encode("enquire_link_resp", sequence))
        elif name == "unbind":
            writer.write(_encode("unbind_resp", sequence))
            await writer.drain()
            return False
        elif name == "submit_sm":
            await self._submit(pdu, sequence, writer)
        else:
            writer.write(_encode("generic_nack", sequence, status=consts.SMPP_ESME_RINVCMDID))
        return True

    def _bind(self, pdu: Any, sequence: int, writer: asyncio.StreamWriter) -> bool:
        ok = pdu.system_id.decode() == self._system_id and pdu.password.decode() == self._password
        status = consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RINVPASWD
        writer.write(_encode(f"{pdu.command}_resp", sequence, status=status, system_id="devsmsc"))
        if ok and pdu.command != "bind_transmitter":
            self._receivers.append(writer)
        if ok:
            self._bound.set()
        return bool(ok)

    async def _submit(self, pdu: Any, sequence: int, writer: asyncio.StreamWriter) -> None:
        message_id = f"{next(self._ids):08X}"
        writer.write(_encode("submit_sm_resp", sequence, message_id=message_id))
        payload = bytes(pdu.short_message or getattr(pdu, "message_payload", b"") or b"")
        reply = self._assemble(pdu, payload, message_id)
        if reply is not None:
            await self.replies.put(reply)
        if pdu.registered_delivery & 0x01 and self._receivers:
            self._receivers[-1].write(self._receipt(pdu, message_id))
            self.receipts_sent += 1

    def _assemble(self, pdu: Any, payload: bytes, message_id: str) -> DevReply | None:
        source, destination = pdu.source_addr.decode(), pdu.destination_addr.decode()
        if not pdu.esm_class & 0x40:
            text = self._decode(payload, pdu.data_coding)
            return DevReply(source, destination, pdu.data_coding, 1, text, message_id)
        udh_len = payload[0] + 1
        ref, total, seq = payload[udh_len - 3], payload[udh_len - 2], payload[udh_len - 1]
        parts = self._pending_parts.setdefault((destination, ref), {})
        parts[seq] = self._decode(payload[udh_len:], pdu.data_coding)
        if len(parts) < total:
            return None
        del self._pending_parts[(destination, ref)]
        text = "".join(parts[i] for i in sorted(parts))
        return DevReply(source, destination, pdu.data_coding, total, text, message_id)

    def _receipt(self, pdu: Any, message_id: str) -> bytes:
        text = f"id:{message_id} sub:001 dlvrd:001 submit date:2501010000 done date:2501010000"
        text += " stat:DELIVRD err:000 text:"
        return _encode(
            "deliver_sm",
            next(self._seq),
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=pdu.destination_addr.decode(),
            destination_addr=pdu.source_addr.decode(),
            esm_class=0x04,
            data_coding=0,
            short_message=text.encode("ascii"),
            receipted_message_id=message_id,
            message_state=2,
        )


def _encode(command: str, sequence: int, status: int = 0, **fields: Any) -> bytes:
    pdu = smpp.make_pdu(command, sequence=sequence, **fields)
    pdu.sequence = sequence  # smpplib keeps 0 otherwise
    pdu.status = status
    return bytes(pdu.generate())


@contextlib.asynccontextmanager
async def running_devsmsc(
    system_id: str, password: str, port: int = 0, decode: TextDecoder = _default_decode
) -> Any:
    smsc = DevSmsc(system_id, password, decode)
    bound_port = await smsc.start(port=port)
    try:
        yield smsc, bound_port
    finally:
        await smsc.close()
