"""Every sentence the hotline says, in one place, Vietnamese first.

Each :class:`Prompt` has a stable id that is also its audio file's path under the rendered
prompts folder (``ivr/greeting`` → ``<dir>/vi/ivr/greeting.wav``, played as
``<sound_prefix>/vi/ivr/greeting``). Four kinds:

- sentences (``ivr/…``): fixed texts, rendered whole for natural prosody;
- status phrases (``status/<value>``): one per :class:`gateway.dossier.Status`, its spoken label;
- fragments (``digits/…``, ``letters/…``, ``word/…``, ``sym/…``): the speller's words, from
  which codes, numbers and dates are composed at call time;
- agencies (``agency/<slug>``): configured agency names, rendered whole so "collect your result
  at …" can name the place; an agency not in the list gets the generic sentence.

The ``say_*`` functions compose the dynamic messages the dialogue needs, so the dialogue
never strings ids together by hand. Numbers inside sentence texts are written as words: the
text is what a TTS engine reads.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from types import MappingProxyType

from gateway.dossier import Status
from gateway.privacy import DossierView
from prompts.speech import (
    DEFAULT_STYLE,
    FRAGMENTS,
    PAUSE,
    SILENCES,
    STOP,
    Fragment,
    SpeechStyle,
    Spoken,
    concat,
    expand_text,
    spell_code,
    spell_date,
    spell_datetime,
    spell_digits,
    spell_number,
)


class PromptKind(Enum):
    SENTENCE = "sentence"
    STATUS = "status"
    FRAGMENT = "fragment"
    AGENCY = "agency"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class Prompt:
    """One thing the hotline can play: ``vi`` is what it says, ``en`` a gloss for operators."""

    id: str
    vi: str
    en: str = ""
    kind: PromptKind = PromptKind.SENTENCE

    @property
    def fragment(self) -> Fragment:
        return Fragment(self.id, self.vi)

    @property
    def spoken(self) -> Spoken:
        return Spoken((self.fragment,))


def _sentence(prompt_id: str, vi: str, en: str) -> Prompt:
    return Prompt(f"ivr/{prompt_id}", vi, en, PromptKind.SENTENCE)


# --- the dialogue's sentences -----------------------------------------------------------------

GREETING = _sentence(
    "greeting",
    "Xin chào quý vị đã gọi đến tổng đài tra cứu tình trạng hồ sơ thủ tục hành chính.",
    "Welcome to the administrative dossier status hotline.",
)
MAIN_MENU = _sentence(
    "main_menu",
    "Để tra cứu hồ sơ, bấm phím một. Để gặp tổng đài viên, bấm phím không.",
    "To look up a dossier press 1. To speak to an operator press 0.",
)
ENTER_CODE = _sentence(
    "enter_code",
    "Vui lòng nhập các chữ số của mã hồ sơ trên giấy biên nhận, kết thúc bằng phím thăng.",
    "Please key in the digits of the dossier code on your receipt, then press hash.",
)
ENTER_FULL_CODE = _sentence(
    "enter_full_code",
    "Các chữ số quý vị nhập trùng với nhiều hồ sơ. Xin quý vị nhập đầy đủ mã hồ sơ.",
    "Those digits match several dossiers. Please enter the whole code.",
)
YOU_ENTERED = _sentence("you_entered", "Quý vị đã nhập mã số", "You entered")
CONFIRM_OR_REENTER = _sentence(
    "confirm_or_reenter",
    "Bấm phím một để xác nhận, bấm phím hai để nhập lại.",
    "Press 1 to confirm, 2 to enter it again.",
)
PLEASE_WAIT = _sentence(
    "please_wait", "Xin quý vị vui lòng chờ trong giây lát.", "Please wait a moment."
)
DOSSIER_NUMBER = _sentence("dossier_number", "Hồ sơ số", "Dossier number")
STATUS_IS = _sentence("status_is", "trạng thái:", "status:")
DUE_DATE = _sentence("due_date", "Ngày hẹn trả kết quả:", "Result due on")
OVERDUE = _sentence(
    "overdue",
    "Hồ sơ đã quá hạn giải quyết. Chúng tôi thành thật xin lỗi quý vị.",
    "The dossier is overdue. We sincerely apologise.",
)
COLLECT_AT = _sentence(
    "collect_at", "Mời quý vị đến nhận kết quả tại", "Please collect the result at"
)
COLLECT_AT_DESK = _sentence(
    "collect_at_desk",
    "Mời quý vị đến nhận kết quả tại bộ phận một cửa nơi đã nộp hồ sơ.",
    "Please collect the result at the one-stop desk where you filed the dossier.",
)
NOT_FOUND = _sentence(
    "not_found",
    "Không tìm thấy hồ sơ với mã số này. Xin quý vị kiểm tra lại mã trên giấy biên nhận.",
    "No dossier has this number. Please check the code on your receipt.",
)
MENU = _sentence(
    "menu",
    "Để nghe lại, bấm phím một. Để tra cứu hồ sơ khác, bấm phím hai. "
    "Để gặp tổng đài viên, bấm phím không. Để nghe lại các lựa chọn này, bấm phím sao.",
    "Press 1 to repeat, 2 for another dossier, 0 for an operator, star to hear this again.",
)
INVALID_INPUT = _sentence(
    "invalid_input", "Phím quý vị vừa bấm không hợp lệ.", "That key is not valid."
)
NO_INPUT = _sentence(
    "no_input", "Chúng tôi chưa nhận được phím bấm của quý vị.", "We did not receive any key."
)
TOO_MANY_ATTEMPTS = _sentence(
    "too_many_attempts",
    "Quý vị đã nhập sai quá số lần cho phép.",
    "Too many unsuccessful attempts.",
)
TRANSFER = _sentence(
    "transfer",
    "Cuộc gọi đang được chuyển tới tổng đài viên, xin quý vị vui lòng giữ máy.",
    "Transferring you to an operator, please hold.",
)
OPERATORS_CLOSED = _sentence(
    "operators_closed",
    "Hiện đã ngoài giờ làm việc của tổng đài viên.",
    "Operators are closed now.",
)
OPERATORS_CLOSED_SMS_OFFER = _sentence(
    "operators_closed_sms_offer",
    "Hiện đã ngoài giờ làm việc của tổng đài viên. Chúng tôi có thể gửi kết quả tra cứu "
    "qua tin nhắn tới số điện thoại của quý vị. Để nhận tin nhắn, bấm phím một.",
    "Operators are closed now. We can send the result by SMS: press 1.",
)
SMS_SENT = _sentence(
    "sms_sent",
    "Tin nhắn kết quả tra cứu đã được gửi tới số điện thoại của quý vị.",
    "The result has been sent to your phone by SMS.",
)
FOUND_FOR_CALLER = _sentence("found_for_caller", "Chúng tôi tìm thấy", "We found")
DOSSIERS_FOR_YOUR_NUMBER = _sentence(
    "dossiers_for_your_number",
    "hồ sơ gắn với số điện thoại của quý vị.",
    "dossiers registered with your phone number.",
)
PRESS = _sentence("press", "Bấm phím", "Press")
FOR_DOSSIER_ENDING = _sentence(
    "for_dossier_ending", "để nghe hồ sơ có số cuối là", "for the dossier ending in"
)
OR_ENTER_OTHER = _sentence(
    "or_enter_other",
    "Để nhập mã hồ sơ khác, bấm phím thăng.",
    "To enter another dossier code, press hash.",
)
GOODBYE = _sentence(
    "goodbye",
    "Cảm ơn quý vị đã gọi đến tổng đài. Xin chào và hẹn gặp lại.",
    "Thank you for calling. Goodbye.",
)
BUSY = _sentence(
    "busy",
    "Hệ thống đang bận, xin quý vị vui lòng gọi lại sau ít phút.",
    "The system is busy, please call again in a few minutes.",
)
UNAVAILABLE = _sentence(
    "unavailable",
    "Hiện chưa kết nối được tới hệ thống quản lý hồ sơ. Xin quý vị vui lòng thử lại sau.",
    "The dossier system cannot be reached right now. Please try again later.",
)

SENTENCES: tuple[Prompt, ...] = (
    GREETING,
    MAIN_MENU,
    ENTER_CODE,
    ENTER_FULL_CODE,
    YOU_ENTERED,
    CONFIRM_OR_REENTER,
    PLEASE_WAIT,
    DOSSIER_NUMBER,
    STATUS_IS,
    DUE_DATE,
    OVERDUE,
    COLLECT_AT,
    COLLECT_AT_DESK,
    NOT_FOUND,
    MENU,
    INVALID_INPUT,
    NO_INPUT,
    TOO_MANY_ATTEMPTS,
    TRANSFER,
    OPERATORS_CLOSED,
    OPERATORS_CLOSED_SMS_OFFER,
    SMS_SENT,
    FOUND_FOR_CALLER,
    DOSSIERS_FOR_YOUR_NUMBER,
    PRESS,
    FOR_DOSSIER_ENDING,
    OR_ENTER_OTHER,
    GOODBYE,
    BUSY,
    UNAVAILABLE,
)
"""Sentence ids are ``ivr/<name>``; the dialogue's cues use the same names (``Cue.MENU`` →
``ivr/menu``), see :func:`sentence`."""


def sentence(name: str) -> Prompt:
    """The sentence ``ivr/<name>``; raises KeyError naming it if there is none."""
    for prompt in SENTENCES:
        if prompt.id == f"ivr/{name}":
            return prompt
    raise KeyError(f"no sentence ivr/{name}")


# --- status phrases ---------------------------------------------------------------------------

_STATUS_EN = {
    Status.SUBMITTED: "submitted, waiting to be accepted",
    Status.ACCEPTED: "accepted",
    Status.PROCESSING: "being processed",
    Status.NEEDS_SUPPLEMENT: "documents must be supplemented",
    Status.AWAITING_PAYMENT: "waiting for fees to be paid",
    Status.PAUSED: "processing paused",
    Status.RESULT_READY: "result ready, please collect it",
    Status.RETURNED: "result returned",
    Status.REJECTED: "not accepted",
    Status.STOPPED: "processing stopped",
    Status.WITHDRAWN: "withdrawn",
    Status.UNKNOWN: "not known yet",
}


def status_prompt(status: Status) -> Prompt:
    """The spoken label of ``status``, id ``status/<value>``."""
    return Prompt(f"status/{status.value}", status.spoken, _STATUS_EN[status], PromptKind.STATUS)


# --- agencies ---------------------------------------------------------------------------------


def agency_prompt_id(name: str) -> str:
    """A stable ASCII id for an agency name: ``agency/ubnd-phuong-ben-nghe-3f2a1c``.

    The hash suffix keeps two names that fold to the same letters apart.
    """
    canonical = " ".join(unicodedata.normalize("NFC", name).split())
    folded = unicodedata.normalize("NFD", canonical.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = "-".join("".join(c if c.isalnum() else " " for c in ascii_name).split())[:48]
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:6]
    return f"agency/{slug.strip('-') or 'x'}-{digest}"


def agency_prompt(name: str, style: SpeechStyle = DEFAULT_STYLE) -> Prompt:
    return Prompt(agency_prompt_id(name), expand_text(name, style), name, PromptKind.AGENCY)


# --- the catalogue ----------------------------------------------------------------------------


def _fragment_kind(fragment_id: str) -> PromptKind:
    return PromptKind.SILENCE if fragment_id in SILENCES else PromptKind.FRAGMENT


class Catalogue:
    """All prompts of one deployment, by id; iteration follows a stable order."""

    __slots__ = ("_agencies", "_prompts")

    def __init__(self, prompts: Iterable[Prompt], agencies: Mapping[str, Prompt]) -> None:
        table: dict[str, Prompt] = {}
        for prompt in prompts:
            if prompt.id in table and table[prompt.id] != prompt:
                raise ValueError(f"two prompts share the id {prompt.id!r}")
            table[prompt.id] = prompt
        self._prompts: Mapping[str, Prompt] = MappingProxyType(table)
        self._agencies: Mapping[str, Prompt] = MappingProxyType(dict(agencies))

    def __getitem__(self, prompt_id: str) -> Prompt:
        return self._prompts[prompt_id]

    def __contains__(self, prompt_id: object) -> bool:
        return prompt_id in self._prompts

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self._prompts.values())

    def __len__(self) -> int:
        return len(self._prompts)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._prompts)

    def agency(self, name: str) -> Prompt | None:
        """The rendered prompt for an agency name, if it was configured."""
        return self._agencies.get(" ".join(unicodedata.normalize("NFC", name).split()))


def build_catalogue(agencies: Sequence[str] = (), style: SpeechStyle = DEFAULT_STYLE) -> Catalogue:
    """Sentences, status phrases, the speller's fragments, and the given agency names."""
    agency_prompts = {
        " ".join(unicodedata.normalize("NFC", name).split()): agency_prompt(name, style)
        for name in agencies
        if name.strip()
    }
    prompts: list[Prompt] = list(SENTENCES)
    prompts += (status_prompt(status) for status in Status)
    prompts += (
        Prompt(fid, text, "", _fragment_kind(fid)) for fid, text in sorted(FRAGMENTS.items())
    )
    prompts += sorted(agency_prompts.values(), key=lambda p: p.id)
    return Catalogue(prompts, agency_prompts)


