"""Delivery receipts: recognise them, parse both forms, and match them to what we sent.

A receipt is a deliver_sm whose esm_class message type says so (0x04 SMSC delivery
receipt, 0x08 SME acknowledgement, 0x20 intermediate notification) or that carries
``receipted_message_id``. Its facts come from the TLVs (``receipted_message_id``,
``message_state``, ``network_error_code``) and/or from the de-facto text form of SMPP 3.4
Appendix B::

    id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201
    stat:DELIVRD err:000 text:...

TLVs win where both exist. SMSCs disagree with themselves about message ids (leading zeros,
letter case, hex in submit_sm_resp but decimal in the receipt), so ids are compared in a
canonical form (``canonical_message_id``), chosen per side like Kannel's ``msg-id-type``.

``ReceiptCorrelator`` remembers recently sent message ids (bounded) and holds a receipt that
overtook its own submit_sm_resp for a short while, so it can still be matched.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from sms.limits import IdBase
from sms.pdu import DeliverSm

_UCS2 = 0x08


class ReceiptState(Enum):
    """SMPP 3.4 message_state (section 5.2.28), with the text ``stat:`` spellings."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8

    @property
    def is_final(self) -> bool:
        return self not in (ReceiptState.ENROUTE, ReceiptState.ACCEPTED, ReceiptState.UNKNOWN)


_STAT_WORDS = {
    "ENROUTE": ReceiptState.ENROUTE,
    "DELIVRD": ReceiptState.DELIVERED,
    "DELIVERED": ReceiptState.DELIVERED,
    "EXPIRED": ReceiptState.EXPIRED,
    "DELETED": ReceiptState.DELETED,
    "UNDELIV": ReceiptState.UNDELIVERABLE,
    "UNDELIVERABLE": ReceiptState.UNDELIVERABLE,
    "FAILED": ReceiptState.UNDELIVERABLE,
    "ACCEPTD": ReceiptState.ACCEPTED,
    "ACCEPTED": ReceiptState.ACCEPTED,
    "UNKNOWN": ReceiptState.UNKNOWN,
    "REJECTD": ReceiptState.REJECTED,
    "REJECTED": ReceiptState.REJECTED,
}

# "submit date" and "done date" contain a space; "text" runs to the end of the message.
_FIELD = re.compile(r"(?i)\b(id|sub|dlvrd|submit date|done date|stat|err|text)\s*:")


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """What a receipt says about one message we submitted."""

    message_id: str  # canonical form, comparable with ``canonical_message_id`` of the resp
    raw_message_id: str
    state: ReceiptState
    error: str = ""  # the text ``err:`` field, e.g. "000"
    network_error_code: bytes | None = None  # the TLV: network type, then 2-octet code
    submitted: str = ""  # the text fields, verbatim
    delivered: str = ""
    submit_date: str = ""
    done_date: str = ""

    @property
    def is_delivered(self) -> bool:
        return self.state is ReceiptState.DELIVERED


def canonical_message_id(raw: str, base: IdBase = "text") -> str:
    """A message id in a form both sides agree on.

    ``text``: trimmed, leading zeros dropped, case folded. ``dec``/``hex``: the number the
    id spells, written in decimal (so a hex submit_sm_resp id and a decimal receipt id meet).
    An id that does not parse in its declared base falls back to ``text``.
    """
    value = raw.strip().strip("\0")
    if base != "text":
        try:
            return str(int(value, 16 if base == "hex" else 10))
        except ValueError:
            pass
    return value.lstrip("0").casefold() or "0"


def _receipt_text(message: DeliverSm) -> str:
    body = message.body
    if message.data_coding == _UCS2:
        return body.decode("utf-16-be", errors="replace")
    return body.decode("latin-1")


def parse_text_fields(text: str) -> dict[str, str]:
    """``id:… sub:… stat:…`` -> {"id": …, "sub": …, "stat": …} (keys lower-case)."""
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for index, match in enumerate(matches):
        key = match.group(1).lower()
        if key == "text":  # free text may contain anything, including "id:"
            fields[key] = text[match.end() :]
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end() : end].strip())
    return fields


