"""The short-code grammar against what citizens actually type into phones."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.codes import CodeGrammar, DossierCode
from sms.commands import (
    MAX_TEXT,
    Command,
    CommandGrammar,
    Help,
    InvalidCode,
    Lookup,
    ProcedureCodeGiven,
    Subscribe,
    Unknown,
    Unsubscribe,
    UnsubscribeAll,
    parse_command,
    should_auto_reply,
)

TODAY = date(2025, 3, 14)
A = "000.00.22.H29-240101-0001"
B = "000.00.22.H29-240101-0002"
C = "38.98.H29-210519-0013"  # short agency, HCMC
D = "000.A0.01.H26-210212-9090"  # letter inside a segment, Hà Nội
E = "000.00.06.H56-231027-0361"  # Thanh Hóa
F = "000.00.06.H56-231027-03611"  # 5-digit sequence
HEX = "TT250C8DDF4C1E"  # Đồng Nai DOST one-stop
BHXH = "03706/2026/07906"  # social insurance

GRAMMAR = CommandGrammar(
    prefixes=["DOST"],
    codes=CodeGrammar([r"TT[0-9A-F]{12}", r"[0-9]{5}/[0-9]{4}/[0-9]{5}"]),
)


def look(*codes: str, factor: str | None = None, overflow: int = 0) -> Lookup:
    return Lookup(tuple(DossierCode(c) for c in codes), factor, overflow)


def sub(code: str, factor: str | None = None) -> Subscribe:
    return Subscribe(DossierCode(code), factor)


CASES: list[tuple[str, Command]] = [
    # --- lookup keywords, the way people type them -----------------------------------------
    (f"TRA {A}", look(A)),
    (f"tra {A.lower()}", look(A)),
    (f"Tra {A}", look(A)),  # auto-capitalisation
    (f"TC {A}", look(A)),
    ("tc 000 00 22 h29 240101 0001", look(A)),
    (f"HS {A}", look(A)),
    (f"Hs {A}", look(A)),
    (f"HOSO {A}", look(A)),
    (f"Hồ sơ {A}", look(A)),
    (f"ho so {A}", look(A)),
    (f"HỒ SƠ {A}", look(A)),
    (f"TRACUU {A}", look(A)),
    (f"TRA CUU {A}", look(A)),
    (f"tra cứu {A}", look(A)),
    (f"Tra cứu hồ sơ {A}", look(A)),
    (f"tra-cuu {A}", look(A)),
    (f"Tra:{A}", look(A)),
    (f"Tra: {A}", look(A)),
    (f"HS  {A}.", look(A)),
    (f"HS,{A}", look(A)),
    (f"MHS {A}", look(A)),
    (f"Mã hồ sơ: {A}", look(A)),
    (f"ma hs {A}", look(A)),
    (f"HS{A}", look(A)),  # glued, feature phone
    ("HS0000022H292401010001", look(A)),
    ("TRA0000022H292401010001", look(A)),
    ("hs.000.00.22.h29.240101.0001", look(A)),
    ("TRA CUU HO SO 000 00 22 H29 240101 0001", look(A)),
    (f"tra cuu ho so so {A}", look(A)),
    (f"Trá {A}", look(A)),  # Telex tone mark after "tras"
    (f"tra cưu {A}", look(A)),  # Telex "uw"
    (f"TRA\n{A}", look(A)),
    (f"TRA\t{A}", look(A)),
    (f"  TRA   {A}  ", look(A)),
    ("TRA 000.00.22.H29–240101–0001", look(A)),
    ("TRA 000,00,22,H29,240101,0001", look(A)),
    ("TRA 000/00/22/H29/240101/0001", look(A)),
    ("TRA 000_00_22_H29_240101_0001", look(A)),
    ("TRA ０００.００.２２.Ｈ２９-２４０１０１-０００１", look(A)),
    ("TRA 000.00.22.H29-24O1O1-OOO1", look(A)),
    ("TRA 000.00.22.H29-240101-000l", look(A)),
    ("HS 38.98.H29-210519-0013", look(C)),
    ("HS 3898H292105190013", look(C)),
    ("HS 38 98 H29 210519 0013", look(C)),
    (f"HS {D}", look(D)),
    (f"hs {D.lower()}", look(D)),
    (f"HS {F}", look(F)),
    (f"Hs {E}", look(E)),
    # --- a bare code, or a code inside free text -------------------------------------------
    (A, look(A)),
    ("0000022H292401010001", look(A)),
    ("000 00 22 H29 240101 0001", look(A)),
    (f"Ma ho so cua toi la {A}", look(A)),
    (f"cho hỏi hồ sơ {A} đến đâu rồi ạ", look(A)),
    (f"{A} 😀", look(A)),
    (f"🙏 {A}", look(A)),
    (f"Số biên nhận: {A}", look(A)),
    (f"TAR {A}", look(A)),  # keyword typo, the code still answers
    # --- the second factor -----------------------------------------------------------------
    (f"HS {A} 1234", look(A, factor="1234")),
    (f"HS {A}, 1234", look(A, factor="1234")),
    (f"HS {A} CCCD 1234", look(A, factor="1234")),
    (f"HS {A} cccd: 1234", look(A, factor="1234")),
    (f"HS {A} sdt 5678", look(A, factor="5678")),
    (f"HS {A} 1234.", look(A, factor="1234")),
    (f"HS {A} 12345", look(A)),  # not 4 digits
    (f"HS {A} 079123456789", look(A)),  # a whole CCCD is not taken
    (f"HS {A} 0912345678", look(A, factor="0912345678")),  # the dossier's whole phone
    (f"HS {A} SDT +84912345678", look(A, factor="84912345678")),
    (f"HS {A} 091234567", look(A)),  # 9 digits: neither
    (f"HS {A} 123", look(A)),
    (f"1234 {A}", look(A)),  # before the code: not a factor
    ("HS 0000022H292401010001 4321", look(A, factor="4321")),
    ("HS 000 00 22 H29 240101 0001 1234", look(A, factor="1234")),
    (f"HS {A} ０１２３", look(A, factor="0123")),
    # --- several codes ---------------------------------------------------------------------
    (f"HS {A} {B}", look(A, B)),
    (f"HS {A}, {B}", look(A, B)),
    (f"HS {A}; {B}; {C}", look(A, B, C)),
    (f"HS {A} {B} {C} {E}", look(A, B, C, overflow=1)),
    (f"HS {A} {B} {C} {D} {E}", look(A, B, C, overflow=2)),
    (f"HS {A} {A}", look(A)),
    (f"HS {A} 1234 {B} 5678", look(A, B, factor="1234")),
    (f"HS {A} 3898 H29 210519 0013", look(A, C)),  # a spaced code, not a factor
    (f"{A}\n{B}", look(A, B)),
    (f"HS {A} và {B}", look(A, B)),
    # --- help ------------------------------------------------------------------------------
    ("HD", Help()),
    ("hd", Help()),
    ("Hđ", Help()),  # Telex turned "dd" into "đ"
    ("HELP", Help()),
    ("help", Help()),
    ("?", Help()),
    ("??", Help()),
    ("", Help()),
    ("   ", Help()),
    ("Hướng dẫn", Help()),
    ("HD TRA", Help()),
    ("TRA", Help()),
    ("hs", Help()),
    ("Tra cứu", Help()),
    ("TRA CUU HO SO", Help()),
    ("TRA CUU HO SO CUA TOI", Help()),
    ("HS abc", Help()),
    ("HS 😀", Help()),
    ("DOST", Help()),
    (f"HD {A}", look(A)),  # H-D next to H-S: answer the code
    # --- prefix on a shared short code, other schemes --------------------------------------
    (f"DOST TC {A}", look(A)),
    (f"dost tc {A}", look(A)),
    (f"DOST TC {HEX}", look(HEX)),
    (f"TC {HEX.lower()}", look(HEX)),
    (f"DOST {A}", look(A)),
    (f"HS {BHXH}", look(BHXH)),
    # --- a procedure code sent by mistake --------------------------------------------------
    ("HS 1.000494.000.00.00.H29", ProcedureCodeGiven("1.000494.000.00.00.H29")),
    ("1.000494.000.00.00.H29", ProcedureCodeGiven("1.000494.000.00.00.H29")),
    ("TRA 1.000494", ProcedureCodeGiven("1.000494")),
    ("HS 1 000494 000 00 00 H29", ProcedureCodeGiven("1 000494 000 00 00 H29")),
    ("tra cuu thu tuc 1.000494.000.00.00.h29", ProcedureCodeGiven("1.000494.000.00.00.H29")),
    (f"HS 1.000494.000.00.00.H29 {A}", look(A)),
    # --- a keyword with a code that is not one ---------------------------------------------
    ("HS 12345", InvalidCode("12345")),
    ("TRA 000.00.22.H29-240101", InvalidCode("000.00.22.H29-240101")),
    ("HS 000.00.22.H29-991231-0001", InvalidCode("000.00.22.H29-991231-0001")),  # future
    ("HS 000.00.22.H29-241301-0001", InvalidCode("000.00.22.H29-241301-0001")),  # month 13
    ("HS 0909123456", InvalidCode("0909123456")),
    ("HS 000.00.22.H29-240101-001", InvalidCode("000.00.22.H29-240101-001")),
    ("hs ma so 0000022 H29", InvalidCode("0000022 H29")),
    # --- anything else ---------------------------------------------------------------------
    ("alo", Unknown()),
    ("Cảm ơn", Unknown()),
    ("ok", Unknown()),
    ("😀", Unknown()),
    ("👍👍", Unknown()),
    ("...", Unknown()),
    ("0909123456", Unknown()),
    ("toi muon hoi ve ho so", Unknown()),
    ("12345", Unknown()),
    # --- notifications ---------------------------------------------------------------------
    (f"DK {A}", sub(A)),
    (f"đk {A} 1234", sub(A, "1234")),
    (f"Đăng ký {A}", sub(A)),
    (f"DK{A}", sub(A)),
    (f"DK {A} {B}", sub(A)),  # one code per subscription
    ("DK", Help()),
    ("DK 1.000494", ProcedureCodeGiven("1.000494")),
    ("DK 99999", InvalidCode("99999")),
    ("HUY", UnsubscribeAll()),
    ("huy", UnsubscribeAll()),
    ("Hủy", UnsubscribeAll()),
    ("HUY DK", UnsubscribeAll()),
    ("huỷ đăng ký", UnsubscribeAll()),
    ("TU CHOI", UnsubscribeAll()),
    ("Từ chối", UnsubscribeAll()),
    (f"HUY {A}", Unsubscribe(DossierCode(A))),
    (f"HUY DK {A}", Unsubscribe(DossierCode(A))),
    ("HUY 12345", InvalidCode("12345")),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_citizen_inputs(text: str, expected: Command) -> None:
    assert GRAMMAR.parse(text, today=TODAY) == expected


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 100


def test_default_grammar_has_no_prefix_and_no_other_scheme() -> None:
    assert parse_command(f"DOST TC {A}") == look(A)  # the word is skipped, the code answers
    assert parse_command("DOST") == Unknown()
    assert parse_command(f"HS {HEX}") == InvalidCode(HEX)
    assert parse_command(f"HS {BHXH}") == InvalidCode(BHXH)


def test_future_codes_are_codes_without_a_clock() -> None:
    assert parse_command("HS 000.00.22.H29-991231-0001") == look("000.00.22.H29-991231-0001")


def test_cap_is_configurable() -> None:
    one = CommandGrammar(max_codes=1)
    assert one.parse(f"HS {A} {B} {C}") == look(A, overflow=2)


def test_multiword_prefix() -> None:
    grammar = CommandGrammar(prefixes=["So KH&CN", ""])
    assert grammar.parse(f"SO KHCN TC {A}") == look(A)
    assert grammar.parse("Sở KH&CN") == Help()


def test_input_is_cut_at_the_budget() -> None:
    assert parse_command("HS" + " " * MAX_TEXT + A) == Help()
    assert parse_command("HS " + A + " " * (10 * MAX_TEXT)) == look(A)


def test_bad_grammar_settings() -> None:
    with pytest.raises(ValueError, match="max_codes"):
        CommandGrammar(max_codes=0)
    with pytest.raises(ValueError, match="at least one code"):
        Lookup(())


def test_commands_are_values() -> None:
    assert look(A) == look(A)
    assert hash(Help()) == hash(Help())
    with pytest.raises(AttributeError):
        look(A).factor = "1234"  # type: ignore[misc]


# --- totality -------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "HS", "TRA", "tra cứu", "Hồ sơ", "HD", "?", "DK", "HUY", "DOST", "CCCD", "1234",
        "12345", A, B, C, D, F, HEX, BHXH, "000", "00", "22", "H29", "240101", "0001", "O",
        "1.000494", "😀", "đ", ",", ".", "-", "–", "\n", "", "ı", "ß", "ﷺ", "\u0301",
    ]
)  # fmt: skip


def _check(command: Command) -> None:
    assert isinstance(
        command,
        Lookup | Help | ProcedureCodeGiven | InvalidCode | Unknown | Subscribe | Unsubscribe
        | UnsubscribeAll,
    )  # fmt: skip
    if isinstance(command, Lookup):
        assert 1 <= len(command.codes) <= 3
        assert len(set(command.codes)) == len(command.codes)
        assert command.overflow >= 0
        for code in command.codes:
            assert GRAMMAR.parse(code.canonical, today=TODAY) == look(code.canonical)
    if isinstance(command, Lookup | Subscribe) and command.factor is not None:
        assert command.factor.isdigit()
        assert len(command.factor) == 4 or command.factor.startswith(("0", "84"))
    if isinstance(command, InvalidCode | ProcedureCodeGiven):
        assert len(command.text) <= 40


@given(st.text(max_size=1500))
def test_total_on_any_text(text: str) -> None:
    _check(GRAMMAR.parse(text, today=TODAY))
    _check(parse_command(text))


@given(st.lists(_WORDS, max_size=30), st.sampled_from([" ", "", ",", "  ", "\t"]))
def test_total_on_plausible_words(words: list[str], glue: str) -> None:
    _check(GRAMMAR.parse(glue.join(words), today=TODAY))


@given(st.sampled_from([A, B, C, D, E, F]), st.sampled_from(["HS", "tra cứu", "Tc", "", "DOST TC"]))
def test_every_code_after_every_keyword(code: str, keyword: str) -> None:
    assert GRAMMAR.parse(f"{keyword} {code}", today=TODAY) == look(code)


# --- loop protection ------------------------------------------------------------------------

OWN = {"8283", "84998283"}
SENDERS: list[tuple[str, bool]] = [
    ("84912345678", True),
    ("+84912345678", True),
    ("0912345678", True),
    ("  0912345678 ", True),
    ("1234567", True),
    ("8283", False),  # ourselves
    ("84998283", False),  # ourselves in long form
    ("+8283", False),
    ("1022", False),  # short codes are services
    ("848283", False),
    ("123456", False),
    ("VIETTEL", False),  # brand names
    ("VNPT-TB", False),
    ("DVC HCM", False),
    ("", False),
    ("+", False),
    ("1234567890123456", False),  # longer than E.164
    ("０９１２３４５６７８", False),
    ("09 1234 5678", False),
]


@pytest.mark.parametrize(("sender", "expected"), SENDERS)
def test_should_auto_reply(sender: str, expected: bool) -> None:
    assert should_auto_reply(sender, OWN) is expected


@given(st.text(max_size=40))
def test_should_auto_reply_is_total(sender: str) -> None:
    if should_auto_reply(sender, OWN):
        assert sender.strip().removeprefix("+").isdigit()
