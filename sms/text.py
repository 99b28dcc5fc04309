"""SMS text: GSM 03.38 / UCS-2 encoding, Vietnamese folding, segmentation, MO decoding.

Pure functions, no I/O and no clock. Why each rule is here:

- Vietnamese needs UCS-2 (70 characters a segment) for nearly every accented letter; only
  ``à è é ì ò ù É`` exist in GSM 03.38. Folding to unaccented GSM-7 (160 a segment) is what
  operators and government templates use ("không dấu"). Folding strips *every* diacritic, not only
  the ones GSM lacks, so a reply reads uniformly: "Hà Nội" becomes "Ha Noi", never "Hà Noi".
- A character nothing can represent becomes :data:`SUBSTITUTE` and is reported in
  ``replaced``, so callers log and count it instead of shipping a silent ``?`` (Kannel's NRP,
  Jasmin's ``'replace'``).
- SMPP carries GSM-7 unpacked, one septet per octet, under data_coding 0: the SMSC packs.
- A segment boundary never cuts an escape pair (``€ [ ] { } ~ ^ | \\`` and form feed are two
  septets) or a UTF-16 surrogate pair; the part cap truncates visibly with an ellipsis.
- MO text arrives in whatever the SMSC chose; :func:`decode_mo` says which reading it used and
  whether it had to guess or lose bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["fold", "unicode", "fit"]
"""Reply encoding policy (``[sms] encoding``).

``fold``: unaccented GSM-7. ``unicode``: UCS-2 with accents kept, GSM-7 when the text already is
GSM-7. ``fit``: as ``unicode`` unless that needs more segments than ``fold``.
"""

DefaultAlphabet = Literal["auto", "gsm7", "latin-1"]
"""How to read MO data_coding 0 ("SMSC default alphabet"); see :func:`decode_mo`."""

Charset = Literal["gsm7", "ascii", "latin-1", "utf-8", "ucs2", "iso8859-5", "iso8859-8"]

DC_DEFAULT = 0x00  # SMSC default alphabet: GSM 03.38 unpacked for us
DC_UCS2 = 0x08
ESM_UDHI = 0x40

GSM7_SINGLE_SEPTETS = 160
GSM7_PART_SEPTETS = 153  # 160 minus 7 septets taken by the 6-octet concatenation UDH
UCS2_SINGLE_OCTETS = 140  # 70 UTF-16 code units
UCS2_PART_OCTETS = 134  # 67 UTF-16 code units after the 6-octet UDH
MAX_PARTS = 255  # the UDH counts parts in one octet
SUBSTITUTE = "?"

# --- GSM 03.38 (3GPP TS 23.038 §6.2.1) ------------------------------------------------------

ESC = 0x1B
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_GSM_CHARS = frozenset(_GSM_BASIC.replace("\x1b", "")) | frozenset(_GSM_EXTENSION.values())
_NON_GSM = re.compile("[^" + "".join(re.escape(c) for c in sorted(_GSM_CHARS)) + "]")
_GSM_EXT_CHARS = tuple(_GSM_EXTENSION.values())

# char -> its unpacked septets, as latin-1 code points so that one translate + encode does it
_GSM_ENCODE: dict[int, str] = {ord(c): chr(i) for i, c in enumerate(_GSM_BASIC) if i != ESC}
_GSM_ENCODE.update({ord(c): "\x1b" + chr(i) for i, c in _GSM_EXTENSION.items()})
# octet (as a latin-1 code point) -> basic-table char; ESC stays ESC until _unescape resolves it
_GSM_DECODE: dict[int, str] = {i: c for i, c in enumerate(_GSM_BASIC)}
_GSM_DECODE.update({i: "\ufffd" for i in range(0x80, 0x100)})
# an escape is resolved after the basic-table pass, so key the extension by the basic char
_EXTENSION_BY_BASIC = {_GSM_BASIC[i]: c for i, c in _GSM_EXTENSION.items()}
_ESCAPED = re.compile("\x1b(.)", re.DOTALL)


def gsm7_encodable(text: str) -> bool:
    """True when every character of ``text`` is in the GSM 03.38 default or extension table.

    The text is taken as given: decomposed accents (``e`` + U+0301) are not encodable until NFC.
    """
    return _NON_GSM.search(text) is None


def gsm7_septets(text: str) -> int:
    """Septets ``text`` takes in GSM-7: one per character, two per extension-table character."""
    _require_gsm7(text)
    return len(text) + sum(map(text.count, _GSM_EXT_CHARS))


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7 (one septet per octet, SMPP data_coding 0). ValueError if not encodable."""
    _require_gsm7(text)
    return text.translate(_GSM_ENCODE).encode("latin-1")


