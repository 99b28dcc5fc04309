"""SMPP 3.4 PDU codec: wire bytes <-> ``sms.pdu`` dataclasses.

smpplib 2.2.4 does the variable-layout PDUs (bind, submit_sm, deliver_sm, data_sm); the
header-only and fixed-layout ones that make up most of the traffic (deliver_sm_resp,
submit_sm_resp, enquire_link, unbind, generic_nack) go through ``struct`` directly, which
measured 10-100x faster than building smpplib objects. So do the two PDUs of every round
trip when they carry no TLV: a citizen's deliver_sm and our submit_sm (UDH-concatenated
parts included). Under full load those two through smpplib were about a sixth of the
gateway's CPU; everything with a TLV (receipts, SAR, message_payload) still goes through
smpplib, and the tests hold both paths to the same bytes and the same dataclasses.

smpplib's pitfalls, handled here once:

- request PDUs want a sequence generator in their constructor: pass ``sequence=`` and then
  assign ``pdu.sequence`` (the keyword alone is silently ignored);
- C-octet strings are ``str`` going in and ``bytes`` coming out;
- unknown TLVs need ``allow_unknown_opt_params=True``; a TLV known globally but not declared
  for that command raises ``KeyError``; truncated bodies raise ``struct.error`` or
  ``IndexError``. Whatever smpplib raises while decoding becomes ``RemoteProtocolError``
  carrying the status to answer with, so a bad PDU never takes the reader down.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from smpplib import command as smpp_command
from smpplib import consts as smpp_consts

from sms.errors import CommandStatus, LocalProtocolError, RemoteProtocolError
from sms.pdu import (
    MAX_SHORT_MESSAGE,
    BindRequest,
    BindResponse,
    CommandId,
    DeliverSm,
    Pdu,
    PduBody,
    SubmitSm,
    SubmitSmResp,
)

HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
_TWO_OCTETS = struct.Struct(">BB")
_THREE_OCTETS = struct.Struct(">BBB")
_SUBMIT_TAIL = struct.Struct(">BBBBB")  # registered_delivery .. sm_length
_MAX_MESSAGE_ID = 64

# ---------------------------------------------------------------------------------------
# Fast paths (hand-written, fixed layout)


def encode_header(command_id: int, sequence: int, status: int = 0) -> bytes:
    """A PDU that is only a header: enquire_link(_resp), unbind(_resp), generic_nack."""
    return HEADER.pack(HEADER_SIZE, command_id, status, sequence)


def encode_generic_nack(sequence: int, status: int) -> bytes:
    return HEADER.pack(HEADER_SIZE, CommandId.GENERIC_NACK, status, sequence)


def encode_message_resp(command_id: int, sequence: int, status: int, message_id: str = "") -> bytes:
    """deliver_sm_resp / data_sm_resp / submit_sm_resp: header + message_id C-string."""
    mid = message_id.encode("ascii") + b"\0"
    return HEADER.pack(HEADER_SIZE + len(mid), command_id, status, sequence) + mid


def encode_deliver_sm_resp(sequence: int, status: int = 0) -> bytes:
    return HEADER.pack(HEADER_SIZE + 1, CommandId.DELIVER_SM_RESP, status, sequence) + b"\0"


def _c_string(raw: bytes, start: int, limit: int) -> str:
    """A NUL-terminated field (or the rest of the PDU if the peer forgot the NUL)."""
    end = raw.find(b"\0", start)
    if end < 0:
        end = len(raw)
    return raw[start : min(end, start + limit)].decode("latin-1")


def _decode_nothing(raw: bytes) -> PduBody:
    return None


def _decode_submit_sm_resp(raw: bytes) -> PduBody:
    return SubmitSmResp(_c_string(raw, HEADER_SIZE, _MAX_MESSAGE_ID))


# ---------------------------------------------------------------------------------------
# Through smpplib


def _smpplib_parse(name: str, raw: bytes) -> Any:
    parsed = smpp_command.factory(name, sequence=0, allow_unknown_opt_params=True)
    try:
        parsed.parse(raw)
    except KeyError:
        # A TLV smpplib declares for other commands only (e.g. ussd_service_op in deliver_sm).
        # SMPP 3.4 says an optional parameter the receiver does not expect is ignored, not a
        # reason to refuse the message: parse again knowing every TLV, and keep what we use.
        parsed = smpp_command.factory(name, sequence=0, allow_unknown_opt_params=True)
        parsed.params = {**_EVERY_OPTIONAL_PARAM, **parsed.params}
        parsed.parse(raw)
    return parsed


def _every_optional_param() -> dict[str, Any]:
    params: dict[str, Any] = {}
    for command_class in vars(smpp_command).values():
        declared = getattr(command_class, "params", None)
        if isinstance(command_class, type) and isinstance(declared, dict):
            params.update({k: v for k, v in declared.items() if k in smpp_consts.OPTIONAL_PARAMS})
    return params


_EVERY_OPTIONAL_PARAM = _every_optional_param()


def _smpplib_build(name: str, sequence: int, status: int, fields: dict[str, Any]) -> bytes:
    built = smpp_command.factory(name, sequence=sequence, **fields)
    built.sequence = sequence  # the keyword alone is ignored by smpplib
    built.status = status
    data: bytes = built.generate()
    return data


def _text(value: Any) -> str:
    """A decoded C-octet string (smpplib gives bytes, or None when absent)."""
    if not value:
        return ""
    if isinstance(value, bytes):
        return value.rstrip(b"\0").decode("latin-1")
    return str(value)


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _opt_bytes(value: Any) -> bytes | None:
    return bytes(value) if value is not None else None


def _opt_text(value: Any) -> str | None:
    return _text(value) if value is not None else None


# The mandatory part of a PDU: "c" a C-octet string, "b" one octet, "m" sm_length and
# short_message. smpplib does not notice a missing NUL (it restarts parsing from the top of
# the body), so the layout is walked first; it costs a few ``bytes.find``.
_SM_LAYOUT = "cbbcbbcbbbccbbbbm"  # submit_sm, deliver_sm
_DATA_SM_LAYOUT = "cbbcbbcbbb"
_BIND_LAYOUT = "cccbbbc"


def _check_layout(raw: bytes, layout: str) -> int:
    """Walk the mandatory fields; return where they end (TLVs, if any, start there)."""
    pos = HEADER_SIZE
    size = len(raw)
    for kind in layout:
        if kind == "c":
            end = raw.find(b"\0", pos)
            if end < 0:
                raise RemoteProtocolError("unterminated string", status=CommandStatus.RINVCMDLEN)
            pos = end + 1
        elif kind == "b":
            pos += 1
        else:
            if pos >= size or pos + 1 + raw[pos] > size:
                raise RemoteProtocolError(
                    "short_message overruns the PDU", status=CommandStatus.RINVMSGLEN
                )
            pos += 1 + raw[pos]
        if pos > size:
            raise RemoteProtocolError("PDU body is truncated", status=CommandStatus.RINVCMDLEN)
    return pos


def _decode_deliver_sm(raw: bytes) -> PduBody:
    if _check_layout(raw, _SM_LAYOUT) == len(raw):
        return _deliver_sm_without_tlvs(raw)
    p = _smpplib_parse("deliver_sm", raw)
    short_message = p.short_message or b""
    return DeliverSm(
        source_addr=_text(p.source_addr),
        destination_addr=_text(p.destination_addr),
        esm_class=p.esm_class,
        data_coding=p.data_coding,
        short_message=bytes(short_message),
        source_addr_ton=_int(p.source_addr_ton),
        source_addr_npi=_int(p.source_addr_npi),
        dest_addr_ton=_int(p.dest_addr_ton),
        dest_addr_npi=_int(p.dest_addr_npi),
        service_type=_text(p.service_type),
        protocol_id=_int(p.protocol_id),
        registered_delivery=_int(p.registered_delivery),
        sar_msg_ref_num=_opt_int(p.sar_msg_ref_num),
        sar_total_segments=_opt_int(p.sar_total_segments),
        sar_segment_seqnum=_opt_int(p.sar_segment_seqnum),
        message_payload=_opt_bytes(p.message_payload),
        receipted_message_id=_opt_text(p.receipted_message_id),
        message_state=_opt_int(p.message_state),
        network_error_code=_opt_bytes(p.network_error_code),
        user_message_reference=_opt_int(p.user_message_reference),
    )


def _deliver_sm_without_tlvs(raw: bytes) -> DeliverSm:
    """A deliver_sm whose layout was checked and that ends with its short_message."""
    end = raw.index(b"\0", HEADER_SIZE)
    service_type = raw[HEADER_SIZE:end].decode("latin-1")
    source_ton, source_npi = raw[end + 1], raw[end + 2]
    start, end = end + 3, raw.index(b"\0", end + 3)
    source_addr = raw[start:end].decode("latin-1")
    dest_ton, dest_npi = raw[end + 1], raw[end + 2]
    start, end = end + 3, raw.index(b"\0", end + 3)
    destination_addr = raw[start:end].decode("latin-1")
    esm_class, protocol_id = raw[end + 1], raw[end + 2]
    end = raw.index(b"\0", raw.index(b"\0", end + 4) + 1)  # schedule, validity: unused
    registered_delivery, data_coding, sm_length = raw[end + 1], raw[end + 3], raw[end + 5]
    return DeliverSm(
        source_addr=source_addr,
        destination_addr=destination_addr,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=raw[end + 6 : end + 6 + sm_length],
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        service_type=service_type,
        protocol_id=protocol_id,
        registered_delivery=registered_delivery,
    )


def _decode_data_sm(raw: bytes) -> PduBody:
    """data_sm carries MO and receipts like deliver_sm, with the body in message_payload."""
    _check_layout(raw, _DATA_SM_LAYOUT)
    p = _smpplib_parse("data_sm", raw)
    return DeliverSm(
        source_addr=_text(p.source_addr),
        destination_addr=_text(p.destination_addr),
        esm_class=p.esm_class,
        data_coding=p.data_coding,
        source_addr_ton=_int(p.source_addr_ton),
        source_addr_npi=_int(p.source_addr_npi),
        dest_addr_ton=_int(p.dest_addr_ton),
        dest_addr_npi=_int(p.dest_addr_npi),
        service_type=_text(p.service_type),
        registered_delivery=_int(p.registered_delivery),
        sar_msg_ref_num=_opt_int(p.sar_msg_ref_num),
        sar_total_segments=_opt_int(p.sar_total_segments),
        sar_segment_seqnum=_opt_int(p.sar_segment_seqnum),
        message_payload=bytes(p.message_payload or b""),
        receipted_message_id=_opt_text(p.receipted_message_id),
        message_state=_opt_int(p.message_state),
        network_error_code=_opt_bytes(p.network_error_code),
        user_message_reference=_opt_int(p.user_message_reference),
    )


def _decode_submit_sm(raw: bytes) -> PduBody:
    _check_layout(raw, _SM_LAYOUT)
    p = _smpplib_parse("submit_sm", raw)
    return SubmitSm(
        destination_addr=_text(p.destination_addr),
        short_message=bytes(p.short_message or b""),
        message_payload=_opt_bytes(p.message_payload),
        data_coding=p.data_coding,
        esm_class=p.esm_class,
        registered_delivery=_int(p.registered_delivery),
        source_addr=_text(p.source_addr),
        source_addr_ton=_int(p.source_addr_ton),
        source_addr_npi=_int(p.source_addr_npi),
        dest_addr_ton=_int(p.dest_addr_ton),
        dest_addr_npi=_int(p.dest_addr_npi),
        service_type=_text(p.service_type),
        protocol_id=_int(p.protocol_id),
        priority_flag=_int(p.priority_flag),
        validity_period=_text(p.validity_period),
        sar_msg_ref_num=_opt_int(p.sar_msg_ref_num),
        sar_total_segments=_opt_int(p.sar_total_segments),
        sar_segment_seqnum=_opt_int(p.sar_segment_seqnum),
        user_message_reference=_opt_int(p.user_message_reference),
    )


def _bind_decoder(name: str) -> Callable[[bytes], PduBody]:
    def decode_bind(raw: bytes) -> PduBody:
        _check_layout(raw, _BIND_LAYOUT)
        p = _smpplib_parse(name, raw)
        return BindRequest(
            system_id=_text(p.system_id),
            password=_text(p.password),
            system_type=_text(p.system_type),
            interface_version=_int(p.interface_version),
            addr_ton=_int(p.addr_ton),
            addr_npi=_int(p.addr_npi),
            address_range=_text(p.address_range),
        )

    return decode_bind


def _bind_resp_decoder(name: str) -> Callable[[bytes], PduBody]:
    def decode_bind_resp(raw: bytes) -> PduBody:
        if len(raw) == HEADER_SIZE:  # error responses often carry no body
            return BindResponse()
        return BindResponse(system_id=_text(_smpplib_parse(name, raw).system_id))

    return decode_bind_resp


_DECODERS: dict[int, Callable[[bytes], PduBody]] = {
    CommandId.DELIVER_SM: _decode_deliver_sm,
    CommandId.DATA_SM: _decode_data_sm,
    CommandId.SUBMIT_SM: _decode_submit_sm,
    CommandId.SUBMIT_SM_RESP: _decode_submit_sm_resp,
    CommandId.BIND_TRANSCEIVER: _bind_decoder("bind_transceiver"),
    CommandId.BIND_TRANSMITTER: _bind_decoder("bind_transmitter"),
    CommandId.BIND_RECEIVER: _bind_decoder("bind_receiver"),
    CommandId.BIND_TRANSCEIVER_RESP: _bind_resp_decoder("bind_transceiver_resp"),
    CommandId.BIND_TRANSMITTER_RESP: _bind_resp_decoder("bind_transmitter_resp"),
    CommandId.BIND_RECEIVER_RESP: _bind_resp_decoder("bind_receiver_resp"),
}
# Every other command the spec defines decodes to a header: the session answers the ones
# it serves and nacks the rest.
for _command in CommandId:
    _DECODERS.setdefault(_command, _decode_nothing)


def _status_for(exc: Exception) -> int:
    if isinstance(exc, KeyError):  # a TLV smpplib declares for other commands only
        return CommandStatus.ROPTPARNOTALLWD
    return CommandStatus.RINVCMDLEN


def decode(raw: bytes) -> Pdu:
    """Decode one complete PDU (header included).

    Raises ``RemoteProtocolError`` and nothing else. ``fatal`` is set when the header itself
    is inconsistent, ``sequence`` whenever the header could be read.
    """
    if len(raw) < HEADER_SIZE:
        raise RemoteProtocolError(
            "PDU shorter than its header", status=CommandStatus.RINVCMDLEN, fatal=True
        )
    length, command_id, status, sequence = HEADER.unpack_from(raw)
    if length != len(raw):
        raise RemoteProtocolError(
            "command_length does not match the PDU",
            status=CommandStatus.RINVCMDLEN,
            sequence=sequence,
            fatal=True,
        )
    decoder = _DECODERS.get(command_id)
    if decoder is None:
        raise RemoteProtocolError(
            f"unknown command_id 0x{command_id:08X}",
            status=CommandStatus.RINVCMDID,
            sequence=sequence,
        )
    try:
        body = decoder(raw)
    except RemoteProtocolError as exc:
        exc.sequence = sequence
        raise
    except Exception as exc:  # smpplib raises struct.error, KeyError, IndexError, ...
        raise RemoteProtocolError(
            f"undecodable {CommandId(command_id).name.lower()}: {type(exc).__name__}",
            status=_status_for(exc),
            sequence=sequence,
        ) from exc
    return Pdu(command_id, sequence, status, body)


# ---------------------------------------------------------------------------------------
# Encoding


def _encode_submit_sm(pdu: Pdu) -> bytes:
    msg = pdu.body
    if not isinstance(msg, SubmitSm):
        raise LocalProtocolError("submit_sm needs a SubmitSm body")
    if msg.message_payload is None and not _has_tlvs(msg):
        return _submit_sm_without_tlvs(pdu.sequence, pdu.status, msg)
    fields: dict[str, Any] = {
        "service_type": msg.service_type,
        "source_addr_ton": msg.source_addr_ton,
        "source_addr_npi": msg.source_addr_npi,
        "source_addr": msg.source_addr,
        "dest_addr_ton": msg.dest_addr_ton,
        "dest_addr_npi": msg.dest_addr_npi,
        "destination_addr": msg.destination_addr,
        "esm_class": msg.esm_class,
        "protocol_id": msg.protocol_id,
        "priority_flag": msg.priority_flag,
        "validity_period": msg.validity_period,
        "registered_delivery": msg.registered_delivery,
        "data_coding": msg.data_coding,
        "short_message": msg.short_message,
    }
    _add_optional(fields, msg)
    if msg.message_payload is not None:
        fields["message_payload"] = msg.message_payload
    return _smpplib_build("submit_sm", pdu.sequence, pdu.status, fields)


def _has_tlvs(msg: SubmitSm) -> bool:
    return not (
        msg.sar_msg_ref_num is None
        and msg.sar_total_segments is None
        and msg.sar_segment_seqnum is None
        and msg.user_message_reference is None
    )


def _submit_sm_without_tlvs(sequence: int, status: int, msg: SubmitSm) -> bytes:
    """The bytes smpplib makes for this submit_sm (the fields were checked by SubmitSm)."""
    body = b"".join(
        (
            msg.service_type.encode("ascii"),
            b"\0",
            _TWO_OCTETS.pack(msg.source_addr_ton, msg.source_addr_npi),
            msg.source_addr.encode("ascii"),
            b"\0",
            _TWO_OCTETS.pack(msg.dest_addr_ton, msg.dest_addr_npi),
            msg.destination_addr.encode("ascii"),
            b"\0",
            _THREE_OCTETS.pack(msg.esm_class, msg.protocol_id, msg.priority_flag),
            b"\0",  # schedule_delivery_time: now
            msg.validity_period.encode("ascii"),
            b"\0",
            # replace_if_present_flag and sm_default_msg_id: 0
            _SUBMIT_TAIL.pack(
                msg.registered_delivery, 0, msg.data_coding, 0, len(msg.short_message)
            ),
            msg.short_message,
        )
    )
    return HEADER.pack(HEADER_SIZE + len(body), CommandId.SUBMIT_SM, status, sequence) + body


def _encode_deliver_sm(pdu: Pdu) -> bytes:
    msg = pdu.body
    if not isinstance(msg, DeliverSm):
        raise LocalProtocolError("deliver_sm needs a DeliverSm body")
    if len(msg.short_message) > MAX_SHORT_MESSAGE:
        raise LocalProtocolError("short_message too long")
    fields: dict[str, Any] = {
        "service_type": msg.service_type,
        "source_addr_ton": msg.source_addr_ton,
        "source_addr_npi": msg.source_addr_npi,
        "source_addr": msg.source_addr,
        "dest_addr_ton": msg.dest_addr_ton,
        "dest_addr_npi": msg.dest_addr_npi,
        "destination_addr": msg.destination_addr,
        "esm_class": msg.esm_class,
        "protocol_id": msg.protocol_id,
        "registered_delivery": msg.registered_delivery,
        "data_coding": msg.data_coding,
        "short_message": msg.short_message,
    }
    _add_optional(fields, msg)
    for name in ("message_payload", "receipted_message_id", "message_state", "network_error_code"):
        value = getattr(msg, name)
        if value is not None:
            fields[name] = value
    return _smpplib_build("deliver_sm", pdu.sequence, pdu.status, fields)


def _add_optional(fields: dict[str, Any], msg: SubmitSm | DeliverSm) -> None:
    for name in (
        "sar_msg_ref_num",
        "sar_total_segments",
        "sar_segment_seqnum",
        "user_message_reference",
    ):
        value = getattr(msg, name)
        if value is not None:
            fields[name] = value


# C-octet string sizes without the NUL (SMPP 3.4 section 4.1); smpplib would truncate silently.
_BIND_LIMITS = {"system_id": 15, "password": 8, "system_type": 12, "address_range": 40}


def _bind_encoder(name: str) -> Callable[[Pdu], bytes]:
    def encode_bind(pdu: Pdu) -> bytes:
        bind = pdu.body
        if not isinstance(bind, BindRequest):
            raise LocalProtocolError(f"{name} needs a BindRequest body")
        for field, limit in _BIND_LIMITS.items():
            value = getattr(bind, field)
            if len(value) > limit or not value.isascii():
                raise LocalProtocolError(f"{field} must be at most {limit} ASCII characters")
        fields = {
            "system_id": bind.system_id,
            "password": bind.password,
            "system_type": bind.system_type,
            "addr_ton": bind.addr_ton,
            "addr_npi": bind.addr_npi,
            "address_range": bind.address_range,
        }
        return _smpplib_build(name, pdu.sequence, pdu.status, fields)

    return encode_bind


def _bind_resp_encoder(name: str) -> Callable[[Pdu], bytes]:
    def encode_bind_resp(pdu: Pdu) -> bytes:
        system_id = pdu.body.system_id if isinstance(pdu.body, BindResponse) else ""
        return _smpplib_build(name, pdu.sequence, pdu.status, {"system_id": system_id})

    return encode_bind_resp


def _encode_header_only(pdu: Pdu) -> bytes:
    return encode_header(pdu.command_id, pdu.sequence, pdu.status)


def _message_resp_encoder(command_id: int) -> Callable[[Pdu], bytes]:
    def encode_resp(pdu: Pdu) -> bytes:
        message_id = pdu.body.message_id if isinstance(pdu.body, SubmitSmResp) else ""
        if len(message_id) > _MAX_MESSAGE_ID or not message_id.isascii():
            raise LocalProtocolError("message_id must be at most 64 ASCII characters")
        return encode_message_resp(command_id, pdu.sequence, pdu.status, message_id)

    return encode_resp


_ENCODERS: dict[int, Callable[[Pdu], bytes]] = {
    CommandId.SUBMIT_SM: _encode_submit_sm,
    CommandId.DELIVER_SM: _encode_deliver_sm,
    CommandId.SUBMIT_SM_RESP: _message_resp_encoder(CommandId.SUBMIT_SM_RESP),
    CommandId.DELIVER_SM_RESP: _message_resp_encoder(CommandId.DELIVER_SM_RESP),
    CommandId.DATA_SM_RESP: _message_resp_encoder(CommandId.DATA_SM_RESP),
    CommandId.BIND_TRANSCEIVER: _bind_encoder("bind_transceiver"),
    CommandId.BIND_TRANSMITTER: _bind_encoder("bind_transmitter"),
    CommandId.BIND_RECEIVER: _bind_encoder("bind_receiver"),
    CommandId.BIND_TRANSCEIVER_RESP: _bind_resp_encoder("bind_transceiver_resp"),
    CommandId.BIND_TRANSMITTER_RESP: _bind_resp_encoder("bind_transmitter_resp"),
    CommandId.BIND_RECEIVER_RESP: _bind_resp_encoder("bind_receiver_resp"),
    CommandId.ENQUIRE_LINK: _encode_header_only,
    CommandId.ENQUIRE_LINK_RESP: _encode_header_only,
    CommandId.UNBIND: _encode_header_only,
    CommandId.UNBIND_RESP: _encode_header_only,
    CommandId.GENERIC_NACK: _encode_header_only,
}


def encode(pdu: Pdu) -> bytes:
    """Encode one PDU. Raises ``LocalProtocolError`` for a PDU we cannot or must not send."""
    encoder = _ENCODERS.get(pdu.command_id)
    if encoder is None:
        raise LocalProtocolError(f"cannot encode command_id 0x{pdu.command_id:08X}")
    try:
        return encoder(pdu)
    except LocalProtocolError:
        raise
    except (ValueError, TypeError, struct.error, UnicodeError) as exc:
        raise LocalProtocolError(f"cannot encode {CommandId(pdu.command_id).name}: {exc}") from exc
