"""SMS text: GSM 03.38 tables, folding, reply segmentation, MO decoding.

Figures in the table tests come from reference/sms_anchors.md and libs.md (smpplib's output for
the same texts) and from TS 23.038/23.040.
"""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from sms.reassembly import MoPart, Reassembler
from sms.text import (
    GSM7_PART_SEPTETS,
    GSM7_SINGLE_SEPTETS,
    SUBSTITUTE,
    UCS2_SINGLE_OCTETS,
    Concat,
    DecodedText,
    Encoding,
    Folded,
    ReferenceCounter,
    Segmented,
    decode_mo,
    encode_reply,
    fold_to_gsm7,
    gsm7_decode,
    gsm7_encodable,
    gsm7_encode,
    gsm7_septets,
    join_parts,
)

PROPERTIES = settings(
    database=DirectoryBasedExampleDatabase(
        str(Path(__file__).resolve().parents[2] / ".cache" / "hypothesis")
    ),
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REPLY_118 = (
    "Hồ sơ 000.00.12.H12‑240101‑0001: Đã tiếp nhận, đang xử lý. "
    "Hẹn trả kết quả ngày 15/01/2024. Tra cứu: dichvucong.gov.vn"
)
REPLY_45 = "Hồ sơ 000.00.22.H29-240101-0001 đã có kết quả"
POLICIES: tuple[Encoding, ...] = ("fold", "unicode", "fit")

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
VIETNAMESE_BASES = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # huyền hỏi ngã sắc nặng
VIETNAMESE_LETTERS = sorted(
    {
        unicodedata.normalize("NFC", base + tone)
        for letter in VIETNAMESE_BASES
        for base in (letter, letter.upper())
        for tone in TONES
    }
    | set("đĐ")
)


# --- GSM 03.38 tables --------------------------------------------------------------------------


def test_basic_table_round_trips_every_septet_except_escape() -> None:
    assert len(GSM_BASIC) == 128
    septets = bytes(i for i in range(128) if i != 0x1B)
    text = gsm7_decode(septets)
    assert text == GSM_BASIC.replace("\x1b", "")
    assert gsm7_encode(text) == septets


def test_section_sign_is_0x5f_and_backtick_is_not_gsm() -> None:
    # smpplib's table has a backtick where § belongs
    assert gsm7_encode("§") == b"\x5f"
    assert not gsm7_encodable("`")


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\f", 0x0A),
        ("^", 0x14),
        ("{", 0x28),
        ("}", 0x29),
        ("\\", 0x2F),
        ("[", 0x3C),
        ("~", 0x3D),
        ("]", 0x3E),
        ("|", 0x40),
        ("€", 0x65),
    ],
)
def test_extension_characters_are_escape_pairs(char: str, code: int) -> None:
    assert gsm7_encode(char) == bytes((0x1B, code))
    assert gsm7_septets(char) == 2
    assert gsm7_decode(bytes((0x1B, code))) == char


@pytest.mark.parametrize(
    ("septets", "text"),
    [
        (b"\x1b\x41", "A"),  # escape before a code the extension lacks: the basic character
        (b"\x1b\x1bx", " x"),  # ESC ESC is shown as a space
        (b"ab\x1b", "ab"),  # a trailing lone escape is dropped
        (b"a\x80b", "a\ufffdb"),  # not a septet
        (b"\x00\x02\x11", "@$_"),
    ],
)
def test_gsm7_decode_follows_23038_for_odd_input(septets: bytes, text: str) -> None:
    assert gsm7_decode(septets) == text


@pytest.mark.parametrize(
    ("text", "encodable"),
    [
        ("Ha Noi", True),
        ("Hà", True),
        ("É è é ì ò ù", True),
        ("Hồ", False),
        ("e\u0301", False),
        ("`", False),
        ("ç", False),
        ("Ç", True),
        ("\x1b", False),
    ],
)
def test_gsm7_encodable(text: str, encodable: bool) -> None:
    assert gsm7_encodable(text) is encodable