def gsm7_decode(septets: bytes) -> str:
    """Text of unpacked GSM-7 septets.

    Per TS 23.038: an escape before a code the extension table lacks shows the basic character;
    ESC ESC shows a space. A trailing lone ESC is dropped; octets above 0x7F become U+FFFD.
    """
    return _resolve_escapes(_gsm7_decode_raw(septets))


def _gsm7_decode_raw(septets: bytes) -> str:
    return septets.decode("latin-1").translate(_GSM_DECODE)


def _resolve_escapes(text: str) -> str:
    if "\x1b" not in text:
        return text
    text = _ESCAPED.sub(_unescape, text)
    return text.replace("\x1b", "")


def _unescape(match: re.Match[str]) -> str:
    following = match.group(1)
    if following == "\x1b":
        return " "
    return _EXTENSION_BY_BASIC.get(following, following)


def _require_gsm7(text: str) -> None:
    bad = _NON_GSM.search(text)
    if bad is not None:
        raise ValueError(f"not GSM 03.38: {bad.group()!r} at {bad.start()}")


# --- Folding to unaccented GSM-7 ---------------------------------------------------------------

_SPACES = (
    "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_EXPLICIT_FOLDS: dict[str, str] = {
    # letters NFD does not decompose
    "đ": "d",
    "Đ": "D",
    "ð": "d",  # Icelandic eth, typed by mistake for đ
    "Ð": "D",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "œ": "oe",
    "Œ": "OE",
    # typography that phones and word processors insert
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "`": "'",
    "´": "'",
    "‹": "'",
    "›": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "…": "...",
    "•": "-",
    "·": ".",
    "⁄": "/",
    "×": "x",
    "₫": "d",  # "100.000₫" reads "100.000d" unaccented
    "©": "(c)",
    "®": "(R)",
    "\t": " ",
    "\u2028": "\n",
    "\u2029": "\n",
    **{space: " " for space in _SPACES},
}
_INVISIBLE_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # stray marks, ZWJ, BOM, soft hyphen
_EMOJI_MODIFIERS = frozenset(chr(cp) for cp in range(0x1F3FB, 0x1F400))  # skin tones


@dataclass(frozen=True, slots=True)
class Folded:
    """Unaccented GSM-7 text, and the characters that had to become :data:`SUBSTITUTE`."""

    text: str
    replaced: tuple[str, ...]


def fold_to_gsm7(text: str) -> Folded:
    """NFC, strip diacritics, ``đ→d``, typography to GSM; substitute what is left, visibly.

    The result is always GSM-7 encodable and folding it again changes nothing.
    """
    folded = unicodedata.normalize("NFC", text).translate(_FOLD_TABLE)
    if _NON_GSM.search(folded) is None:
        return Folded(folded, ())
    replaced: list[str] = []

    def fold_or_substitute(match: re.Match[str]) -> str:
        char = match.group()
        result = _fold_char(char)
        if result is None:
            replaced.append(char)
            return SUBSTITUTE
        return result

    return Folded(_NON_GSM.sub(fold_or_substitute, folded), tuple(replaced))


def _fold_char(char: str) -> str | None:
    """GSM-7 spelling of one NFC character, or None when there is none."""
    simple = _fold_simple(char)
    if simple is not None:
        return simple
    compatible = unicodedata.normalize("NFKC", char)  # fullwidth, ligatures, ™, ², ①
    if compatible == char:
        return None
    pieces = [_fold_simple(c) for c in compatible]
    if any(piece is None for piece in pieces):
        return None
    return "".join(piece for piece in pieces if piece is not None)


def _fold_simple(char: str) -> str | None:
    explicit = _EXPLICIT_FOLDS.get(char)
    if explicit is not None:
        return explicit
    if unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _EMOJI_MODIFIERS:
        return ""
    base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
    if base != char and base and gsm7_encodable(base):
        return base
    if char in _GSM_CHARS:
        return char
    return None


def _build_fold_table() -> dict[int, str]:
    """Precomputed folds for the ranges replies use, so the common path is one translate."""
    ranges = (
        range(0x00, 0x250),
        range(0x1E00, 0x1F00),
        range(0x2000, 0x2070),
        range(0xFF01, 0xFF5F),
    )
    table: dict[int, str] = {}
    for code_point in (cp for r in ranges for cp in r):
        char = chr(code_point)
        folded = _fold_char(char)
        if folded is not None and folded != char:
            table[code_point] = folded
    return table


