"""Vietnamese reading of numbers, dates, times, dossier codes and phone numbers.

Every function returns a :class:`Spoken`: the sequence of :class:`Fragment` s the hotline can
play back from short pre-rendered files, and the same words as plain text for whole-sentence
synthesis and for SMS. The functions are pure: no files, no clock, no configuration reads.

Why our own speller: off-the-shelf ones read years wrongly ("hai nghìn lẻ hai mươi lăm" for
2025), write "lẽ" for "lẻ", or read a hotline number as a cardinal. The rules implemented:

- cardinals: "mười" for 10-19 and "mươi" for 20-90; "một" becomes "mốt" after tens of two or
  more (21) but not after "mười" (11); "năm" becomes "lăm" after any tens (15, 25) but not
  after "linh"/"lẻ" (105); "bốn" may become "tư" after tens of two or more (24); a zero tens
  digit before a unit reads "linh" (North) or "lẻ" (South); a zero hundreds digit inside a
  larger number reads "không trăm" (2025); thousands read "nghìn" (North) or "ngàn" (South);
- digit strings (codes, phones): one word per digit, "một" and "năm" never change;
- dates: "ngày mùng" for days 1-10, April is "tháng tư", January may be "tháng Giêng";
- times: 12-hour with "sáng/trưa/chiều/tối/đêm", or 24-hour.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from types import MappingProxyType

from gateway.phone import normalize_msisdn

MAX_NUMBER = 999_999_999


class SpeechError(ValueError):
    """The value cannot be read aloud (out of range, or a character with no spoken name)."""


class Region(Enum):
    """Regional number words: North says "nghìn"/"linh", South says "ngàn"/"lẻ"."""

    NORTH = "north"
    SOUTH = "south"


@dataclass(frozen=True, slots=True)
class SpeechStyle:
    """How the hotline reads numbers and dates; one per deployment."""

    region: Region = Region.NORTH
    tu_after_tens: bool | None = None  # 24 → "hai mươi tư"; None: the region's habit
    january_gieng: bool = False  # January read as "tháng Giêng" instead of "tháng một"
    twelve_hour: bool = True  # "hai giờ chiều" rather than "mười bốn giờ"

    @property
    def says_tu(self) -> bool:
        if self.tu_after_tens is None:
            return self.region is Region.NORTH
        return self.tu_after_tens


DEFAULT_STYLE = SpeechStyle()


@dataclass(frozen=True, slots=True)
class Fragment:
    """One short piece of speech: ``id`` names its audio file, ``text`` is what it says."""

    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Spoken:
    """Something to say: fragments for composed playback, text for TTS and SMS."""

    fragments: tuple[Fragment, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(fragment.id for fragment in self.fragments)

    @property
    def text(self) -> str:
        return join_words(fragment.text for fragment in self.fragments)

    def __add__(self, other: Spoken) -> Spoken:
        return Spoken(self.fragments + other.fragments)

    def __len__(self) -> int:
        return len(self.fragments)


def join_words(words: Iterable[str]) -> str:
    """Words separated by spaces; punctuation sticks to the word before it, never doubled."""
    out = ""
    for word in words:
        if not word or (word in (",", ".") and (not out or out[-1] in ",.:;?!")):
            continue
        if out and word[0] not in ",.:;?!":
            out += " "
        out += word
    return out


def concat(*parts: Spoken) -> Spoken:
    return Spoken(tuple(fragment for part in parts for fragment in part.fragments))


# The whole fragment vocabulary: every id the speller can emit, with its words. Ids are ASCII
# paths so each is one small audio file (``digits/5a.wav``); a file says one word, so numbers of
# any size need only these few dozen files.
_DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_LETTER_NAMES = {
    "A": "a",
    "B": "bê",
    "C": "xê",
    "D": "dê",
    "Đ": "đê",
    "E": "e",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e lờ",
    "M": "em mờ",
    "N": "en nờ",
    "O": "o",
    "P": "pê",
    "Q": "quy",
    "R": "e rờ",
    "S": "ét xì",
    "T": "tê",
    "U": "u",
    "V": "vê",
    "W": "vê kép",
    "X": "ích xì",
    "Y": "i dài",
    "Z": "dét",
}
_WORDS = {
    "digits/1a": "mốt",
    "digits/4a": "tư",
    "digits/5a": "lăm",
    "digits/10": "mười",
    "digits/tens": "mươi",
    "digits/hundred": "trăm",
    "digits/thousand": "nghìn",
    "digits/thousand-s": "ngàn",
    "digits/million": "triệu",
    "digits/odd": "linh",
    "digits/odd-s": "lẻ",
    "word/ngay": "ngày",
    "word/mung": "mùng",
    "word/thang": "tháng",
    "word/gieng": "Giêng",
    "word/nam": "năm",
    "word/thu": "thứ",
    "word/chu-nhat": "chủ nhật",
    "word/gio": "giờ",
    "word/phut": "phút",
    "word/sang": "sáng",
    "word/trua": "trưa",
    "word/chieu": "chiều",
    "word/toi": "tối",
    "word/dem": "đêm",
    "sym/dot": "chấm",
    "sym/dash": "gạch",
    "sym/slash": "gạch chéo",
    "sym/pause": ",",
    "sym/stop": ".",
}
PAUSE_ID = "sym/pause"
STOP_ID = "sym/stop"
SILENCES: Mapping[str, float] = MappingProxyType({PAUSE_ID: 0.25, STOP_ID: 0.5})
"""Fragments that are silence, with their length in seconds: a comma, a full stop."""


def _letter_id(letter: str) -> str:
    return "letters/dd" if letter == "Đ" else f"letters/{letter.lower()}"


def _vocabulary() -> dict[str, str]:
    table = {f"digits/{d}": word for d, word in enumerate(_DIGIT_WORDS)}
    table.update(_WORDS)
    table.update({_letter_id(letter): name for letter, name in _LETTER_NAMES.items()})
    return table


FRAGMENTS: Mapping[str, str] = MappingProxyType(_vocabulary())
"""Every fragment id the speller emits, with the words it says."""


def _f(fragment_id: str) -> Fragment:
    return Fragment(fragment_id, FRAGMENTS[fragment_id])


def _say(*ids: str) -> Spoken:
    return Spoken(tuple(_f(i) for i in ids))


PAUSE = _f(PAUSE_ID)
STOP = _f(STOP_ID)


# --- cardinal numbers -------------------------------------------------------------------------


def spell_number(value: int, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """A cardinal from 0 to 999,999,999: 2025 → "hai nghìn không trăm hai mươi lăm"."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpeechError(f"not an integer: {value!r}")
    if not 0 <= value <= MAX_NUMBER:
        raise SpeechError(f"{value} is outside 0..{MAX_NUMBER:,}")
    return _say(*_number_ids(value, style))