def test_gsm7_septets_counts_escapes_twice_and_rejects_others() -> None:
    assert gsm7_septets("a€[b]") == 8
    assert gsm7_septets("") == 0
    with pytest.raises(ValueError, match="not GSM"):
        gsm7_septets("ồ")
    with pytest.raises(ValueError, match="not GSM"):
        gsm7_encode("ă")


# --- folding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        (REPLY_45, "Ho so 000.00.22.H29-240101-0001 da co ket qua"),
        ("ĐẶNG VĂN ĐỨC", "DANG VAN DUC"),
        ("Hà Nội", "Ha Noi"),  # à is GSM, but a reply reads uniformly unaccented
        ("Ðồng Nai", "Dong Nai"),  # Icelandic eth typed for Đ
        ("e\u0301 o\u031b\u0300", "e o"),  # decomposed input
        ("“Hồ sơ” ‘A’ «B»", '"Ho so" \'A\' "B"'),
        ("a–b—c‐d−e", "a-b-c-d-e"),
        ("Xem thêm…", "Xem them..."),
        ("100.000₫", "100.000d"),
        ("a\u00a0b\u202fc\u2009d\te", "a b c d e"),
        ("a\u200bb\u200dc\ufeffd\u00ade", "abcde"),  # invisible format characters
        ("ＴＲＡ　１２３", "TRA 123"),  # fullwidth
        ("ﬁle ½ №5", "file 1/2 No5"),
        ("€ [x] {y} ~ ^ | \\", "€ [x] {y} ~ ^ | \\"),  # GSM extension kept
        ("ΔΦΓ Øß", "ΔΦΓ Øß"),
    ],
)
def test_fold_table(text: str, folded: str) -> None:
    result = fold_to_gsm7(text)
    assert result.text == folded
    assert result.replaced == ()


def test_every_vietnamese_letter_folds_to_one_ascii_letter() -> None:
    assert len(VIETNAMESE_LETTERS) == 12 * 2 * 6 + 2
    for letter in VIETNAMESE_LETTERS:
        folded = fold_to_gsm7(letter).text
        assert len(folded) == 1, letter
        assert folded.isascii(), letter
        assert folded.isalpha(), letter
        assert folded.isupper() == letter.isupper(), letter


@pytest.mark.parametrize(
    ("text", "folded", "replaced"),
    [
        ("Cảm ơn 🙏", f"Cam on {SUBSTITUTE}", ("🙏",)),
        ("👍🏽 ok", f"{SUBSTITUTE} ok", ("👍",)),  # the skin tone goes with its emoji
        ("❤️", SUBSTITUTE, ("❤",)),  # the variation selector is invisible
        ("中文", SUBSTITUTE * 2, ("中", "文")),
        ("°C", f"{SUBSTITUTE}C", ("°",)),
        ("a\x00b", f"a{SUBSTITUTE}b", ("\x00",)),
        ("x\ud800y", f"x{SUBSTITUTE}y", ("\ud800",)),  # a lone surrogate does not crash
    ],
)
def test_unrepresentable_characters_are_substituted_and_reported(
    text: str, folded: str, replaced: tuple[str, ...]
) -> None:
    result = fold_to_gsm7(text)
    assert result.text == folded
    assert result.replaced == replaced


# --- reply encoding: the anchors' figures ------------------------------------------------------


def body_sizes(segmented: Segmented) -> list[int]:
    return [len(part) for part in segmented.parts]