_FOLD_TABLE = _build_fold_table()

# --- Encoding and segmentation -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segmented:
    """A reply ready for ``submit_sm``: one ``short_message`` per part, UDH included.

    ``text`` is what the handset will show (folded, truncated); ``units`` its length in septets
    (GSM-7) or UTF-16 code units (UCS-2), UDH excluded.
    """

    data_coding: int
    esm_class: int
    parts: tuple[bytes, ...]
    truncated: bool
    replaced: tuple[str, ...]
    text: str
    units: int


@dataclass(frozen=True, slots=True)
class _Coding:
    data_coding: int
    single_octets: int
    part_octets: int
    ellipsis: bytes
    space: bytes
    safe_end: Callable[[bytes, int], int]

    def decode(self, payload: bytes) -> str:
        if self.data_coding == DC_UCS2:
            return payload.decode("utf-16-be")
        return gsm7_decode(payload)


def _gsm7_safe_end(data: bytes, end: int) -> int:
    # the encoder never emits ESC as the second octet of a pair, so a final ESC opens one
    return end - 1 if data[end - 1] == ESC else end


def _ucs2_safe_end(data: bytes, end: int) -> int:
    return end - 2 if 0xD8 <= data[end - 2] <= 0xDB else end


_GSM7 = _Coding(DC_DEFAULT, GSM7_SINGLE_SEPTETS, GSM7_PART_SEPTETS, b"...", b" ", _gsm7_safe_end)
_UCS2 = _Coding(
    DC_UCS2, UCS2_SINGLE_OCTETS, UCS2_PART_OCTETS, "…".encode("utf-16-be"), b"\x00 ", _ucs2_safe_end
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class _Candidate:
    coding: _Coding
    payload: bytes
    replaced: tuple[str, ...]


def encode_reply(
    text: str, policy: Encoding = "fold", max_parts: int = 1, ref: int = 0
) -> Segmented:
    """Encode and segment one MT reply under ``policy``, at most ``max_parts`` segments.

    ``ref`` is the concatenation reference (0–255), used only when the reply needs several parts;
    take it from a :class:`ReferenceCounter` per destination. A reply longer than ``max_parts``
    segments is cut at a character boundary and ends with an ellipsis; ``truncated`` says so.
    """
    if not 1 <= max_parts <= MAX_PARTS:
        raise ValueError(f"max_parts must be 1..{MAX_PARTS}, got {max_parts}")
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"ref must be 0..255, got {ref}")
    return _segment(_choose(text, policy), max_parts, ref)


def _choose(text: str, policy: Encoding) -> _Candidate:
    if policy not in ("fold", "unicode", "fit"):
        raise ValueError(f"unknown encoding policy {policy!r}")
    if policy == "fold":
        return _folded(text)
    unicode = _unicode(text)
    if policy == "unicode" or unicode.coding is _GSM7:
        return unicode
    folded = _folded(text)
    if _count_parts(unicode.payload, _UCS2) > _count_parts(folded.payload, _GSM7):
        return folded
    return unicode


def _folded(text: str) -> _Candidate:
    folded = fold_to_gsm7(text)
    return _Candidate(_GSM7, gsm7_encode(folded.text), folded.replaced)


def _unicode(text: str) -> _Candidate:
    text = unicodedata.normalize("NFC", text)
    if gsm7_encodable(text):
        return _Candidate(_GSM7, gsm7_encode(text), ())
    replaced = tuple(_LONE_SURROGATE.findall(text))  # unpaired halves cannot be sent as UTF-16
    if replaced:
        text = _LONE_SURROGATE.sub(SUBSTITUTE, text)
    return _Candidate(_UCS2, text.encode("utf-16-be"), replaced)


def _count_parts(payload: bytes, coding: _Coding) -> int:
    if len(payload) <= coding.single_octets:
        return 1
    return len(_chunks(payload, coding))


def _chunks(payload: bytes, coding: _Coding) -> list[bytes]:
    chunks: list[bytes] = []
    start = 0
    while start < len(payload):
        end = start + coding.part_octets
        end = coding.safe_end(payload, end) if end < len(payload) else len(payload)
        chunks.append(payload[start:end])
        start = end
    return chunks


