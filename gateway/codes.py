"""Dossier codes ("mã hồ sơ", "số biên nhận"): the one grammar every channel reads.

A national dossier code is the handling agency's electronic identifier (QĐ 20/2020/QĐ-TTg),
the reception date and the agency's daily sequence number::

    000.00.22.H29-240101-0001        agency 000.00.22.H29, received 2024-01-01, number 0001
    38.98.H29-210519-0013            short (3-segment) agency seen in HCMC
    000.A0.01.H26-210212-9090        letters inside an agency segment
    000.00.06.H56-231027-03611       5-digit sequence (national portal fallback)

Citizens copy codes from paper receipts into phones, so :meth:`CodeGrammar.parse` is lenient
about *form* and strict about *content*:

- Text is folded first (:func:`fold`): compatibility forms (full-width digits) unified,
  diacritics stripped (``đ`` → ``D`` included, since a Telex keyboard turns ``dd`` into ``đ``),
  upper-cased, en/em dashes read as ``-``.
- ``. - , ; : / _`` and spaces are all separators; the canonical ones are re-inserted from the
  structure. Quotes, brackets and sentence punctuation around the code are ignored.
- The code is read from the right, where the structure is fixed: ``<level-1 letter><2 digits>
  <yymmdd><4 or 5 digits>``. Only in those digit slots are ``O`` read as ``0`` and ``I``/``L``
  as ``1`` (a lower-case ``l`` looks like ``1`` on paper); agency segments may hold letters,
  so nothing is repaired there.
- The agency part before the level-1 letter keeps the segments the citizen typed when they
  form 2 or 3 segments of 2-3 characters. Without usable separators a 7-character agency is
  read 3.2.2 (``0000022`` → ``000.00.22``) and a 4-character one 2.2 (``3898`` → ``38.98``);
  any other length is ambiguous and is *not* guessed (the lookup layer may still try the
  digits key, see below).
- The first agency segment must contain a digit. Every observed code starts with a numeric
  segment, and the rule stops a word typed before a short-form code (``MA 38 98 H29 ...``)
  from being read as an agency segment (``MA.38.98.H29``).
- The date must be a real calendar date (years 2000-2099) and, when ``today`` is given, not
  later than tomorrow (one day of slack for time zones). There is no check digit, so this is
  the only typo check the code itself offers.

A code is a locator, not a secret: nothing here tries to correct a code into a *different*
existing one.

Deployments with other numbering schemes (social-insurance ``03706/2026/07906``, provincial
hex ids ``TT250C8DDF4C1E``) configure them as regular expressions; they are matched against
the folded text (upper-case, unaccented, spaces removed) and the matched text is the
canonical form.

**Digits key.** The digits of a code in order (``000.00.22.H29-240101-0001`` →
``0000022292401010001``) is what a caller can key in on a telephone keypad. It drops the
letters and the segment boundaries, so keys **may collide across agencies** (``000.A0.01.H26``
and ``000.B0.01.H26``, or ``H29`` and ``G29``); inside one province's deployment collisions are
rare but possible. Resolving an ambiguous key is the lookup layer's job, never this module's.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "MAX_CODE_TEXT",
    "CodeGrammar",
    "DossierCode",
    "digits_key",
    "fold",
    "is_procedure_code",
    "parse_dossier_code",
    "strip_diacritics",
]

# Budget: a code, even spaced out and quoted, is far shorter; longer text is not one code.
MAX_CODE_TEXT = 120

# The canonical national form, as produced by the parser.
_NATIONAL = re.compile(
    r"(?P<agency>(?:[0-9A-Z]{2,3}\.){2,3}[A-Z][0-9]{2})-(?P<date>[0-9]{6})-(?P<seq>[0-9]{4,5})"
)
# National procedure (TTHC) codes: "1.000494", optionally followed by the agency.
_PROCEDURE = re.compile(r"[0-9]\.[0-9]{6}(?:\.(?:[0-9A-Z]{2,3}\.){2,3}[A-Z][0-9]{2})?")

_SEPARATORS = re.compile(r"[.\-,;:/_\s]+")
_INNER = re.compile(r"[0-9A-Z.\-,;:/_\s]+")
_SEGMENT = re.compile(r"[0-9A-Z]{2,3}")
_EDGE_JUNK = re.compile(r"^[^0-9A-Z]+|[^0-9A-Z]+$")
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))
_NOT_COMBINING = {"Đ": "D", "đ": "d", "Ð": "D", "ð": "d"}
# Confusable letters read as digits, only where the grammar wants a digit.
_DIGIT_SLOT = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DIGITS_AFTER_LEVEL1 = 2 + 6  # level-1 number and yymmdd, before the sequence


def strip_diacritics(text: str) -> str:
    """Vietnamese without its marks, case kept: ``"Hồ sơ Đất"`` → ``"Ho so Dat"``.

    Compatibility forms are unified too (NFKC), so full-width ``０１`` becomes ``01``.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(_NOT_COMBINING.get(ch, ch) for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def fold(text: str) -> str:
    """The form every comparison is made on: unaccented, upper-case, dashes unified."""
    return strip_diacritics(text).upper().translate(_DASHES)


def digits_key(text: str) -> str:
    """The ASCII digits of ``text`` in order (full-width digits count): the keypad form.

    For a parsed code prefer :attr:`DossierCode.digits_key`, which reflects the ``O``/``0``
    repairs made in digit slots. Keys may collide across agencies (see the module notes).
    """
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if "0" <= ch <= "9")