def test_accented_118_character_reply_is_two_ucs2_parts_and_one_folded() -> None:
    assert len(REPLY_118) == 118
    unicode = encode_reply(REPLY_118, "unicode", max_parts=3, ref=7)
    assert (unicode.data_coding, unicode.esm_class) == (8, 0x40)
    assert body_sizes(unicode) == [140, 6 + 2 * (118 - 67)]
    assert [part[:6] for part in unicode.parts] == [
        bytes.fromhex("050003070201"),
        bytes.fromhex("050003070202"),
    ]
    assert unicode.units == 118
    assert unicode.text == REPLY_118

    folded = encode_reply(REPLY_118, "fold", max_parts=3, ref=7)
    assert (folded.data_coding, folded.esm_class, body_sizes(folded)) == (0, 0, [118])
    assert folded.text.startswith("Ho so 000.00.12.H12-240101-0001: Da tiep nhan, dang xu ly.")

    fit = encode_reply(REPLY_118, "fit", max_parts=3, ref=7)
    assert fit == folded


def test_45_character_accented_reply_is_one_ucs2_part() -> None:
    assert len(REPLY_45) == 45
    for policy in ("unicode", "fit"):
        segmented = encode_reply(REPLY_45, policy, max_parts=3, ref=1)
        assert (segmented.data_coding, segmented.esm_class) == (8, 0)
        assert segmented.parts == (REPLY_45.encode("utf-16-be"),)
        assert len(segmented.parts[0]) == 90
    folded = encode_reply(REPLY_45, "fold")
    assert folded.parts == (b"Ho so 000.00.22.H29-240101-0001 da co ket qua",)


def test_180_character_ucs2_reply_splits_like_smpplib_140_140_98() -> None:
    segmented = encode_reply(REPLY_45 * 4, "unicode", max_parts=3, ref=0xAB)
    assert body_sizes(segmented) == [140, 140, 98]
    assert [part[:6].hex() for part in segmented.parts] == [
        "050003ab0301",
        "050003ab0302",
        "050003ab0303",
    ]


@pytest.mark.parametrize(
    ("length", "sizes"), [(160, [160]), (161, [159, 14]), (306, [159, 159]), (307, [159, 159, 7])]
)
def test_gsm7_limits_are_160_single_and_153_per_part(length: int, sizes: list[int]) -> None:
    segmented = encode_reply("a" * length, "fold", max_parts=3, ref=0)
    assert body_sizes(segmented) == sizes
    assert segmented.esm_class == (0 if len(sizes) == 1 else 0x40)


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_limits_are_70_single_and_67_per_part(length: int, parts: int) -> None:
    segmented = encode_reply("ồ" * length, "unicode", max_parts=3)
    assert len(segmented.parts) == parts
    assert all(len(part) <= UCS2_SINGLE_OCTETS for part in segmented.parts)


def test_escape_pair_is_never_split_at_a_part_boundary() -> None:
    text = "a" * 152 + "€" + "b" * 10  # smpplib leaves 0x1B at the end of part 1 here
    segmented = encode_reply(text, "fold", max_parts=2)
    first, second = (part[6:] for part in segmented.parts)
    assert first == b"a" * 152
    assert second[:2] == b"\x1b\x65"
    assert segmented.units == 152 + 2 + 10


def test_surrogate_pair_is_never_split_at_a_part_boundary() -> None:
    text = "ồ" * 66 + "😀" + "ồ" * 10  # smpplib splits UCS-2 by bytes, between the halves
    segmented = encode_reply(text, "unicode", max_parts=2)
    first, second = (part[6:] for part in segmented.parts)
    assert len(first) == 132
    assert second[:4] == "😀".encode("utf-16-be")
    assert segmented.units == 66 + 2 + 10


def test_cap_of_one_part_truncates_with_ellipsis() -> None:
    segmented = encode_reply("a" * 200, "fold", max_parts=1)
    assert segmented.truncated
    assert segmented.parts == (b"a" * 157 + b"...",)
    assert segmented.text == "a" * 157 + "..."


def test_truncation_does_not_leave_a_space_before_the_ellipsis() -> None:
    text = "x" * 156 + " " + "y" * 50
    segmented = encode_reply(text, "fold", max_parts=1)
    assert segmented.text == "x" * 156 + "..."