def _bodies(payload: bytes, coding: _Coding, max_parts: int) -> tuple[list[bytes], bool]:
    """Part bodies (no UDH) and whether the cap truncated the text."""
    if len(payload) <= coding.single_octets:
        return [payload], False
    if max_parts == 1:
        return [_cut_with_ellipsis(payload, coding.single_octets, coding)], True
    bodies = _chunks(payload, coding)
    if len(bodies) <= max_parts:
        return bodies, False
    kept = bodies[: max_parts - 1]
    rest = payload[sum(map(len, kept)) :]
    return [*kept, _cut_with_ellipsis(rest, coding.part_octets, coding)], True


def _segment(candidate: _Candidate, max_parts: int, ref: int) -> Segmented:
    coding = candidate.coding
    bodies, truncated = _bodies(candidate.payload, coding, max_parts)
    sent = b"".join(bodies)
    units = len(sent) if coding is _GSM7 else len(sent) // 2
    if len(bodies) == 1:
        parts: tuple[bytes, ...] = (bodies[0],)
        esm_class = 0
    else:
        total = len(bodies)
        parts = tuple(_concat_udh(ref, total, seq) + body for seq, body in enumerate(bodies, 1))
        esm_class = ESM_UDHI
    return Segmented(
        data_coding=coding.data_coding,
        esm_class=esm_class,
        parts=parts,
        truncated=truncated,
        replaced=candidate.replaced,
        text=coding.decode(sent),
        units=units,
    )


def _cut_with_ellipsis(payload: bytes, limit: int, coding: _Coding) -> bytes:
    end = coding.safe_end(payload, limit - len(coding.ellipsis))
    kept = payload[:end]
    while kept.endswith(coding.space):
        kept = kept[: -len(coding.space)]
    return kept + coding.ellipsis


def _concat_udh(ref: int, total: int, seq: int) -> bytes:
    return bytes((0x05, 0x00, 0x03, ref, total, seq))


class ReferenceCounter:
    """Concatenation references (0–255), rotating per destination.

    A handset joins parts by sender and reference, so two long replies to one phone must not
    share a reference. Each destination counts on its own; one not seen recently (or forgotten
    to stay within ``max_destinations``) starts from a shared counter, so references stay spread.
    """

    def __init__(self, max_destinations: int = 100_000, start: int = 0) -> None:
        self._max = max_destinations
        self._shared = start & 0xFF
        self._last: OrderedDict[str, int] = OrderedDict()

    def next(self, destination: str) -> int:
        previous = self._last.pop(destination, None)
        if previous is None:
            ref = self._shared
            self._shared = (self._shared + 1) & 0xFF
        else:
            ref = (previous + 1) & 0xFF
        self._last[destination] = ref
        if len(self._last) > self._max:
            self._last.popitem(last=False)
        return ref


# --- MO decoding ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Concat:
    """Where one part sits in a concatenated message (UDH IEI 0x00/0x08 or SAR TLVs)."""

    ref: int
    total: int
    seq: int

    def __post_init__(self) -> None:
        if not (0 <= self.ref <= 0xFFFF and 1 <= self.seq <= self.total <= MAX_PARTS):
            raise ValueError(f"invalid concatenation ref={self.ref} {self.seq}/{self.total}")

    @classmethod
    def from_sar(cls, msg_ref_num: int, total_segments: int, segment_seqnum: int) -> Concat | None:
        """From the ``sar_msg_ref_num``/``sar_total_segments``/``sar_segment_seqnum`` TLVs.

        None when the values are out of range (then the part is treated as a whole message).
        """
        return _concat_or_none(msg_ref_num, total_segments, segment_seqnum)


def _concat_or_none(ref: int, total: int, seq: int) -> Concat | None:
    # TS 23.040 §9.2.3.24.1: a zero or out-of-range number means "ignore the element"
    if 0 <= ref <= 0xFFFF and 1 <= seq <= total <= MAX_PARTS:
        return Concat(ref, total, seq)
    return None


@dataclass(frozen=True, slots=True)
class DecodedText:
    """MO text, the reading used, and whether it was guessed or lost bytes.

    ``guessed``: the charset was inferred (data_coding 0 heuristics, 8-bit or unknown codings).
    ``lossy``: some octets could not be decoded faithfully (now U+FFFD or dropped), or the UDH
    was malformed.
    """

    text: str
    charset: Charset
    guessed: bool = False
    lossy: bool = False


_GSM7_GROUP = "gsm7"
_BINARY = "binary"
_DECLARED: dict[int, str] = {1: "ascii", 2: _BINARY, 4: _BINARY, 8: "ucs2"}
_SINGLE_BYTE: dict[int, Charset] = {3: "latin-1", 6: "iso8859-5", 7: "iso8859-8"}
_CONTROL_OCTETS = frozenset(range(0x20)) - {0x0A, 0x0D}
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")  # not tab, LF, FF, CR


