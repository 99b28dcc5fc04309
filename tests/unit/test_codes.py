"""The dossier code grammar: what citizens type, what the parser makes of it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.codes import (
    MAX_CODE_TEXT,
    CodeGrammar,
    DossierCode,
    digits_key,
    fold,
    is_procedure_code,
    parse_dossier_code,
    strip_diacritics,
)

TODAY = date(2025, 3, 14)
CANON = "000.00.22.H29-240101-0001"

# (what the citizen typed, canonical code or None)
CASES: list[tuple[str, str | None]] = [
    # canonical and its copy-paste variants
    (CANON, CANON),
    ("000.00.06.H56-231027-0361", "000.00.06.H56-231027-0361"),
    ("000.17.22.H56-210531-0001", "000.17.22.H56-210531-0001"),
    ("  000.00.22.H29-240101-0001  ", CANON),
    ("000.00.22.H29-240101-0001.", CANON),
    ('"000.00.22.H29-240101-0001"', CANON),
    ("(000.00.22.H29-240101-0001)", CANON),
    ("000.00.22.h29-240101-0001", CANON),
    # separators: spaces, commas, slashes, underscores, semicolons, colons, repeats
    ("000 00 22 H29 240101 0001", CANON),
    ("000  00  22  H29  240101  0001", CANON),
    ("000,00,22,H29,240101,0001", CANON),
    ("000/00/22/H29/240101/0001", CANON),
    ("000_00_22_H29_240101_0001", CANON),
    ("000;00;22;H29;240101;0001", CANON),
    ("000:00:22:H29:240101:0001", CANON),
    ("000.00.22.H29 - 240101 - 0001", CANON),
    ("000..00..22..H29--240101--0001", CANON),
    ("000. 00. 22. H29-240101-0001", CANON),
    ("000.00.22.H29/240101/0001", CANON),
    ("000.00.22.H29.240101.0001", CANON),
    ("000-00-22-H29-240101-0001", CANON),
    ("000.00.22.H29 240101 0001", CANON),
    ("000.00.22 H29-2401 01-0001", CANON),
    # typography: en/em dashes, minus sign, full-width digits, non-breaking spaces
    ("000.00.22.H29–240101–0001", CANON),
    ("000.00.22.H29—240101—0001", CANON),
    ("000.00.22.H29−240101−0001", CANON),
    ("０００.００.２２.Ｈ２９-２４０１０１-０００１", CANON),
    ("000\u00a000\u00a022\u00a0H29\u00a0240101\u00a00001", CANON),
    # no separators at all (feature phones)
    ("0000022H292401010001", CANON),
    ("0000022h292401010001", CANON),
    ("0000022H29-240101-0001", CANON),
    ("000.00.22.H292401010001", CANON),
    # short (3-segment) agency
    ("38.98.H29-210519-0013", "38.98.H29-210519-0013"),
    ("38 98 H29 210519 0013", "38.98.H29-210519-0013"),
    ("3898H292105190013", "38.98.H29-210519-0013"),
    ("38.98.h29.210519.0013", "38.98.H29-210519-0013"),
    # letters inside agency segments are kept as typed
    ("000.A0.01.H26-210212-9090", "000.A0.01.H26-210212-9090"),
    ("000.a0.01.h26-210212-9090", "000.A0.01.H26-210212-9090"),
    ("000A001H262102129090", "000.A0.01.H26-210212-9090"),
    ("000 A0 01 H26 210212 9090", "000.A0.01.H26-210212-9090"),
    # the segments a citizen typed win over the length rule when they are valid
    ("00.000.22.H29-240101-0001", "00.000.22.H29-240101-0001"),
    ("00.00.22.H29-240101-0001", "00.00.22.H29-240101-0001"),
    ("000.000.22.H29-240101-0001", "000.000.22.H29-240101-0001"),
    # ...and the length rule mends segments typed wrongly
    ("0000.022.H29-240101-0001", CANON),
    ("00000.22.H29-240101-0001", CANON),
    # 5-digit sequence (national portal fallback)
    ("000.00.06.H56-231027-03611", "000.00.06.H56-231027-03611"),
    ("0000006H5623102703611", "000.00.06.H56-231027-03611"),
    ("38.98.H29-210519-12345", "38.98.H29-210519-12345"),
    # O/0 and I/1 (and l/1) confusion, repaired only in digit slots
    ("000.00.22.H29-24O1O1-OOO1", CANON),
    ("000.00.22.H29-240101-000l", CANON),
    ("000.00.22.H29-240101-000I", CANON),
    ("000.00.22.HO1-240101-0001", "000.00.22.H01-240101-0001"),
    ("000.00.22.H29-2401O1-0001", CANON),
    ("OOO.OO.22.H29-240101-0001", None),  # agency slots are not digit slots
    ("000.O0.22.H29-240101-0001", "000.O0.22.H29-240101-0001"),  # letters allowed there
    # diacritics and Telex artefacts around or inside
    ("000.00.22.Hà29-240101-0001", None),  # a letter too many, even unaccented
    ("000.00.22.Ĥ29-240101-0001", CANON),
    # dates: real, not in the future (one day of slack)
    ("000.00.22.H29-250314-0001", "000.00.22.H29-250314-0001"),
    ("000.00.22.H29-250228-9999", "000.00.22.H29-250228-9999"),
    ("000.00.22.H29-250229-0001", None),
    ("000.00.22.H29-250315-0001", "000.00.22.H29-250315-0001"),
    ("000.00.22.H29-250316-0001", None),
    ("000.00.22.H29-991231-0001", None),
    ("000.00.22.H29-241301-0001", None),
    ("000.00.22.H29-240230-0001", None),
    ("000.00.22.H29-240229-0001", "000.00.22.H29-240229-0001"),
    ("000.00.22.H29-230229-0001", None),
    ("000.00.22.H29-240100-0001", None),
    ("000.00.22.H29-000101-0001", "000.00.22.H29-000101-0001"),
    # structure errors
    ("000.00.22.H29-240101-001", None),  # 3-digit sequence
    ("000.00.22.H29-240101-000001", None),  # 6-digit sequence
    ("000.00.22.H29-24011-0001", None),  # 5-digit date
    ("000.00.22.29-240101-0001", None),  # no level-1 letter
    ("000.00.22.HH29-240101-0001", None),
    ("000.00.22.H2-240101-0001", None),
    ("00000022H292401010001", None),  # 8-character agency: ambiguous, not guessed
    ("000022H292401010001", None),  # 6-character agency
    ("0.0.22.H29-240101-0001", "00.22.H29-240101-0001"),  # bad segments: length rule
    ("0.00.22.H29-240101-0001", None),  # a dropped zero is not guessed back
    ("0000.0000.H29-240101-0001", None),  # 8 characters, bad typed segments
    ("000.00.22.00.H29-240101-0001", None),  # 4 agency segments
    ("MA.38.98.H29-210519-0013", None),  # a word is not the first agency segment
    ("HS 38 98 H29 210519 0013", None),
    ("H29-240101-0001", None),
    ("240101-0001", None),
    ("000.00.22.H29", None),
    ("000.00.22.H29-240101-0001 1234", None),  # a code plus something else
    ("000.00.22.H29#240101#0001", None),  # '#' is not a separator
    ("000.00.22.H29-240101-0001-0002", None),
    ("1.000494.000.00.00.H29", None),  # procedure code
    ("03706/2026/07906", None),  # other scheme, not configured
    ("TT250C8DDF4C1E", None),
    ("", None),
    ("   ", None),
    ("-", None),
    ("HS", None),
    ("😀", None),
    ("000.00.22.H29-240101-0001😀", CANON),  # trailing emoji is punctuation around it
    ("0" * 40, None),
    ("Ω000.00.22.H29-240101-0001", CANON),  # foreign symbols around are punctuation
    ("000.00.22.Ω29-240101-0001", None),
]


@pytest.mark.parametrize(("typed", "canonical"), CASES)
def test_parse_table(typed: str, canonical: str | None) -> None:
    code = parse_dossier_code(typed, today=TODAY)
    assert (code.canonical if code else None) == canonical


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 100


def test_future_check_only_with_today() -> None:
    future = "000.00.22.H29-991231-0001"
    assert parse_dossier_code(future) == DossierCode(future)
    assert parse_dossier_code(future, today=TODAY) is None


def test_one_day_of_slack_for_time_zones() -> None:
    today = date(2024, 12, 31)
    assert parse_dossier_code("000.00.22.H29-250101-0001", today=today) is not None
    assert parse_dossier_code("000.00.22.H29-250102-0001", today=today) is None


def test_digits_key() -> None:
    code = parse_dossier_code(CANON)
    assert code is not None
    assert code.digits_key == "0000022292401010001"
    assert digits_key(CANON) == "0000022292401010001"
    assert digits_key("０１2 # *3") == "0123"
    assert digits_key("") == ""


def test_digits_key_reflects_digit_slot_repairs() -> None:
    code = parse_dossier_code("000.00.22.H29-24O1O1-OOO1")
    assert code is not None
    assert code.digits_key == "0000022292401010001"


def test_digits_keys_collide_across_agencies() -> None:
    # Documented: the keypad form drops letters, so two agencies can share a key.
    a = parse_dossier_code("000.A0.01.H26-210212-9090")
    b = parse_dossier_code("000.B0.01.H26-210212-9090")
    c = parse_dossier_code("000.A0.01.G26-210212-9090")
    assert a is not None and b is not None and c is not None
    assert a != b != c
    assert a.digits_key == b.digits_key == c.digits_key


def test_code_value_semantics() -> None:
    code = DossierCode(CANON)
    assert str(code) == CANON
    assert code == parse_dossier_code("0000022H292401010001")
    assert hash(code) == hash(DossierCode(CANON))
    assert code.is_national
    assert not DossierCode("03706/2026/07906").is_national
    with pytest.raises(AttributeError):
        code.canonical = "x"  # type: ignore[misc]


PROCEDURES: list[tuple[str, bool]] = [
    ("1.000494.000.00.00.H29", True),
    ("1.000494", True),
    ("2.002154", True),
    ("1.000494.000.00.00.h29", True),
    ("1 000494 000 00 00 H29", True),
    ("1.000494.000.00.00.H29.", True),
    ("1,000494", True),
    ("1.000494.38.98.H29", True),
    ("1.00494", False),
    ("10.000494", False),
    ("1000494", False),
    ("1.000494.000.00.00", False),
    (CANON, False),
    ("", False),
    ("TRA 1.000494", False),
]


@pytest.mark.parametrize(("typed", "expected"), PROCEDURES)
def test_procedure_codes(typed: str, expected: bool) -> None:
    assert is_procedure_code(typed) is expected


def test_other_schemes() -> None:
    grammar = CodeGrammar([r"[0-9]{5}/[0-9]{4}/[0-9]{5}", re.compile(r"TT[0-9A-F]{12}")])
    assert grammar.parse("03706/2026/07906") == DossierCode("03706/2026/07906")
    assert grammar.parse(" 03706 / 2026 / 07906 ") == DossierCode("03706/2026/07906")
    assert grammar.parse("tt250c8ddf4c1e") == DossierCode("TT250C8DDF4C1E")
    assert grammar.parse("TT250C8DDF4C1G") is None
    assert grammar.parse("x03706/2026/07906") is None  # whole text, not a search
    # the national grammar still comes first
    assert grammar.parse("0000022H292401010001") == DossierCode(CANON)
    assert len(grammar.other_schemes) == 2


def test_default_grammar_knows_no_other_scheme() -> None:
    assert parse_dossier_code("03706/2026/07906") is None


@pytest.mark.parametrize("pattern", ["[0-9", "(?P<x>", "A*", ""])
def test_bad_scheme_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="code scheme"):
        CodeGrammar([pattern])


def test_long_text_is_not_a_code() -> None:
    padded = " " * MAX_CODE_TEXT + CANON
    assert parse_dossier_code(padded) is None
    assert not is_procedure_code(" " * MAX_CODE_TEXT + "1.000494")


def test_folding() -> None:
    assert strip_diacritics("Hồ sơ Đất đai") == "Ho so Dat dai"
    assert strip_diacritics("Ðăng ký") == "Dang ky"
    assert fold("tra cứu – hồ sơ") == "TRA CUU - HO SO"
    assert fold("ĐK") == "DK"
    assert strip_diacritics("plain ascii") == "plain ascii"


# --- properties -------------------------------------------------------------------------------

_SEG = st.text(alphabet="0123456789", min_size=2, max_size=3) | st.sampled_from(["A0", "B1"])


@st.composite
def national_codes(draw: st.DrawFn) -> str:
    short = draw(st.booleans())
    first = draw(st.text(alphabet="0123456789", min_size=2, max_size=3))
    rest = draw(st.lists(_SEG, min_size=1 if short else 2, max_size=1 if short else 2))
    level1 = draw(st.sampled_from("HGAB")) + draw(st.text("0123456789", min_size=2, max_size=2))
    received = draw(st.dates(date(2000, 1, 1), TODAY))
    seq = draw(st.text(alphabet="0123456789", min_size=4, max_size=5))
    agency = ".".join([first, *rest, level1])
    return f"{agency}-{received:%y%m%d}-{seq}"


@given(national_codes())
def test_canonical_codes_parse_to_themselves(canonical: str) -> None:
    code = parse_dossier_code(canonical, today=TODAY)
    assert code == DossierCode(canonical)
    assert code.digits_key == digits_key(canonical)


@given(national_codes(), st.sampled_from([" ", ",", "/", "_", " - ", "–", ". "]), st.booleans())
def test_respaced_codes_parse_to_the_same_code(canonical: str, sep: str, lower: bool) -> None:
    typed = re.sub(r"[.\-]", sep, canonical)
    typed = typed.lower() if lower else typed
    assert parse_dossier_code(typed, today=TODAY) == DossierCode(canonical)


@given(national_codes())
def test_separator_less_codes_parse_by_the_length_rule(canonical: str) -> None:
    agency, tail = canonical.rsplit(".", 1)
    glued = agency.replace(".", "")
    compact = glued + tail.replace("-", "")
    if len(glued) == 7:
        expected: DossierCode | None = DossierCode(f"{glued[:3]}.{glued[3:5]}.{glued[5:]}.{tail}")
    elif len(glued) == 4:
        expected = DossierCode(f"{glued[:2]}.{glued[2:]}.{tail}")
    else:
        expected = None  # ambiguous: left to the digits key
    assert parse_dossier_code(compact, today=TODAY) == expected


@given(st.text(max_size=200), st.none() | st.dates())
def test_parse_is_total(text: str, today: date | None) -> None:
    code = parse_dossier_code(text, today=today)
    if code is not None:
        assert parse_dossier_code(code.canonical, today=today) == code
        assert code.is_national
        if today is not None:
            received = code.canonical.split("-")[1]
            year, month, day = int(received[:2]), int(received[2:4]), int(received[4:])
            assert date(2000 + year, month, day) <= today + timedelta(days=1)
    is_procedure_code(text)
    digits_key(text)


@given(st.text(alphabet="0123456789ABHOIL.- ,/_", max_size=40))
def test_parse_is_total_on_code_like_text(text: str) -> None:
    code = parse_dossier_code(text)
    if code is not None:
        assert re.fullmatch(r"(?:[0-9A-Z]{2,3}\.){2,3}[A-Z][0-9]{2}-[0-9]{6}-[0-9]{4,5}", str(code))