def test_cap_of_several_parts_fills_them_and_ends_with_ellipsis() -> None:
    gsm = encode_reply("a" * 500, "fold", max_parts=2, ref=3)
    assert gsm.truncated
    assert body_sizes(gsm) == [159, 159]
    assert gsm.parts[1].endswith(b"a...")
    ucs2 = encode_reply("ồ" * 300, "unicode", max_parts=2, ref=3)
    assert ucs2.truncated
    assert ucs2.text == "ồ" * (67 + 66) + "…"


def test_reply_that_fits_is_not_truncated() -> None:
    assert not encode_reply("a" * 306, "fold", max_parts=2).truncated


def test_unicode_policy_keeps_pure_gsm_text_in_gsm7_with_its_accents() -> None:
    unicode = encode_reply("Café à Hà", "unicode")
    assert (unicode.data_coding, unicode.text) == (0, "Café à Hà")
    assert encode_reply("Café à Hà", "fold").text == "Cafe a Ha"


def test_replaced_characters_are_reported_by_every_policy_that_drops_them() -> None:
    assert encode_reply("Cảm ơn 🙏", "fold").replaced == ("🙏",)
    unicode = encode_reply("Cảm ơn 🙏", "unicode")
    assert (unicode.data_coding, unicode.replaced, unicode.text) == (8, (), "Cảm ơn 🙏")
    assert encode_reply("x\udfffy ă", "unicode").replaced == ("\udfff",)


def test_fit_prefers_ucs2_when_it_costs_no_more_segments() -> None:
    assert encode_reply("Đã có kết quả", "fit").data_coding == 8
    assert encode_reply("ồ" * 100, "fit", max_parts=3).data_coding == 0  # 2 parts vs 1


def test_empty_reply_is_one_empty_part() -> None:
    segmented = encode_reply("", "fold")
    assert (segmented.parts, segmented.truncated, segmented.units) == ((b"",), False, 0)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_parts": 0}, {"max_parts": 256}, {"ref": -1}, {"ref": 256}, {"policy": "utf8"}],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        encode_reply("x", **kwargs)  # type: ignore[arg-type]


def test_reference_counter_rotates_per_destination() -> None:
    counter = ReferenceCounter(start=254)
    assert [counter.next("84900000001") for _ in range(3)] == [254, 255, 0]
    assert counter.next("84900000002") == 255  # a new destination starts from the shared count
    assert counter.next("84900000001") == 1


def test_reference_counter_forgets_least_recent_destination() -> None:
    counter = ReferenceCounter(max_destinations=2)
    assert [counter.next(d) for d in ("a", "b", "a", "c")] == [0, 1, 1, 2]
    assert counter.next("b") == 3  # "b" was forgotten, starts again from the shared count
    assert counter.next("c") == 3  # "c" is remembered ("a" is now the forgotten one)
    assert counter.next("a") == 4


# --- MO decoding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "text", "charset", "guessed"),
    [
        (b"TRA 000.00.22.H29-240101-0001", "TRA 000.00.22.H29-240101-0001", "gsm7", False),
        (b"user\x00mail.vn \x02", "user@mail.vn $", "gsm7", False),  # GSM control octets
        (b"Gi\x1b\x3cb\x1b\x3e \x7f", "Gi[b] à", "gsm7", False),  # escape and 0x7F
        (b"user@mail.vn", "user@mail.vn", "ascii", True),  # reads ¡ in GSM, @ in ASCII
        (b"a_b [c]", "a_b [c]", "ascii", True),
        ("Hà Nội".encode(), "Hà Nội", "utf-8", True),
        ("Hà".encode("latin-1"), "Hà", "latin-1", True),
    ],
)
def test_data_coding_0_heuristics(octets: bytes, text: str, charset: str, guessed: bool) -> None:
    concat, decoded = decode_mo(octets, 0)
    assert concat is None
    assert (decoded.text, decoded.charset, decoded.guessed, decoded.lossy) == (
        text,
        charset,
        guessed,
        False,
    )