def decode_mo(
    short_message: bytes,
    data_coding: int,
    esm_class: int = 0,
    *,
    default_alphabet: DefaultAlphabet = "auto",
) -> tuple[Concat | None, DecodedText]:
    """The concatenation header (if any) and the text of one ``deliver_sm`` or ``data_sm``.

    Pass ``short_message``, or the ``message_payload`` TLV when that carries the text.

    The UDH is read when ``esm_class & 0x40``: IEI 0x00 (8-bit reference) and 0x08 (16-bit) give
    the :class:`Concat`; other elements are skipped. Codings: 0 see below, 1 IA5, 3 latin-1,
    8 UTF-16BE, 6/7 ISO 8859-5/-8, the GSM DCS groups (0x10–0x3F, 0xC0–0xFF) by their alphabet
    bits; 8-bit data and unknown codings are read as UTF-8 when valid, else latin-1 (``guessed``).

    data_coding 0 with ``default_alphabet="auto"`` (deterministic):

    1. any octet above 0x7F: not septets, so UTF-8 when it decodes strictly, else latin-1;
    2. any C0 control other than LF/CR, or 0x7F: GSM-7 (``@ $ _ è é``… and the escape live there,
       plain text never holds them);
    3. otherwise the readings differ only on ``$ @ [ \\ ] ^ _ ` { | } ~`` (ASCII) versus
       ``¤ ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü`` (GSM); a GSM handset types ``@ $ _`` as control octets (rule 2),
       so octets here come from an SMSC sending ASCII: read ASCII (``guessed`` when it matters).

    ``"gsm7"`` or ``"latin-1"`` fixes the reading for an SMSC known to use it.

    For a concatenated part, a dangling escape at the end (GSM-7) or half a surrogate pair at an
    edge (UCS-2) is kept in ``text`` for :func:`join_parts` to mend across the boundary.
    """
    concat: Concat | None = None
    body = short_message
    udh_malformed = False
    if esm_class & ESM_UDHI:
        concat, body, udh_malformed = _split_udh(short_message)
    decoded = _decode_body(body, data_coding, default_alphabet, concatenated=concat is not None)
    if udh_malformed and not decoded.lossy:
        decoded = DecodedText(decoded.text, decoded.charset, decoded.guessed, lossy=True)
    return concat, decoded


def _split_udh(payload: bytes) -> tuple[Concat | None, bytes, bool]:
    if not payload or payload[0] + 1 > len(payload):
        return None, payload, True  # UDHI set without a header: keep every octet as text
    end = payload[0] + 1
    concat: Concat | None = None
    pos = 1
    while pos + 2 <= end:
        iei, length = payload[pos], payload[pos + 1]
        data = payload[pos + 2 : pos + 2 + length]
        if pos + 2 + length > end:
            return concat, payload[end:], True
        if iei == 0x00 and length == 3:
            concat = _concat_or_none(data[0], data[1], data[2])  # the last one wins (23.040)
        elif iei == 0x08 and length == 4:
            concat = _concat_or_none(int.from_bytes(data[:2], "big"), data[2], data[3])
        pos += 2 + length
    return concat, payload[end:], pos != end


def _alphabet(data_coding: int) -> str | None:
    """The alphabet a data_coding declares: SMPP 3.4 §5.2.19 values, then TS 23.038 groups."""
    if data_coding in _DECLARED:
        return _DECLARED[data_coding]
    group = data_coding & 0xF0
    if data_coding == 0 or (0x10 <= data_coding <= 0x3F and data_coding & 0x20 == 0):
        alphabet = (data_coding >> 2) & 0x03 if data_coding else 0
        return (_GSM7_GROUP, _BINARY, "ucs2", None)[alphabet]
    if group in (0xC0, 0xD0):
        return _GSM7_GROUP
    if group == 0xE0:
        return "ucs2"
    if group == 0xF0:
        return _BINARY if data_coding & 0x04 else _GSM7_GROUP
    return None