def _number_ids(value: int, style: SpeechStyle) -> list[str]:
    if value == 0:
        return ["digits/0"]
    millions, rest = divmod(value, 1_000_000)
    thousands, units = divmod(rest, 1000)
    thousand_word = "digits/thousand" if style.region is Region.NORTH else "digits/thousand-s"
    ids: list[str] = []
    for group, scale in ((millions, "digits/million"), (thousands, thousand_word), (units, "")):
        if group == 0:
            continue
        ids += _group_ids(group, style, leading=not ids)
        if scale:
            ids.append(scale)
    return ids


def _group_ids(group: int, style: SpeechStyle, *, leading: bool) -> list[str]:
    """Three digits. Inside a larger number every place is said ("không trăm", "linh")."""
    hundreds, below = divmod(group, 100)
    tens, unit = divmod(below, 10)
    ids: list[str] = []
    if hundreds or not leading:
        ids += [f"digits/{hundreds}", "digits/hundred"]
    if tens == 0:
        if unit and ids:
            ids += ["digits/odd" if style.region is Region.NORTH else "digits/odd-s"]
        if unit:
            ids.append(f"digits/{unit}")
        return ids
    if tens == 1:
        ids.append("digits/10")
    else:
        ids += [f"digits/{tens}", "digits/tens"]
    if unit:
        ids.append(_unit_after_tens(tens, unit, style))
    return ids


