"""Reply texts of the SMS channel: what a citizen reads on the phone. Pure: data in, text out.

Two renderings of every reply, chosen per deployment (``[sms] encoding``):

- **fold** (the default, government practice): unaccented Vietnamese that fits **one GSM-7
  segment** (160 septets), so a reply costs one message and shows on every handset. The
  status reads in capitals as the templates of the one-stop offices do (``DANG XU LY``) and
  lateness as ``TRE HAN``.
- **accented**: proper Vietnamese for UCS-2, at most three 67-character parts (201 UTF-16
  units, the default ``[sms] max_parts``). Under ``fit`` the service may render both and send
  the cheaper one.

Every reply is cut to its budget here, not by the encoder: long fields shrink first (the
procedure name, then the agency name, each to no less than 12 characters, with ``...``), so
the code, the status and the dates always survive. Fields from sources are folded with the
same table as the encoder (:func:`sms.text.fold_to_gsm7`), so the length measured here is
the length sent.

Privacy (domain notes §5.3) is decided before a view reaches this module: a
:class:`~gateway.privacy.DossierView` carries the procedure name and the applicant's
initials only when a second factor matched. Nothing here tells whether a factor was wrong
(that would make the reply an oracle for the applicant's digits), and "not found" reads the
same whatever the reason.

A citizen's rejected text is echoed (to the sender only) as upper-case letters, digits and
``. - /``, at most 30 characters: enough to spot a typo in a code, never GSM escape
characters, brackets or emoji that would change the encoding or the length.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from gateway.codes import DossierCode
from gateway.dossier import Status
from gateway.privacy import DossierView
from sms.text import fold_to_gsm7, gsm7_septets

__all__ = [
    "ACCENTED_BUDGET",
    "EXAMPLE_CODE",
    "FOLD_BUDGET",
    "SmsReplies",
]

FOLD_BUDGET = 160  # septets: one GSM-7 segment
ACCENTED_BUDGET = 3 * 67  # UTF-16 units: three concatenated UCS-2 parts
EXAMPLE_CODE = "000.00.22.H29-240101-0001"
MIN_FIELD = 12  # a shortened name keeps at least this much, or goes
MAX_ECHO = 30
_ELLIPSIS = "..."
_ECHO_DROP = re.compile(r"[^0-9A-Z./\- ]")
_SPACES = re.compile(r"\s+")

# Each reply in its two renderings: (fold, accented). Fields in braces.
_TEXTS: dict[str, tuple[str, str]] = {
    "head": ("HS {code}: {status}{late}.", "Hồ sơ {code}: {status}{late}."),
    "late": (", TRE HAN", ", trễ hạn"),
    "due": (" Hen tra {due}.", " Hẹn trả {due}."),
    "collect": (" Moi den nhan KQ tai {agency}.", " Mời đến nhận kết quả tại {agency}."),
    "pickup": (" Noi nhan KQ: {agency}.", " Nơi nhận kết quả: {agency}."),
    "handled": (" Noi xu ly: {agency}.", " Nơi xử lý: {agency}."),
    "procedure": (" Thu tuc: {procedure}.", " Thủ tục: {procedure}."),
    "initials": (" Chu HS: {initials}", " Chủ hồ sơ: {initials}"),
    "syntax": (
        " Cu phap: {keyword} <ma ho so> gui {short_code}.",
        " Cú pháp: {keyword} <mã hồ sơ> gửi {short_code}.",
    ),
    "hotline": (" Ho tro: {hotline}.", " Hỗ trợ: {hotline}."),
    "not_found": (
        "Khong tim thay ho so {code}. Kiem tra lai ma tren Giay tiep nhan.",
        "Không tìm thấy hồ sơ {code}. Kiểm tra lại mã trên Giấy tiếp nhận.",
    ),
    "procedure_code": (
        "Day la ma thu tuc, khong phai ma ho so. Ma ho so in tren Giay tiep nhan, vd {example}.",
        "Đây là mã thủ tục, không phải mã hồ sơ. Mã hồ sơ in trên Giấy tiếp nhận, ví dụ {example}.",
    ),
    "invalid_code": (
        "Ma {echo}khong dung. Ma ho so in tren Giay tiep nhan, vd {example}.",
        "Mã {echo}không đúng. Mã hồ sơ in trên Giấy tiếp nhận, ví dụ {example}.",
    ),
    "help": (
        "Tra cuu ho so: soan {keyword} <ma ho so> gui {short_code}. Ma in tren Giay tiep"
        " nhan. Them 4 so cuoi SDT dang ky sau ma de xem ten thu tuc.",
        "Tra cứu hồ sơ: soạn {keyword} <mã hồ sơ> gửi {short_code}. Mã in trên Giấy tiếp"
        " nhận. Thêm 4 số cuối SĐT đăng ký sau mã để xem tên thủ tục.",
    ),
    "unknown": (
        "Tin nhan chua dung cu phap.{syntax} Huong dan: soan HD gui {short_code}.",
        "Tin nhắn chưa đúng cú pháp.{syntax} Hướng dẫn: soạn HD gửi {short_code}.",
    ),
    "too_many": (
        "Moi tin chi tra cuu toi da {cap} ma ho so. {overflow} ma con lai chua duoc tra loi,"
        " vui long gui trong tin khac.",
        "Mỗi tin chỉ tra cứu tối đa {cap} mã hồ sơ. {overflow} mã còn lại chưa được trả lời,"
        " vui lòng gửi trong tin khác.",
    ),
    "rate_limited": (
        "Ban da tra cuu qua nhieu lan. Vui long thu lai sau{wait}.",
        "Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau{wait}.",
    ),
    "wait": (" {minutes} phut", " {minutes} phút"),
    "unavailable": (
        "He thong tra cuu tam thoi gian doan. Vui long thu lai sau it phut.",
        "Hệ thống tra cứu tạm thời gián đoạn. Vui lòng thử lại sau ít phút.",
    ),
}


@dataclass(frozen=True, slots=True)
class SmsReplies:
    """The reply texts of one deployment in one rendering; immutable, safe to share."""

    short_code: str  # where citizens send, e.g. "8283"
    hotline: str = ""  # e.g. "1022" or "1022 nhanh 2"; empty: not mentioned
    keyword: str = "HS"  # the keyword the replies teach
    example_code: str = EXAMPLE_CODE  # a code shaped like the province's
    accented: bool = False

    @property
    def budget(self) -> int:
        return ACCENTED_BUDGET if self.accented else FOLD_BUDGET

    def size(self, text: str) -> int:
        """Septets (fold) or UTF-16 units (accented) that ``text`` takes."""
        if self.accented:
            return len(text.encode("utf-16-be")) // 2
        return gsm7_septets(text)

    # --- replies ------------------------------------------------------------------------------

    def found(self, view: DossierView) -> str:
        """Status, lateness, due date and where to go; procedure and initials when disclosed."""
        full_agency = self._field(view.agency)
        agency, procedure = full_agency, self._field(view.procedure or "")
        if procedure:
            agency, procedure = self._share(view, full_agency, procedure)
        if not procedure and full_agency:
            room = self.budget - self.size(self._render_found(view, "-", "")) + 1
            agency = _shorten(full_agency, room)
        return self._fit(self._render_found(view, agency, procedure))

    def _share(self, view: DossierView, agency: str, procedure: str) -> tuple[str, str]:
        """Split the room left by the fixed text between the agency and the procedure names.

        Each gets half, or more when the other needs less; a procedure name that would keep
        fewer than :data:`MIN_FIELD` characters is left out.
        """
        room = self.budget - self.size(self._render_found(view, "-", "-")) + 2
        if len(agency) + len(procedure) <= room:
            return agency, procedure
        agency_room = min(len(agency), max(room // 2, room - len(procedure)))
        return _shorten(agency, agency_room), _shorten(procedure, room - agency_room)

    def not_found(self, code: DossierCode | str) -> str:
        text = self._t("not_found", code=self._field(str(code))[:40]) + self._syntax()
        return self._fit(self._with_hotline(text))

    def procedure_code_given(self) -> str:
        text = self._t("procedure_code", example=self.example_code) + self._syntax()
        return self._fit(self._with_hotline(text))

    def invalid_code(self, typed: str) -> str:
        echo = _echo(typed)
        text = self._t("invalid_code", echo=f"{echo} " if echo else "", example=self.example_code)
        return self._fit(self._with_hotline(text + self._syntax()))

    def help(self) -> str:
        return self._fit(
            self._with_hotline(self._t("help", keyword=self.keyword, short_code=self.short_code))
        )

    def unknown(self) -> str:
        """The syntax, for a text that is neither a keyword nor a code."""
        return self._fit(self._t("unknown", syntax=self._syntax(), short_code=self.short_code))

    def too_many_codes(self, cap: int, overflow: int) -> str:
        return self._fit(self._t("too_many", cap=cap, overflow=overflow))

    def rate_limited(self, retry_after: float | None = None) -> str:
        """``retry_after`` in seconds, shown rounded up to whole minutes."""
        wait = ""
        if retry_after is not None and retry_after > 0:
            wait = self._t("wait", minutes=math.ceil(retry_after / 60))
        return self._fit(self._with_hotline(self._t("rate_limited", wait=wait)))

    def unavailable(self) -> str:
        return self._fit(self._with_hotline(self._t("unavailable")))

    # --- pieces -------------------------------------------------------------------------------

    def _render_found(self, view: DossierView, agency: str, procedure: str) -> str:
        status = view.status.label if self.accented else view.status.sms_label.upper()
        parts = [
            self._t(
                "head",
                code=self._field(view.code),
                status=status,
                late=self._t("late") if view.overdue else "",
            )
        ]
        if view.due_at is not None and not _result_is_out(view.status):
            parts.append(self._t("due", due=_date(view.due_at)))
        if agency:
            parts.append(self._t(_place(view.status), agency=agency))
        if procedure:
            parts.append(self._t("procedure", procedure=procedure))
        if view.initials:
            parts.append(self._t("initials", initials=self._field(view.initials)))
        return "".join(parts).replace(_ELLIPSIS + ".", _ELLIPSIS)

    def _t(self, key: str, **fields: str | int) -> str:
        fold, accented = _TEXTS[key]
        if self.accented:
            return accented.format(**fields)
        # configured values (keyword, example, short code) may hold accents too
        return fold.format(**{k: _gsm(v) if isinstance(v, str) else v for k, v in fields.items()})

    def _syntax(self) -> str:
        return self._t("syntax", keyword=self.keyword, short_code=self.short_code)

    def _with_hotline(self, text: str) -> str:
        if not self.hotline:
            return text
        longer = text + self._t("hotline", hotline=self._field(self.hotline))
        return longer if self.size(longer) <= self.budget else text

    def _field(self, value: str) -> str:
        """A value from a source or the configuration, made safe for this rendering."""
        flat = _SPACES.sub(" ", value).strip()
        return flat if self.accented else _gsm(flat)

    def _fit(self, text: str) -> str:
        """Last resort: a reply never exceeds its budget, whatever the configuration holds."""
        while self.size(text) > self.budget:
            text = text[: -len(_ELLIPSIS) - 1] + _ELLIPSIS
        return text


def _shorten(value: str, length: int) -> str:
    """``value`` in at most ``length`` characters, or empty when that leaves too little."""
    if len(value) <= length:
        return value
    if length < MIN_FIELD:
        return ""
    return value[: length - len(_ELLIPSIS)].rstrip(" ,.;:-") + _ELLIPSIS


def _gsm(text: str) -> str:
    return fold_to_gsm7(text).text


def _echo(typed: str) -> str:
    kept = _ECHO_DROP.sub("", _gsm(typed).upper())
    return _SPACES.sub(" ", kept).strip()[:MAX_ECHO].strip()


def _date(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def _result_is_out(status: Status) -> bool:
    """The due date no longer matters: the result is ready, or the dossier is closed."""
    return status.is_final or status is Status.RESULT_READY


def _place(status: Status) -> str:
    if status is Status.RESULT_READY:
        return "collect"
    return "handled" if status.is_final else "pickup"