@dataclass(frozen=True, slots=True)
class DossierCode:
    """A dossier code in canonical form (national, or a configured other scheme)."""

    canonical: str

    def __str__(self) -> str:
        return self.canonical

    @property
    def digits_key(self) -> str:
        """``"0000022292401010001"`` for ``000.00.22.H29-240101-0001``; may collide."""
        return digits_key(self.canonical)

    @property
    def is_national(self) -> bool:
        """The national agency-date-sequence grammar, as opposed to a configured scheme."""
        return _NATIONAL.fullmatch(self.canonical) is not None


@dataclass(frozen=True, slots=True)
class _Tail:
    """The right-hand, fixed-shape part of a compact code, digit slots repaired."""

    agency_chars: str  # everything before the level-1 letter
    level1: str
    received: str
    sequence: str
    repairs: int


class CodeGrammar:
    """The national grammar plus a deployment's other schemes; immutable once built."""

    __slots__ = ("_other_schemes",)

    def __init__(self, other_schemes: Iterable[str | re.Pattern[str]] = ()) -> None:
        self._other_schemes = tuple(_compile_scheme(p) for p in other_schemes)

    @property
    def other_schemes(self) -> tuple[re.Pattern[str], ...]:
        return self._other_schemes

    def parse(self, text: str, *, today: date | None = None) -> DossierCode | None:
        """The code written in ``text`` (the whole text), or ``None`` when it is not one."""
        if len(text) > MAX_CODE_TEXT:
            return None
        folded = _EDGE_JUNK.sub("", fold(text))
        if not folded:
            return None
        national = _parse_national(folded, today)
        if national is not None:
            return DossierCode(national)
        compact = "".join(folded.split())
        for scheme in self._other_schemes:
            if scheme.fullmatch(compact):
                return DossierCode(compact)
        return None


def _compile_scheme(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern) if isinstance(pattern, str) else pattern
    except re.error as exc:
        raise ValueError(
            f"code scheme {pattern!r} is not a valid regular expression: {exc}"
        ) from exc
    if compiled.fullmatch(""):
        raise ValueError(f"code scheme {compiled.pattern!r} matches empty text")
    return compiled


def _parse_national(folded: str, today: date | None) -> str | None:
    if not _INNER.fullmatch(folded):
        return None
    chunks = [c for c in _SEPARATORS.split(folded) if c]
    compact = "".join(chunks)
    tails = [t for t in (_read_tail(compact, n) for n in (4, 5)) if t is not None]
    tails = [t for t in tails if _valid_date(t.received, today)]
    for tail in sorted(tails, key=lambda t: t.repairs):
        agency = _segment_agency(tail.agency_chars, _boundaries(chunks))
        if agency is not None:
            return f"{agency}.{tail.level1}-{tail.received}-{tail.sequence}"
    return None


def _read_tail(compact: str, seq_len: int) -> _Tail | None:
    letter_at = len(compact) - _DIGITS_AFTER_LEVEL1 - seq_len - 1
    if letter_at < 4 or not "A" <= compact[letter_at] <= "Z":
        return None
    raw_digits = compact[letter_at + 1 :]
    digits = raw_digits.translate(_DIGIT_SLOT)
    if not digits.isascii() or not digits.isdigit():
        return None
    return _Tail(
        agency_chars=compact[:letter_at],
        level1=compact[letter_at] + digits[:2],
        received=digits[2:8],
        sequence=digits[8:],
        repairs=sum(a != b for a, b in zip(raw_digits, digits, strict=True)),
    )


def _boundaries(chunks: list[str]) -> list[int]:
    """Offsets in the compact text where the citizen put a separator."""
    offsets, total = [], 0
    for chunk in chunks[:-1]:
        total += len(chunk)
        offsets.append(total)
    return offsets


def _segment_agency(chars: str, boundaries: list[int]) -> str | None:
    cuts = [0, *(b for b in boundaries if 0 < b < len(chars)), len(chars)]
    typed = [chars[a:b] for a, b in itertools.pairwise(cuts)]
    if len(typed) in (2, 3) and all(_SEGMENT.fullmatch(s) for s in typed):
        segments = typed
    elif len(chars) == 7:
        segments = [chars[:3], chars[3:5], chars[5:]]
    elif len(chars) == 4:
        segments = [chars[:2], chars[2:]]
    else:
        return None
    if not any(ch.isdigit() for ch in segments[0]):
        return None
    return ".".join(segments)


def _valid_date(yymmdd: str, today: date | None) -> bool:
    try:
        received = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return False
    return today is None or received <= today + timedelta(days=1)


_DEFAULT_GRAMMAR = CodeGrammar()


def parse_dossier_code(text: str, *, today: date | None = None) -> DossierCode | None:
    """Parse ``text`` with the national grammar only (no configured other schemes)."""
    return _DEFAULT_GRAMMAR.parse(text, today=today)


def is_procedure_code(text: str) -> bool:
    """True for a national procedure (TTHC) code such as ``1.000494.000.00.00.H29``.

    Citizens sometimes send the procedure's code from the portal instead of their dossier's;
    the channels answer that with a hint instead of "not found".
    """
    if len(text) > MAX_CODE_TEXT:
        return False
    folded = _EDGE_JUNK.sub("", fold(text))
    return _PROCEDURE.fullmatch(_SEPARATORS.sub(".", folded)) is not None