def test_data_coding_0_reading_can_be_fixed_per_smsc() -> None:
    assert decode_mo(b"a@b", 0, default_alphabet="gsm7")[1].text == "a¡b"
    assert decode_mo(b"caf\xe9", 0, default_alphabet="latin-1")[1].text == "café"


@pytest.mark.parametrize(
    ("octets", "data_coding", "expected"),
    [
        (b"TRA 123", 1, DecodedText("TRA 123", "ascii")),
        (b"TR\xc0", 1, DecodedText("TRÀ", "latin-1", lossy=True)),  # IA5 is 7-bit
        (b"caf\xe9", 3, DecodedText("café", "latin-1")),
        ("Tra cứu".encode("utf-16-be"), 8, DecodedText("Tra cứu", "ucs2")),
        ("Tra".encode("utf-16-be") + b"\x00", 8, DecodedText("Tra", "ucs2", lossy=True)),  # odd
        (b"\xd8\x3d\x00a", 8, DecodedText("\ufffda", "ucs2", lossy=True)),  # lone surrogate
        ("Привет".encode("iso8859-5"), 6, DecodedText("Привет", "iso8859-5")),
        (b"\x00x", 0xF0, DecodedText("@x", "gsm7")),  # GSM DCS group, class 0
        ("Đã".encode("utf-16-be"), 0x18, DecodedText("Đã", "ucs2")),  # general group, UCS-2
        ("Đã".encode(), 0x04, DecodedText("Đã", "utf-8", guessed=True)),  # 8-bit data
        (b"abc", 0x05, DecodedText("abc", "utf-8", guessed=True, lossy=True)),  # JIS: unknown
        (b"a\x01b", 3, DecodedText("ab", "latin-1")),  # controls carry nothing typed
    ],
)
def test_data_codings(octets: bytes, data_coding: int, expected: DecodedText) -> None:
    assert decode_mo(octets, data_coding) == (None, expected)


@pytest.mark.parametrize(
    ("udh", "concat"),
    [
        ("050003cc0302", Concat(0xCC, 3, 2)),
        ("0608041234ff01", Concat(0x1234, 255, 1)),
        ("0a0a030001020003070201", Concat(7, 2, 1)),  # text formatting IE skipped
        ("0a00030103010003020302", Concat(2, 3, 2)),  # repeated: the last one counts
        ("050003010300", None),  # sequence 0: ignore the element
        ("050003010304", None),  # sequence beyond total
        ("0400020102", None),  # wrong length for IEI 0x00
        ("00", None),  # empty header
    ],
)
def test_udh_concatenation(udh: str, concat: Concat | None) -> None:
    parsed, decoded = decode_mo(bytes.fromhex(udh) + b"TRA", 0, 0x40)
    assert parsed == concat
    assert (decoded.text, decoded.lossy) == ("TRA", False)


def test_udh_is_ignored_without_the_udhi_flag() -> None:
    concat, decoded = decode_mo(bytes.fromhex("050003010201") + b"x", 0, 0)
    assert concat is None
    assert decoded.text.endswith("x")


@pytest.mark.parametrize("payload", ["09000301", "ff", "", "050003010201"[:8]])
def test_malformed_udh_is_flagged_not_raised(payload: str) -> None:
    concat, decoded = decode_mo(bytes.fromhex(payload), 0, 0x40)
    assert concat is None
    assert decoded.lossy


def test_concat_from_sar_and_validation() -> None:
    assert Concat.from_sar(0xBEEF, 2, 1) == Concat(0xBEEF, 2, 1)
    assert Concat.from_sar(1, 0, 0) is None
    assert Concat.from_sar(1, 256, 1) is None
    with pytest.raises(ValueError, match="invalid concatenation"):
        Concat(1, 2, 3)


def test_escape_cut_between_parts_is_mended_when_joined() -> None:
    _, first = decode_mo(bytes.fromhex("050003010201") + b"Gia: 5\x1b", 0, 0x40)
    _, second = decode_mo(bytes.fromhex("050003010202") + b"\x65 nha", 0, 0x40)
    assert join_parts([first.text, second.text]) == "Gia: 5€ nha"
    assert decode_mo(b"Gia: 5\x1b", 0)[1] == DecodedText("Gia: 5", "gsm7", lossy=True)