def _unit_after_tens(tens: int, unit: int, style: SpeechStyle) -> str:
    if unit == 5:
        return "digits/5a"
    if unit == 1 and tens >= 2:
        return "digits/1a"
    if unit == 4 and tens >= 2 and style.says_tu:
        return "digits/4a"
    return f"digits/{unit}"


# --- digit strings, codes, phone numbers ------------------------------------------------------


def spell_digits(digits: str) -> Spoken:
    """Digit by digit, as for a hotline number: "1022" → "một không hai hai"."""
    if not digits or not digits.isascii() or not digits.isdigit():
        raise SpeechError(f"not a digit string: {digits!r}")
    return _say(*(f"digits/{d}" for d in digits))


_CODE_SEPARATORS = {".": "sym/dot", "-": "sym/dash", "/": "sym/slash"}


def spell_code(code: str, *, spoken_separators: bool = True) -> Spoken:
    """A dossier code character by character: letters by their Vietnamese names.

    ``000.00.22.H29-240101-0001`` → "không không không chấm … hát hai chín gạch …". With
    ``spoken_separators=False`` the dots and dashes become short pauses instead.
    """
    ids = [_code_char_id(char, spoken_separators) for char in code.strip() if not char.isspace()]
    if not ids:
        raise SpeechError("empty dossier code")
    return _say(*ids)


def _code_char_id(char: str, spoken_separators: bool) -> str:
    if char.isascii() and char.isdigit():
        return f"digits/{char}"
    upper = char.upper()
    if upper in _LETTER_NAMES:
        return _letter_id(upper)
    if char in _CODE_SEPARATORS:
        return _CODE_SEPARATORS[char] if spoken_separators else PAUSE_ID
    raise SpeechError(f"no spoken name for {char!r} in a dossier code")


def spell_phone(number: str) -> Spoken:
    """A phone number in the groups people write it in, with a pause between groups.

    Mobile ``0912345678`` → "không chín một hai, ba bốn năm, sáu bảy tám"; ``+84`` becomes ``0``.
    """
    if not number.strip() or set(number) - _PHONE_CHARACTERS:
        raise SpeechError(f"not a phone number: {number!r}")
    digits = normalize_msisdn(number)
    if not digits:
        raise SpeechError(f"not a phone number: {number!r}")
    fragments: list[Fragment] = []
    for group in _phone_groups(digits):
        if fragments:
            fragments.append(PAUSE)
        fragments += spell_digits(group).fragments
    return Spoken(tuple(fragments))


_PHONE_CHARACTERS = frozenset("0123456789+-.() ")
_PHONE_GROUPING = {6: (3, 3), 7: (3, 4), 8: (4, 4), 9: (3, 3, 3), 10: (4, 3, 3), 11: (3, 4, 4)}


def _phone_groups(digits: str) -> Iterator[str]:
    sizes = _PHONE_GROUPING.get(len(digits))
    if sizes is None:
        sizes = (len(digits),) if len(digits) <= 5 else _threes(len(digits))
    start = 0
    for size in sizes:
        yield digits[start : start + size]
        start += size