def _decode_body(
    body: bytes, data_coding: int, default_alphabet: DefaultAlphabet, *, concatenated: bool
) -> DecodedText:
    single_byte = _SINGLE_BYTE.get(data_coding)
    if single_byte is not None:
        text = body.decode(single_byte, "replace")  # ISO 8859-8 leaves some octets unassigned
        return DecodedText(_strip_controls(text), single_byte, lossy="\ufffd" in text)
    alphabet = _alphabet(data_coding)
    if alphabet == _GSM7_GROUP:
        chosen = default_alphabet if data_coding == DC_DEFAULT else "gsm7"
        return _decode_default(body, chosen, concatenated=concatenated)
    if alphabet == "ucs2":
        return _decode_ucs2(body, concatenated=concatenated)
    if alphabet == "ascii":
        if body.isascii():
            return DecodedText(_strip_controls(body.decode("ascii")), "ascii")
        return DecodedText(_strip_controls(body.decode("latin-1")), "latin-1", lossy=True)
    unknown = alphabet is None
    guess = _utf8_or_latin1(body)
    return DecodedText(guess.text, guess.charset, guessed=True, lossy=unknown or guess.lossy)


def _decode_default(body: bytes, alphabet: DefaultAlphabet, *, concatenated: bool) -> DecodedText:
    if alphabet == "latin-1":
        return DecodedText(_strip_controls(body.decode("latin-1")), "latin-1")
    if not body.isascii():
        guess = _utf8_or_latin1(body)
        return DecodedText(guess.text, guess.charset, guessed=True, lossy=guess.lossy)
    if alphabet == "gsm7" or any(octet in _CONTROL_OCTETS or octet == 0x7F for octet in body):
        return _gsm7_mo_text(body, concatenated=concatenated)
    as_gsm = _gsm7_decode_raw(body)
    as_ascii = body.decode("ascii")
    if as_gsm == as_ascii:
        return DecodedText(as_ascii, "gsm7")
    return DecodedText(as_ascii, "ascii", guessed=True)


def _gsm7_mo_text(body: bytes, *, concatenated: bool) -> DecodedText:
    text = _gsm7_decode_raw(body)
    if not _dangling_escape(body):
        return DecodedText(_resolve_escapes(text), "gsm7")
    if concatenated:  # the next part may hold the escaped character
        return DecodedText(_resolve_escapes(text[:-1]) + "\x1b", "gsm7")
    return DecodedText(_resolve_escapes(text[:-1]), "gsm7", lossy=True)


def _dangling_escape(body: bytes) -> bool:
    trailing = len(body) - len(body.rstrip(b"\x1b"))
    return trailing % 2 == 1  # ESC ESC pairs are complete; an odd run leaves one open


def _decode_ucs2(body: bytes, *, concatenated: bool) -> DecodedText:
    lossy = len(body) % 2 == 1
    if lossy:
        body = body[:-1]  # half a code unit: nothing to recover
    # valid pairs combine, lone halves remain for the checks below
    text = _strip_controls(body.decode("utf-16-be", "surrogatepass"))
    if _LONE_SURROGATE.search(text) is None:
        return DecodedText(text, "ucs2", lossy=lossy)
    head, middle, tail = _surrogate_edges(text, concatenated=concatenated)
    cleaned, count = _LONE_SURROGATE.subn("\ufffd", middle)
    return DecodedText(head + cleaned + tail, "ucs2", lossy=lossy or count > 0)


def _surrogate_edges(text: str, *, concatenated: bool) -> tuple[str, str, str]:
    """Split off a leading low / trailing high surrogate that a concatenated part may share."""
    if not concatenated:
        return "", text, ""
    head = text[0] if "\udc00" <= text[0] <= "\udfff" else ""
    rest = text[len(head) :]
    tail = rest[-1] if rest and "\ud800" <= rest[-1] <= "\udbff" else ""
    return head, rest[: len(rest) - len(tail)], tail


def _utf8_or_latin1(body: bytes) -> DecodedText:
    try:
        return DecodedText(_strip_controls(body.decode("utf-8")), "utf-8")
    except UnicodeDecodeError:
        return DecodedText(_strip_controls(body.decode("latin-1")), "latin-1")


def _strip_controls(text: str) -> str:
    """C0 controls and DEL carry nothing a person typed, and NUL cannot be stored in PostgreSQL.

    Tab, LF, CR and form feed stay: GSM-7 has the last three, so a handset can send them.
    """
    return _ASCII_CONTROLS.sub("", text)


def join_parts(texts: Iterable[str]) -> str:
    """Join decoded parts in order, mending an escape or surrogate pair cut between two parts.

    Anything still dangling after the join (its partner part is missing) is dropped (ESC) or
    becomes U+FFFD (surrogate), so the result is always clean text.
    """
    text = _resolve_escapes("".join(texts))
    if _LONE_SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