def parse_receipt(message: DeliverSm, base: IdBase = "text") -> DeliveryReceipt | None:
    """The receipt in ``message``, or ``None`` if it is not one or names no message id."""
    if not message.is_receipt:
        return None
    fields = parse_text_fields(_receipt_text(message))
    raw_id = message.receipted_message_id or fields.get("id", "")
    raw_id = raw_id.strip().strip("\0")
    if not raw_id:
        return None
    if message.message_state is not None and message.message_state in _STATE_VALUES:
        state = ReceiptState(message.message_state)
    else:
        state = _STAT_WORDS.get(fields.get("stat", "").upper(), ReceiptState.UNKNOWN)
    return DeliveryReceipt(
        message_id=canonical_message_id(raw_id, base),
        raw_message_id=raw_id,
        state=state,
        error=fields.get("err", ""),
        network_error_code=message.network_error_code,
        submitted=fields.get("sub", ""),
        delivered=fields.get("dlvrd", ""),
        submit_date=fields.get("submit date", ""),
        done_date=fields.get("done date", ""),
    )


_STATE_VALUES = frozenset(state.value for state in ReceiptState)

Ref = TypeVar("Ref")
Held = TypeVar("Held")


class ReceiptCorrelator(Generic[Ref, Held]):
    """Matches receipts to the submits they report on, in bounded memory.

    ``sent(message_id, reference, now)`` records an accepted submit (oldest forgotten first
    beyond ``capacity``); ``received(...)`` looks a receipt up. While submits are still
    waiting for their submit_sm_resp, an unmatched receipt may be for one of them, so it is
    held (with an opaque ``Held`` payload, e.g. its acknowledgement) for ``hold`` seconds;
    ``sent`` releases the receipts it matches, ``expire`` the ones that waited too long.
    """

    def __init__(self, capacity: int, hold: float, max_held: int = 1000) -> None:
        self._capacity = capacity
        self._hold = hold
        self._max_held = max_held
        self._sent: OrderedDict[str, Ref] = OrderedDict()
        self._held: dict[str, list[tuple[float, DeliveryReceipt, Held]]] = {}
        self._held_count = 0

    def __len__(self) -> int:
        return len(self._sent)

    @property
    def held(self) -> int:
        return self._held_count

    def sent(
        self, message_id: str, reference: Ref, now: float
    ) -> list[tuple[DeliveryReceipt, Held]]:
        """Remember a submit the SMSC accepted; returns receipts that were waiting for it."""
        self._sent[message_id] = reference
        self._sent.move_to_end(message_id)
        while len(self._sent) > self._capacity:
            self._sent.popitem(last=False)
        waiting = self._held.pop(message_id, [])
        self._held_count -= len(waiting)
        return [(receipt, payload) for _, receipt, payload in waiting]

    def received(
        self, receipt: DeliveryReceipt, payload: Held, now: float, may_hold: bool
    ) -> tuple[bool, Ref | None]:
        """``(True, reference)``: deliver now (None if unknown); ``(False, None)``: held."""
        if receipt.message_id in self._sent:
            reference = self._sent[receipt.message_id]
            if receipt.state.is_final:
                del self._sent[receipt.message_id]
            return True, reference
        if not may_hold or self._held_count >= self._max_held:
            return True, None
        self._held.setdefault(receipt.message_id, []).append((now + self._hold, receipt, payload))
        self._held_count += 1
        return False, None

    def expire(self, now: float) -> list[tuple[DeliveryReceipt, Held]]:
        """Held receipts whose time is up: deliver them unmatched."""
        if not self._held_count:
            return []
        released: list[tuple[DeliveryReceipt, Held]] = []
        for message_id in list(self._held):
            entries = self._held[message_id]
            keep = [entry for entry in entries if entry[0] > now]
            released += [(receipt, payload) for due, receipt, payload in entries if due <= now]
            if keep:
                self._held[message_id] = keep
            else:
                del self._held[message_id]
        self._held_count -= len(released)
        return released

    def next_expiry(self) -> float | None:
        if not self._held_count:
            return None
        return min(due for entries in self._held.values() for due, _, _ in entries)

    def drop_held(self) -> list[tuple[DeliveryReceipt, Held]]:
        """Everything held (on shutdown)."""
        released = [(r, p) for entries in self._held.values() for _, r, p in entries]
        self._held.clear()
        self._held_count = 0
        return released