def _threes(length: int) -> tuple[int, ...]:
    head = length % 3 or 3
    return (head,) + (3,) * ((length - head) // 3)


# --- dates and times --------------------------------------------------------------------------

_WEEKDAYS = (
    ("word/thu", "digits/2"),
    ("word/thu", "digits/3"),
    ("word/thu", "digits/4a"),
    ("word/thu", "digits/5"),
    ("word/thu", "digits/6"),
    ("word/thu", "digits/7"),
    ("word/chu-nhat",),
)


def spell_weekday(day: date) -> Spoken:
    """Monday "thứ hai" … Wednesday "thứ tư" … Sunday "chủ nhật"."""
    return _say(*_WEEKDAYS[day.weekday()])


def spell_day(day: int, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """Day of month after "ngày": 1-10 take "mùng" ("mùng năm"), the rest are cardinals."""
    if not 1 <= day <= 31:
        raise SpeechError(f"day of month out of range: {day}")
    prefix = _say("word/mung") if day <= 10 else Spoken(())
    return prefix + spell_number(day, style)


def spell_month(month: int, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """ "tháng ba", "tháng tư" (never "tháng bốn"), "tháng mười hai", optionally "tháng Giêng"."""
    if not 1 <= month <= 12:
        raise SpeechError(f"month out of range: {month}")
    if month == 1 and style.january_gieng:
        return _say("word/thang", "word/gieng")
    if month == 4:
        return _say("word/thang", "digits/4a")
    return _say("word/thang") + spell_number(month, style)


def spell_date(day: date, style: SpeechStyle = DEFAULT_STYLE, *, weekday: bool = False) -> Spoken:
    """ "ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm" (with the weekday first)."""
    spoken = concat(
        _say("word/ngay"),
        spell_day(day.day, style),
        spell_month(day.month, style),
        _say("word/nam"),
        spell_number(day.year, style),
    )
    if weekday:
        return concat(spell_weekday(day), Spoken((PAUSE,)), spoken)
    return spoken


def spell_time(moment: time, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """ "chín giờ ba mươi phút sáng", "hai giờ chiều"; 24-hour: "mười bốn giờ"."""
    hour = moment.hour
    period: tuple[str, ...] = ()
    if style.twelve_hour:
        period = (_day_period(hour),)
        hour = hour % 12 or 12
    minutes = Spoken(())
    if moment.minute:
        minutes = spell_number(moment.minute, style) + _say("word/phut")
    return concat(spell_number(hour, style), _say("word/gio"), minutes, _say(*period))


def _day_period(hour: int) -> str:
    if 1 <= hour <= 10:
        return "word/sang"
    if hour in (11, 12):
        return "word/trua"
    if 13 <= hour <= 17:
        return "word/chieu"
    if 18 <= hour <= 21:
        return "word/toi"
    return "word/dem"


def spell_datetime(moment: datetime, style: SpeechStyle = DEFAULT_STYLE) -> Spoken:
    """An appointment as printed on receipts: the time, then the date."""
    return concat(
        spell_time(moment.time(), style), Spoken((PAUSE,)), spell_date(moment.date(), style)
    )


# --- free text (agency names) -----------------------------------------------------------------

_ABBREVIATIONS = {
    "UBND": "Ủy ban nhân dân",
    "HĐND": "Hội đồng nhân dân",
    "TP": "Thành phố",
    "TX": "Thị xã",
    "TT": "Thị trấn",
    "Q": "Quận",
    "P": "Phường",
    "H": "Huyện",
    "HCM": "Hồ Chí Minh",
    "BHXH": "Bảo hiểm xã hội",
    "CA": "Công an",
    "TNMT": "Tài nguyên và Môi trường",
    "TN&MT": "Tài nguyên và Môi trường",
    "VP": "Văn phòng",
    "ĐKĐĐ": "Đăng ký đất đai",
}
_GROUPED_NUMBER = re.compile(r"\d{1,3}(?:\.\d{3})+")


def expand_text(text: str, style: SpeechStyle = DEFAULT_STYLE) -> str:
    """Free text as a TTS engine should read it: abbreviations written out, numbers spelled.

    "UBND quận 1" → "Ủy ban nhân dân quận một"; "Sở Tư pháp TP.HCM" → "Sở Tư pháp Thành phố
    Hồ Chí Minh". Used for configured agency names, which are rendered whole.
    """
    words: list[str] = []
    for token in unicodedata.normalize("NFC", text).split():
        words += _expand_token(token, style)
    return " ".join(words)


def _expand_token(token: str, style: SpeechStyle) -> list[str]:
    core = token.rstrip(",;:")
    tail = token[len(core) :]
    if _GROUPED_NUMBER.fullmatch(core):
        out = _spell_run(core.replace(".", ""), style).text.split()
    else:
        dotted = "." in core
        out = []
        for part in (p for p in core.split(".") if p):
            if part in _ABBREVIATIONS and (dotted or (part.isupper() and len(part) > 1)):
                out += _ABBREVIATIONS[part].split()
            elif part.isascii() and part.isdigit():
                out += _spell_run(part, style).text.split()
            else:
                out.append(part)
    if out and tail:
        out[-1] += tail
    return out


def _spell_run(run: str, style: SpeechStyle) -> Spoken:
    if (len(run) > 1 and run.startswith("0")) or len(run) > 9:
        return spell_digits(run)
    return spell_number(int(run), style)
