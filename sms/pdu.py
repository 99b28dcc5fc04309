"""SMPP 3.4 PDUs as small frozen dataclasses: what the rest of the gateway sees.

The codec converts wire bytes into these once, at the edge; nothing deeper handles smpplib
objects or raw bytes. Only the fields and TLVs the gateway uses are kept; addresses are
``str`` (ASCII on the wire), message bodies are ``bytes`` (their text encoding is
``sms.text``'s business).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from sms.errors import LocalProtocolError

SEQUENCE_MAX = 0x7FFFFFFF
INTERFACE_VERSION = 0x34
MAX_ADDRESS_LEN = 20  # source_addr / destination_addr: C-octet string of at most 21 octets
MAX_SHORT_MESSAGE = 254  # octets in short_message; longer goes to message_payload
MAX_MESSAGE_PAYLOAD = 64000  # the TLV length is 16 bits; keep well inside it

ESM_UDHI = 0x40  # esm_class: short_message starts with a user data header
ESM_TYPE_MASK = 0x3C  # esm_class message type bits
ESM_DELIVERY_RECEIPT = 0x04  # SMSC delivery receipt
ESM_DELIVERY_ACK = 0x08  # SME delivery acknowledgement
ESM_INTERMEDIATE = 0x20  # intermediate delivery notification
_RECEIPT_TYPES = frozenset({ESM_DELIVERY_RECEIPT, ESM_DELIVERY_ACK, ESM_INTERMEDIATE})


class CommandId(IntEnum):
    """command_id values (SMPP 3.4 section 5.1.2)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


RESPONSE_BIT = 0x80000000


def is_response(command_id: int) -> bool:
    return bool(command_id & RESPONSE_BIT)


class BindMode(Enum):
    """How one TCP connection is bound: both directions, or one of the TX+RX pair."""

    TRANSCEIVER = CommandId.BIND_TRANSCEIVER
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    RECEIVER = CommandId.BIND_RECEIVER

    @property
    def command_id(self) -> CommandId:
        return CommandId(self.value)

    @property
    def response_id(self) -> CommandId:
        return CommandId(self.value | RESPONSE_BIT)

    @property
    def can_submit(self) -> bool:
        return self is not BindMode.RECEIVER

    @property
    def can_receive(self) -> bool:
        return self is not BindMode.TRANSMITTER


@dataclass(frozen=True, slots=True)
class BindRequest:
    """Body of bind_transceiver / bind_transmitter / bind_receiver."""

    system_id: str
    password: str = ""
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""


@dataclass(frozen=True, slots=True)
class BindResponse:
    """Body of a bind_*_resp: the SMSC's system_id."""

    system_id: str = ""


@dataclass(frozen=True, slots=True)
class SubmitSmResp:
    """Body of submit_sm_resp: the SMSC's id for the message (empty on error)."""

    message_id: str = ""


@dataclass(frozen=True, slots=True)
class SubmitSm:
    """One mobile-terminated short message, as the SMSC will see it.

    A reply from a short code uses ``source_addr_ton`` 3 (abbreviated) or 0 (unknown), as the
    operator requires; the citizen's number is international (ton 1, npi 1). A body longer
    than one PDU's ``short_message`` goes in ``message_payload`` instead (never both).
    """

    destination_addr: str
    short_message: bytes = b""
    message_payload: bytes | None = None
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    validity_period: str = ""
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    user_message_reference: int | None = None

    def __post_init__(self) -> None:
        _check_text("source_addr", self.source_addr, MAX_ADDRESS_LEN)
        _check_text("destination_addr", self.destination_addr, MAX_ADDRESS_LEN)
        _check_text("service_type", self.service_type, 5)
        _check_text("validity_period", self.validity_period, 16)
        if len(self.short_message) > MAX_SHORT_MESSAGE:
            raise LocalProtocolError(
                f"short_message is {len(self.short_message)} octets, max {MAX_SHORT_MESSAGE}"
            )
        if self.message_payload is not None:
            if self.short_message:
                raise LocalProtocolError("short_message and message_payload are exclusive")
            if len(self.message_payload) > MAX_MESSAGE_PAYLOAD:
                raise LocalProtocolError("message_payload too long")
        for name in _OCTET_FIELDS:
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise LocalProtocolError(f"{name}={value} does not fit one octet")

    @property
    def body(self) -> bytes:
        """The message octets, wherever they travel."""
        return self.message_payload if self.message_payload is not None else self.short_message


_OCTET_FIELDS = (
    "data_coding",
    "esm_class",
    "registered_delivery",
    "source_addr_ton",
    "source_addr_npi",
    "dest_addr_ton",
    "dest_addr_npi",
    "protocol_id",
    "priority_flag",
)


def _check_text(name: str, value: str, limit: int) -> None:
    """A C-octet string field: smpplib would silently cut or fail to encode anything else."""
    if len(value) > limit or not value.isascii() or "\0" in value:
        raise LocalProtocolError(f"{name} must be at most {limit} ASCII characters")


@dataclass(frozen=True, slots=True)
class DeliverSm:
    """One deliver_sm (or data_sm) from the SMSC: a citizen's message or a delivery receipt."""

    source_addr: str
    destination_addr: str
    esm_class: int = 0
    data_coding: int = 0
    short_message: bytes = b""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    service_type: str = ""
    protocol_id: int = 0
    registered_delivery: int = 0
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    message_payload: bytes | None = None
    receipted_message_id: str | None = None
    message_state: int | None = None
    network_error_code: bytes | None = None
    user_message_reference: int | None = None

    @property
    def body(self) -> bytes:
        """The message octets: message_payload when present, else short_message."""
        return self.message_payload if self.message_payload is not None else self.short_message

    @property
    def has_udh(self) -> bool:
        return bool(self.esm_class & ESM_UDHI)

    @property
    def is_receipt(self) -> bool:
        """A delivery receipt or notification rather than a citizen's message."""
        return (
            self.esm_class & ESM_TYPE_MASK
        ) in _RECEIPT_TYPES or self.receipted_message_id is not None


PduBody = BindRequest | BindResponse | SubmitSm | SubmitSmResp | DeliverSm | None


@dataclass(frozen=True, slots=True)
class Pdu:
    """One PDU: the header fields plus a typed body (``None`` for header-only PDUs)."""

    command_id: int
    sequence: int
    status: int = 0
    body: PduBody = None
