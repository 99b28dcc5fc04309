"""The short-code grammar: one MO text in, one typed command out. Pure, total, bounded.

Syntax (every part diacritic-, case-, spacing- and punctuation-insensitive)::

    [prefix] [keyword] code [factor] [code [factor] ...]
    prefix   a deployment's agency prefix on a shared short code ("DOST TC <code>")
    keyword  lookup    TRA | TC | HS | HOSO | HO SO | TRACUU | TRA CUU | MHS | MA HO SO
             help      HD | HELP | HUONG DAN | TRO GIUP | ? | (empty message)
             subscribe DK | DANG KY
             cancel    HUY | HUY DK | HUY DANG KY | TU CHOI
    factor   right after a code, optionally labelled ("SDT 1234", "CCCD 1234"): 4 digits
             (the last 4 of the dossier's phone or of the CCCD) or a whole Vietnamese
             phone number (0xxxxxxxxx, 84xxxxxxxxx), as the lookup layer verifies both

Decisions (the grammar's written rules, each for a reason):

- Keywords may be glued to the code (``HS000.00.22.H29-240101-0001``, feature phones) or to
  punctuation (``Tra:``, ``tra-cuu``); "Hồ sơ", "tra cứu", "đk" fold to HOSO, TRACUU, DK.
- A bare code with no keyword is a lookup: most citizens paste the code from the receipt.
  Words around codes are skipped, so free text ("cho hoi ho so 000.00...") works too.
- Codes split by spaces or commas (``000 00 22 H29 240101 0001``) are re-joined: from each
  token holding a digit, the *shortest* run of tokens that reads as a code wins, so a digit
  typed after a complete code is never swallowed into its sequence number.
- Several codes: each distinct code is answered up to ``max_codes`` (default 3); the rest is
  counted in :attr:`Lookup.overflow` so the reply can say so. One factor serves the whole
  message (the first one given): a citizen's dossiers share the same CCCD and phone, and a
  factor that does not match a dossier only means less is shown, never more.
- A 4-digit group that itself starts a spaced code (``3898 H29 ...``) is read as the code,
  not as a factor. A full 12-digit CCCD is not a factor (its shape differs from a phone
  number's): the gateway does not take more personal data than it needs.
- ``HD`` followed by a valid code is a lookup: H-D and H-S are neighbours on a keyboard and
  the citizen's intent is plain.
- A keyword with nothing code-like after it (no digit at all: "TRA", "tra cuu ho so cua
  toi") is :class:`Help`: the citizen does not know the syntax. A keyword followed by digits
  that do not make a code is :class:`InvalidCode`; text with no keyword and no code is
  :class:`Unknown`. A national procedure code where a dossier code
  was expected is :class:`ProcedureCodeGiven`, so the reply can explain the difference.
- ``DK`` takes one code (the first). ``HUY`` with a code cancels that code; ``HUY`` with no
  digits at all ("HUY", "huy dang ky", "tu choi") cancels everything: an opt-out is honoured
  as generously as the words allow.
- Budget: the text is cut at ``max_text`` characters (1,000 by default, about six
  concatenated segments); every loop is bounded by the token count of that text.
  :meth:`CommandGrammar.parse` returns a command for any input and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from gateway.codes import MAX_CODE_TEXT, CodeGrammar, DossierCode, fold, is_procedure_code

__all__ = [
    "MAX_CODES",
    "MAX_TEXT",
    "Command",
    "CommandGrammar",
    "Help",
    "InvalidCode",
    "Lookup",
    "ProcedureCodeGiven",
    "Subscribe",
    "Unknown",
    "Unsubscribe",
    "UnsubscribeAll",
    "parse_command",
    "should_auto_reply",
]

MAX_TEXT = 1000  # characters of one MO text that are read at all
MAX_CODES = 3  # codes answered from one message
MAX_ECHO = 40  # characters of a rejected text kept for the reply
_MAX_CODE_TOKENS = 8  # a spaced-out code has at most 7 parts (3 agency, level-1, date, seq)
_MAX_KEYWORD_TOKENS = 3
_MAX_SHORT_CODE = 6  # digits: senders this short are services, not subscribers
_MAX_MSISDN = 15  # E.164


@dataclass(frozen=True, slots=True)
class Lookup:
    """Answer the status of each code (in order, duplicates removed)."""

    codes: tuple[DossierCode, ...]
    factor: str | None = None  # 4 digits or a phone number, checked against each dossier
    overflow: int = 0  # distinct codes found beyond the cap, not answered

    def __post_init__(self) -> None:
        if not self.codes:
            raise ValueError("a lookup needs at least one code")


@dataclass(frozen=True, slots=True)
class Help:
    """Send the usage text."""


@dataclass(frozen=True, slots=True)
class ProcedureCodeGiven:
    """The citizen sent a procedure (TTHC) code, not a dossier code."""

    text: str


@dataclass(frozen=True, slots=True)
class InvalidCode:
    """A keyword asked for a code, and what followed is not one (``text``, folded, capped)."""

    text: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """Neither a keyword nor a code: answer with the syntax."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Notify this number when the dossier's status changes."""

    code: DossierCode
    factor: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Stop notifications for one dossier."""

    code: DossierCode


@dataclass(frozen=True, slots=True)
class UnsubscribeAll:
    """Stop every notification to this number."""


Command = (
    Lookup
    | Help
    | ProcedureCodeGiven
    | InvalidCode
    | Unknown
    | Subscribe
    | Unsubscribe
    | UnsubscribeAll
)


class _Verb(Enum):
    LOOKUP = "lookup"
    HELP = "help"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"


# Keywords in their folded, punctuation-free, space-free form.
_KEYWORDS: dict[str, _Verb] = {
    **dict.fromkeys(
        ("TRA", "TC", "HS", "HOSO", "TRACUU", "MHS", "MAHS", "MAHOSO", "TRACUUHOSO"),
        _Verb.LOOKUP,
    ),
    **dict.fromkeys(("HD", "HELP", "HUONGDAN", "TROGIUP"), _Verb.HELP),
    **dict.fromkeys(("DK", "DANGKY"), _Verb.SUBSCRIBE),
    **dict.fromkeys(("HUY", "HUYDK", "HUYDANGKY", "TUCHOI"), _Verb.UNSUBSCRIBE),
}
# Words that may sit between a keyword and the code ("TRA CUU HO SO MA SO ...").
_FILLERS = frozenset({"TRACUU", "TRA", "HOSO", "HS", "MA", "SO", "MAHOSO", "BIENNHAN"})
_FACTOR_LABELS = frozenset({"CCCD", "CMND", "CC", "SDT", "DT", "DIENTHOAI"})

_TOKEN_SPLIT = re.compile(r"[\s,;:]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")
_EDGE_PUNCT = re.compile(r"^[^0-9A-Z]+|[^0-9A-Z]+$")
_FACTOR = re.compile(r"[0-9]{4}|0[0-9]{9,10}|84[0-9]{9,10}")
_GLUED_KEYWORD = re.compile(
    "^(" + "|".join(sorted(_KEYWORDS, key=len, reverse=True)) + r")[.\-_/]*(?=[0-9])"
)


def _alnum(token: str) -> str:
    return _NOT_ALNUM.sub("", token)


def _has_digit(token: str) -> bool:
    return any("0" <= ch <= "9" for ch in token)


def _match_words(tokens: Sequence[str], words: Collection[str]) -> int:
    """How many leading tokens spell one of ``words`` (0 if none); longest match wins."""
    for n in range(min(_MAX_KEYWORD_TOKENS, len(tokens)), 0, -1):
        head = tokens[:n]
        if any(_has_digit(t) for t in head):
            continue
        joined = "".join(_alnum(t) for t in head)
        if joined and joined in words:
            return n
    return 0


def _procedure_at(tokens: list[str], start: int) -> str | None:
    """The longest run of tokens from ``start`` that reads as a procedure code."""
    stop = min(len(tokens), start + _MAX_CODE_TOKENS)
    for end in range(stop, start, -1):
        candidate = " ".join(tokens[start:end])
        if is_procedure_code(candidate):
            return candidate
    return None


@dataclass(slots=True)
class _Findings:
    codes: list[DossierCode]
    factor: str | None = None
    procedure: str | None = None


class CommandGrammar:
    """The MO grammar of one deployment; immutable once built, safe to share."""

    __slots__ = ("_codes", "_max_codes", "_max_text", "_prefixes")

    def __init__(
        self,
        *,
        codes: CodeGrammar | None = None,
        prefixes: Iterable[str] = (),
        max_codes: int = MAX_CODES,
        max_text: int = MAX_TEXT,
    ) -> None:
        if max_codes < 1 or max_text < 1:
            raise ValueError("max_codes and max_text must be at least 1")
        self._codes = codes if codes is not None else CodeGrammar()
        self._prefixes = frozenset(p for p in (_alnum(fold(x)) for x in prefixes) if p)
        self._max_codes = max_codes
        self._max_text = max_text

    def parse(self, text: str, *, today: date | None = None) -> Command:
        """The command in one MO text. Total: any string gives a command."""
        folded = fold(text[: self._max_text])
        tokens = [t for t in _TOKEN_SPLIT.split(folded) if t]
        if not any(_alnum(t) for t in tokens):
            return Help() if not tokens or "?" in folded else Unknown()
        tokens = tokens[_match_words(tokens, self._prefixes) :]
        if not tokens:
            return Help()
        verb, rest = self._split_keyword(tokens)
        if verb is not None:
            rest = self._skip_fillers(rest)
        findings = self._scan(rest, today)
        return self._decide(verb, rest, findings)

    def _split_keyword(self, tokens: list[str]) -> tuple[_Verb | None, list[str]]:
        n = _match_words(tokens, _KEYWORDS)
        if n:
            return _KEYWORDS["".join(_alnum(t) for t in tokens[:n])], tokens[n:]
        glued = _GLUED_KEYWORD.match(tokens[0])
        if glued and self._codes.parse(tokens[0]) is None:
            remainder = tokens[0][glued.end() :]
            return _KEYWORDS[glued.group(1)], [remainder, *tokens[1:]]
        return None, tokens

    @staticmethod
    def _skip_fillers(tokens: list[str]) -> list[str]:
        while n := _match_words(tokens, _FILLERS):
            tokens = tokens[n:]
        return tokens

    def _scan(self, tokens: list[str], today: date | None) -> _Findings:
        found = _Findings(codes=[])
        i = 0
        while i < len(tokens):
            if not _has_digit(tokens[i]):
                i += 1
                continue
            code, end = self._code_at(tokens, i, today)
            if code is None:
                found.procedure = found.procedure or _procedure_at(tokens, i)
                i += 1
                continue
            if code not in found.codes:
                found.codes.append(code)
            i = self._take_factor(tokens, end, found, today)
        return found

    def _code_at(
        self, tokens: list[str], start: int, today: date | None
    ) -> tuple[DossierCode | None, int]:
        """The shortest run of tokens from ``start`` that reads as a code, and its end."""
        stop = min(len(tokens), start + _MAX_CODE_TOKENS)
        for end in range(start + 1, stop + 1):
            candidate = " ".join(tokens[start:end])
            if len(candidate) > MAX_CODE_TEXT:
                break
            code = self._codes.parse(candidate, today=today)
            if code is not None:
                return code, end
        return None, start + 1

    def _take_factor(self, tokens: list[str], at: int, found: _Findings, today: date | None) -> int:
        """Read an optional factor after a code; return where scanning goes on."""
        after = at + (1 if at < len(tokens) and _alnum(tokens[at]) in _FACTOR_LABELS else 0)
        if after >= len(tokens) or not _FACTOR.fullmatch(_EDGE_PUNCT.sub("", tokens[after])):
            return at
        if self._code_at(tokens, after, today)[0] is not None:
            return at  # "3898 H29 ..." starts the next code
        if found.factor is None:
            found.factor = _EDGE_PUNCT.sub("", tokens[after])
        return after + 1

    def _decide(self, verb: _Verb | None, rest: list[str], found: _Findings) -> Command:
        codes = tuple(found.codes)
        if codes:
            return self._with_codes(verb, codes, found.factor)
        if verb is _Verb.UNSUBSCRIBE and not any(_has_digit(t) for t in rest):
            return UnsubscribeAll()
        if found.procedure is not None:
            return ProcedureCodeGiven(found.procedure[:MAX_ECHO])
        if verb is None:
            return Unknown()
        if verb is _Verb.HELP or not any(_has_digit(t) for t in rest):
            return Help()
        return InvalidCode(" ".join(rest)[:MAX_ECHO])

    def _with_codes(
        self, verb: _Verb | None, codes: tuple[DossierCode, ...], factor: str | None
    ) -> Command:
        if verb is _Verb.SUBSCRIBE:
            return Subscribe(codes[0], factor)
        if verb is _Verb.UNSUBSCRIBE:
            return Unsubscribe(codes[0])
        kept = codes[: self._max_codes]
        return Lookup(kept, factor, overflow=len(codes) - len(kept))


_DEFAULT_GRAMMAR = CommandGrammar()


def parse_command(text: str, *, today: date | None = None) -> Command:
    """Parse with the default grammar: national codes only, no prefix, 3 codes per message."""
    return _DEFAULT_GRAMMAR.parse(text, today=today)


def should_auto_reply(sender: str, short_codes: Collection[str]) -> bool:
    """Whether an MO from ``sender`` may get an automatic reply (loop protection).

    Only subscriber numbers are answered. An alphanumeric sender (a brand name), a short code
    (6 digits or fewer: another service, possibly an auto-responder) or one of our own short
    codes could answer back, and two automatic responders would bounce messages forever.
    """
    number = sender.strip().removeprefix("+")
    if not number.isascii() or not number.isdigit():
        return False
    if not _MAX_SHORT_CODE < len(number) <= _MAX_MSISDN:
        return False
    own = {code.strip().removeprefix("+") for code in short_codes}
    return number not in own