# --- composed messages ------------------------------------------------------------------------


def say_you_entered(digits: str) -> Spoken:
    """ "Quý vị đã nhập mã số <digits>. Bấm phím một để xác nhận, …" """
    return concat(YOU_ENTERED.spoken, spell_digits(digits), _stop(), CONFIRM_OR_REENTER.spoken)


def say_status(code: str, status: Status) -> Spoken:
    """ "Hồ sơ số <code>, trạng thái: <status>." """
    return concat(
        DOSSIER_NUMBER.spoken,
        spell_code(code),
        Spoken((PAUSE,)),
        STATUS_IS.spoken,
        status_prompt(status).spoken,
    )


def say_due(due: date | datetime, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """ "Ngày hẹn trả kết quả: <time>, <date>" (the time only when it is not midnight)."""
    if isinstance(due, datetime) and (due.hour, due.minute) != (0, 0):
        return DUE_DATE.spoken + spell_datetime(due, style)
    day = due.date() if isinstance(due, datetime) else due
    return DUE_DATE.spoken + spell_date(day, style)


def say_collect_at(catalogue: Catalogue, agency: str) -> Spoken:
    """Where to collect the result: the agency's name when rendered, the generic desk if not."""
    prompt = catalogue.agency(agency) if agency else None
    if prompt is None:
        return COLLECT_AT_DESK.spoken
    return concat(COLLECT_AT.spoken, prompt.spoken)


def say_found_for_caller(count: int, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """ "Chúng tôi tìm thấy <n> hồ sơ gắn với số điện thoại của quý vị." """
    return concat(
        FOUND_FOR_CALLER.spoken, spell_number(count, style), DOSSIERS_FOR_YOUR_NUMBER.spoken
    )


def say_choice(key: int, code: str, tail: int = 4) -> Spoken:
    """ "Bấm phím <key> để nghe hồ sơ có số cuối là <last digits of code>." """
    if not 0 <= key <= 9:
        raise ValueError(f"a menu key is one digit, got {key}")
    digits = "".join(c for c in code if c.isascii() and c.isdigit())
    return concat(
        PRESS.spoken,
        spell_digits(str(key)),
        FOR_DOSSIER_ENDING.spoken,
        spell_digits(digits[-tail:] or "0"),
    )


def say_pause() -> Spoken:
    return Spoken((PAUSE,))


def _stop() -> Spoken:
    return Spoken((STOP,))


def _sentences(*parts: Spoken) -> Spoken:
    """Parts joined with a full stop (a longer silence in playback)."""
    out: list[Spoken] = []
    for part in parts:
        if out:
            out.append(_stop())
        out.append(part)
    return concat(*out)


def say_offer(codes: Sequence[str], style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """Dossiers found by caller number: "we found n …; press 1 for …; # for another code"."""
    if not 1 <= len(codes) <= 9:
        raise ValueError(f"one to nine dossiers can be offered on the keypad, got {len(codes)}")
    choices = [say_choice(key, code) for key, code in enumerate(codes, start=1)]
    return _sentences(say_found_for_caller(len(codes), style), *choices, OR_ENTER_OTHER.spoken)


def say_dossier(
    catalogue: Catalogue, view: DossierView, style: SpeechStyle = DEFAULT_STYLE
) -> Spoken:
    """Everything the hotline says about one dossier, in the order a caller needs it.

    The status; the due date while the dossier is open; an apology when it is overdue; where
    to collect the result once it is ready.
    """
    parts = [say_status(view.code, view.status)]
    waiting = not view.status.is_final and view.status is not Status.RESULT_READY
    if view.due_at is not None and waiting:
        parts.append(say_due(view.due_at, style))
    if view.overdue:
        parts.append(OVERDUE.spoken)
    if view.status is Status.RESULT_READY:
        parts.append(say_collect_at(catalogue, view.agency))
    return _sentences(*parts)


class CatalogueScript:
    """The dialogue's words (``ivr.call.Script``) taken from the catalogue.

    A cue named ``x`` plays the sentence ``ivr/x``; dynamic parts are composed from fragments.
    """

    def __init__(self, catalogue: Catalogue, style: SpeechStyle = DEFAULT_STYLE) -> None:
        self._catalogue = catalogue
        self._style = style

    def cue(self, cue: Enum) -> Spoken:
        return sentence(str(cue.value)).spoken

    def offer(self, views: Sequence[DossierView]) -> Spoken:
        return say_offer([view.code for view in views], self._style)

    def read_back(self, digits: str) -> Spoken:
        return say_you_entered(digits)

    def status(self, view: DossierView) -> Spoken:
        return say_dossier(self._catalogue, view, self._style)