def test_surrogate_pair_cut_between_parts_is_mended_when_joined() -> None:
    pair = "😀".encode("utf-16-be")
    _, first = decode_mo(
        bytes.fromhex("050003010201") + "ok ".encode("utf-16-be") + pair[:2], 8, 0x40
    )
    _, second = decode_mo(bytes.fromhex("050003010202") + pair[2:] + b"\x00!", 8, 0x40)
    assert join_parts([first.text, second.text]) == "ok 😀!"
    assert join_parts([first.text]) == "ok \ufffd"  # the partner never came


# --- properties --------------------------------------------------------------------------------

REPLY_CHARS = (
    VIETNAMESE_LETTERS
    + list(GSM_BASIC.replace("\x1b", ""))
    + list(GSM_EXTENSION)
    + list("“”‘’–—…\u00a0₫•")
    + ["😀", "🙏", "👍", "🏽", "\u200d", "\ufe0f", "中", "\u0301", "`", "°"]
)
reply_chars = st.sampled_from(REPLY_CHARS)
# runs of a repeated snippet reach multipart lengths and land escapes and surrogate pairs on
# every possible part boundary; plain short text keeps the single-part cases common too
repeated_snippets = st.tuples(st.text(reply_chars, min_size=1, max_size=12), st.integers(1, 120))
reply_texts = st.lists(
    st.text(reply_chars, max_size=40) | repeated_snippets.map(lambda run: run[0] * run[1]),
    max_size=4,
).map(lambda pieces: "".join(pieces)[:1500])
policies = st.sampled_from(POLICIES)


def decode_segments(segmented: Segmented, order: random.Random) -> str:
    """What a handset shows: each part decoded, then joined in sequence order."""
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    parts = list(segmented.parts)
    order.shuffle(parts)
    completed = []
    for payload in parts:
        concat, decoded = decode_mo(
            payload, segmented.data_coding, segmented.esm_class, default_alphabet="gsm7"
        )
        assert (concat is None) == (len(segmented.parts) == 1)
        message = reassembler.add(MoPart("8283", "84900000001", decoded.text, concat), now=0.0)
        if message is not None:
            completed.append(message)
    assert len(completed) == 1
    assert not completed[0].partial
    return completed[0].text


def expected_text(text: str, policy: Encoding, segmented: Segmented) -> str:
    """The folded text when folding was chosen, else the NFC text itself."""
    nfc = unicodedata.normalize("NFC", text)
    if policy == "fold" or (segmented.data_coding == 0 and not gsm7_encodable(nfc)):
        return fold_to_gsm7(text).text
    return nfc


@PROPERTIES
@given(
    text=reply_texts,
    policy=policies,
    max_parts=st.integers(1, 6),
    ref=st.integers(0, 255),
    seed=st.randoms(),
)
def test_reply_round_trips_through_decoding_and_reassembly(
    text: str, policy: Encoding, max_parts: int, ref: int, seed: random.Random
) -> None:
    segmented = encode_reply(text, policy, max_parts, ref)
    shown = decode_segments(segmented, seed)
    assert shown == segmented.text
    expected = expected_text(text, policy, segmented)
    if segmented.truncated:
        ellipsis = "..." if segmented.data_coding == 0 else "…"
        assert shown.endswith(ellipsis)
        assert expected.startswith(shown[: -len(ellipsis)])
        assert len(segmented.parts) == max_parts
    else:
        assert shown == expected


