"""The dossier and its status: the one model every channel speaks.

A dossier's status arrives from many systems (the national portal's ten numeric codes, its
English vocabulary shared with OpenCPS, provincial labels). All of them map onto one canonical
:class:`Status`. "Overdue" (trễ hạn) is not a status: it is computed from the due date.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


@dataclass(frozen=True, slots=True)
class _StatusText:
    national_code: int | None
    label: str  # accented, for screens and UCS-2 SMS
    sms_label: str  # unaccented, for GSM-7 SMS
    spoken: str  # what the hotline says after "trạng thái"
    final: bool


class Status(Enum):
    """Canonical processing status of a dossier."""

    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PROCESSING = "processing"
    NEEDS_SUPPLEMENT = "needs_supplement"
    AWAITING_PAYMENT = "awaiting_payment"
    PAUSED = "paused"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REJECTED = "rejected"
    STOPPED = "stopped"
    WITHDRAWN = "withdrawn"
    UNKNOWN = "unknown"

    @property
    def _text(self) -> _StatusText:
        return _TEXTS[self]

    @property
    def national_code(self) -> int | None:
        """The national portal's TrangThaiHoSo code (1-10), if there is one."""
        return self._text.national_code

    @property
    def label(self) -> str:
        return self._text.label

    @property
    def sms_label(self) -> str:
        return self._text.sms_label

    @property
    def spoken(self) -> str:
        return self._text.spoken

    @property
    def is_final(self) -> bool:
        """No further change is expected: subscriptions end, caches may keep it longer."""
        return self._text.final

    @classmethod
    def parse(cls, raw: str | int) -> Status:
        """Map any upstream status (national code, English term, canonical name, Vietnamese label).

        Raises :class:`ValueError` naming the value when it is unknown, so a bad source row is
        reported rather than shown to a citizen as something it is not.
        """
        key = _fold(str(raw))
        try:
            return _ALIASES[key]
        except KeyError:
            raise ValueError(f"unknown dossier status {raw!r}") from None


_TEXTS: dict[Status, _StatusText] = {
    Status.SUBMITTED: _StatusText(
        1, "Đã nộp, chờ tiếp nhận", "Da nop, cho tiep nhan", "đã nộp, đang chờ tiếp nhận", False
    ),
    Status.ACCEPTED: _StatusText(2, "Đã tiếp nhận", "Da tiep nhan", "đã được tiếp nhận", False),
    Status.PROCESSING: _StatusText(4, "Đang xử lý", "Dang xu ly", "đang được xử lý", False),
    Status.NEEDS_SUPPLEMENT: _StatusText(
        5, "Chờ bổ sung hồ sơ", "Cho bo sung ho so", "cần bổ sung giấy tờ", False
    ),
    Status.AWAITING_PAYMENT: _StatusText(
        6, "Chờ nộp phí, lệ phí", "Cho nop phi, le phi", "đang chờ nộp phí, lệ phí", False
    ),
    Status.PAUSED: _StatusText(None, "Tạm dừng xử lý", "Tam dung xu ly", "tạm dừng xử lý", False),
    Status.RESULT_READY: _StatusText(
        9, "Đã có kết quả, chờ trả", "Da co ket qua, cho tra", "đã có kết quả, mời đến nhận", False
    ),
    Status.RETURNED: _StatusText(10, "Đã trả kết quả", "Da tra ket qua", "đã trả kết quả", True),
    Status.REJECTED: _StatusText(
        3, "Không được tiếp nhận", "Khong duoc tiep nhan", "không được tiếp nhận", True
    ),
    Status.STOPPED: _StatusText(8, "Dừng xử lý", "Dung xu ly", "đã dừng xử lý", True),
    Status.WITHDRAWN: _StatusText(7, "Đã rút hồ sơ", "Da rut ho so", "đã được rút", True),
    Status.UNKNOWN: _StatusText(
        None, "Chưa xác định", "Chua xac dinh", "chưa xác định được", False
    ),
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.strip().replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().replace("_", " ").replace(",", " ").split())


def _aliases() -> dict[str, Status]:
    table: dict[str, Status] = {}
    for status, text in _TEXTS.items():
        table[_fold(status.value)] = status
        table[_fold(status.name)] = status
        table[_fold(text.label)] = status
        table[_fold(text.sms_label)] = status
        if text.national_code is not None:
            table[str(text.national_code)] = status
    # The national portal's English vocabulary, shared with OpenCPS.
    english = {
        "new": Status.SUBMITTED,
        "receiving": Status.SUBMITTED,
        "denied": Status.REJECTED,
        "interoperating": Status.PROCESSING,
        "handover": Status.PROCESSING,
        "waiting": Status.NEEDS_SUPPLEMENT,
        "correcting": Status.NEEDS_SUPPLEMENT,
        "paying": Status.AWAITING_PAYMENT,
        "pausing": Status.PAUSED,
        "releasing": Status.RESULT_READY,
        "posting": Status.RESULT_READY,
        "done": Status.RETURNED,
        "cancelled": Status.WITHDRAWN,
        "cancelling": Status.WITHDRAWN,
        "unresolved": Status.STOPPED,
        # Vietnamese labels of the national portal's ten codes.
        "moi dang ky": Status.SUBMITTED,
        "duoc tiep nhan": Status.ACCEPTED,
        "yeu cau bo sung giay to": Status.NEEDS_SUPPLEMENT,
        "yeu cau thuc hien nghia vu tai chinh": Status.AWAITING_PAYMENT,
        "cong dan yeu cau rut ho so": Status.WITHDRAWN,
        "da xu ly xong": Status.RESULT_READY,
    }
    table.update({_fold(k): v for k, v in english.items()})
    return table


_ALIASES = _aliases()


@dataclass(frozen=True, slots=True)
class Dossier:
    """What the gateway knows of one dossier, as read from a source.

    ``phone`` and ``applicant`` are personal data: they serve the second factor and the
    initials shown at the higher disclosure level, and never leave the gateway in full.
    """

    code: str  # canonical dossier code
    status: Status
    received_at: datetime | None = None
    due_at: datetime | None = None
    agency: str = ""
    procedure: str = ""
    phone: str | None = None
    updated_at: datetime | None = None
    applicant: str | None = None
    alt_codes: tuple[str, ...] = ()

    def is_overdue(self, now: datetime) -> bool:
        """Past its due date while still open (final dossiers are never overdue)."""
        if self.due_at is None or self.status.is_final or self.status is Status.RESULT_READY:
            return False
        due = self.due_at
        if (due.tzinfo is None) != (now.tzinfo is None):
            due = due.replace(tzinfo=now.tzinfo)
        return now > due