def air_octets(data_coding: int, multipart: bool, body: bytes) -> int:
    """Octets a part takes over the air: SMPP carries GSM-7 unpacked, the SMSC packs it."""
    udh = 6 if multipart else 0
    if data_coding == 8:
        return udh + len(body)
    udh_septets = -(-udh * 8 // 7)  # the header is padded to a septet boundary
    return -(-(udh_septets + len(body)) * 7 // 8)


@PROPERTIES
@given(text=reply_texts, policy=policies, max_parts=st.integers(1, 6), ref=st.integers(0, 255))
def test_parts_respect_octet_limits_and_boundaries(
    text: str, policy: Encoding, max_parts: int, ref: int
) -> None:
    segmented = encode_reply(text, policy, max_parts, ref)
    assert 1 <= len(segmented.parts) <= max_parts
    multipart = len(segmented.parts) > 1
    assert segmented.esm_class == (0x40 if multipart else 0)
    bodies = []
    for seq, part in enumerate(segmented.parts, 1):
        if multipart:
            assert part[:6] == bytes((5, 0, 3, ref, len(segmented.parts), seq))
        bodies.append(part[6:] if multipart else part)
        assert air_octets(segmented.data_coding, multipart, bodies[-1]) <= 140
    for body in bodies:
        if segmented.data_coding == 0:
            assert len(body) <= (GSM7_PART_SEPTETS if multipart else GSM7_SINGLE_SEPTETS)
            assert not body.endswith(b"\x1b") or len(body.rstrip(b"\x1b")) % 2 == 0
            assert max(body, default=0) < 0x80
        else:
            assert segmented.data_coding == 8
            assert len(body) % 2 == 0
            assert not (body and 0xDC <= body[0] <= 0xDF), "starts with a low surrogate"
            assert not (body and 0xD8 <= body[-2] <= 0xDB), "ends with a high surrogate"
    if segmented.data_coding == 0:
        assert not any(body.endswith(b"\x1b") for body in bodies)
        assert segmented.units == gsm7_septets(segmented.text) == sum(map(len, bodies))
    else:
        assert segmented.units == len(segmented.text.encode("utf-16-be")) // 2


@PROPERTIES
@given(text=reply_texts)
def test_fit_costs_the_fewer_segments_of_fold_and_unicode(text: str) -> None:
    counts = {p: len(encode_reply(text, p, max_parts=255).parts) for p in POLICIES}
    assert counts["fit"] == min(counts["fold"], counts["unicode"])


@PROPERTIES
@given(text=st.text(max_size=200))
def test_any_text_folds_to_encodable_gsm7_and_folding_is_idempotent(text: str) -> None:
    folded = fold_to_gsm7(text)
    assert gsm7_encodable(folded.text)
    assert fold_to_gsm7(folded.text) == Folded(folded.text, ())
    assert folded.text.count(SUBSTITUTE) >= len(folded.replaced)


@PROPERTIES
@given(text=st.text(max_size=400), policy=policies, max_parts=st.integers(1, 4))
def test_any_text_encodes_without_error(text: str, policy: Encoding, max_parts: int) -> None:
    segmented = encode_reply(text, policy, max_parts)
    assert all(len(part) <= 140 for part in segmented.parts)
    segmented.text.encode("utf-8")  # nothing unpaired reaches a log line


@PROPERTIES
@given(text=st.text(alphabet=st.sampled_from(sorted(set(GSM_BASIC + GSM_EXTENSION) - {"\x1b"}))))
def test_gsm7_encode_decode_round_trip(text: str) -> None:
    encoded = gsm7_encode(text)
    assert gsm7_decode(encoded) == text
    assert len(encoded) == gsm7_septets(text)


@PROPERTIES
@given(
    payload=st.binary(max_size=300),
    data_coding=st.integers(0, 255),
    esm_class=st.sampled_from([0, 0x40, 0x43]),
)
def test_decode_mo_never_raises_and_joined_text_is_clean(
    payload: bytes, data_coding: int, esm_class: int
) -> None:
    concat, decoded = decode_mo(payload, data_coding, esm_class)
    text = decoded.text if concat is None else join_parts([decoded.text])
    text.encode("utf-8")
    assert "\x1b" not in text
