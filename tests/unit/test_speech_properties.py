"""Properties of the speller over whole ranges, checked with an independent strict reader.

``read_number`` below turns Vietnamese number words back into an integer and refuses every
malformed reading ("lẻ mươi", "mươi một", "mười năm", "linh lăm", a group without its
hundreds...). If the speller ever produced one, the round trip would fail.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.phone import normalize_msisdn
from prompts.catalog import build_catalogue
from prompts.speech import (
    FRAGMENTS,
    MAX_NUMBER,
    Region,
    SpeechStyle,
    Spoken,
    spell_code,
    spell_date,
    spell_digits,
    spell_number,
    spell_phone,
    spell_time,
)

STYLES = [
    SpeechStyle(),
    SpeechStyle(region=Region.SOUTH),
    SpeechStyle(tu_after_tens=False),
    SpeechStyle(region=Region.SOUTH, tu_after_tens=True),
]
CATALOGUE_IDS = frozenset(build_catalogue(["UBND quận 1"]).ids)

PLAIN = {"một": 1, "hai": 2, "ba": 3, "bốn": 4, "năm": 5, "sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
AFTER_MUOI = {**PLAIN, "lăm": 5}  # 11-19: "mười một", "mười bốn", "mười lăm"
del AFTER_MUOI["năm"]
AFTER_MUOI_TENS = {**AFTER_MUOI, "mốt": 1, "tư": 4}  # 21-99
del AFTER_MUOI_TENS["một"]
SCALES = {"triệu": 1_000_000, "nghìn": 1000, "ngàn": 1000}

FORBIDDEN = [
    "linh mươi",
    "lẻ mươi",
    "linh mười",
    "lẻ mười",
    "linh không",
    "lẻ không",
    "linh lăm",
    "lẻ lăm",
    "linh mốt",
    "lẻ mốt",
    "linh tư",
    "lẻ tư",
    "mươi một",
    "mươi năm",
    "mươi không",
    "mười năm",
    "mười mốt",
    "mười không",
    "không mươi",
    "một mươi",
    "nghìn ngàn",
    "linh lẻ",
]


class MalformedError(Exception):
    pass


def read_group(words: list[str], *, leading: bool) -> int:
    """Up to three places; a group after the first must say its hundreds."""
    value = 0
    if len(words) >= 2 and words[1] == "trăm":
        hundreds = 0 if words[0] == "không" else PLAIN.get(words[0])
        if hundreds is None or (leading and hundreds == 0):
            raise MalformedError(words)
        value, words = hundreds * 100, words[2:]
    elif not leading:
        raise MalformedError(f"group without hundreds: {words}")
    return value + read_below_hundred(words, after_hundreds=value > 0 or not leading)


def read_below_hundred(words: list[str], *, after_hundreds: bool) -> int:
    match words:
        case []:
            if not after_hundreds:
                raise MalformedError("empty group")
            return 0
        case ["linh" | "lẻ", unit] if after_hundreds and unit in PLAIN:
            return PLAIN[unit]
        case [unit] if not after_hundreds and unit in PLAIN:
            return PLAIN[unit]
        case ["mười"]:
            return 10
        case ["mười", unit] if unit in AFTER_MUOI:
            return 10 + AFTER_MUOI[unit]
        case [tens, "mươi"] if tens in PLAIN and PLAIN[tens] >= 2:
            return PLAIN[tens] * 10
        case [tens, "mươi", unit] if tens in PLAIN and PLAIN[tens] >= 2 and unit in AFTER_MUOI_TENS:
            return PLAIN[tens] * 10 + AFTER_MUOI_TENS[unit]
    raise MalformedError(words)


def read_number(text: str) -> int:
    if text == "không":
        return 0
    total, last_scale = 0, 10**12
    group: list[str] = []
    for word in [*text.split(), "<end>"]:
        if word in SCALES or word == "<end>":
            scale = SCALES.get(word, 1)
            if word == "<end>" and not group and total:
                break
            if scale >= last_scale or not group:
                raise MalformedError(text)
            total += read_group(group, leading=total == 0) * scale
            group, last_scale = [], scale
        else:
            group.append(word)
    return total


def assert_well_formed(spoken: Spoken, number: int) -> None:
    text = spoken.text
    assert read_number(text) == number, text
    for bad in FORBIDDEN:
        assert not re.search(rf"\b{bad}\b", text), (bad, text)
    assert set(spoken.ids) <= CATALOGUE_IDS
    assert [FRAGMENTS[i] for i in spoken.ids] == text.split()


def test_the_reader_rejects_the_classic_mistakes() -> None:
    for wrong in [
        "hai nghìn lẻ hai mươi lăm",  # num2words' reading of 2025
        "hai mươi một",
        "mười năm",
        "một trăm linh lăm",
        "hai nghìn hai mươi lăm",
        "một trăm lẻ mươi",
        "không trăm năm",
        "một nghìn nghìn",
    ]:
        with pytest.raises(MalformedError):
            read_number(wrong)


@pytest.mark.parametrize("style", STYLES, ids=lambda s: f"{s.region.value}-tu{s.says_tu}")
def test_every_number_below_ten_thousand(style: SpeechStyle) -> None:
    for number in range(10_000):
        assert_well_formed(spell_number(number, style), number)


@given(st.integers(min_value=0, max_value=MAX_NUMBER), st.sampled_from(STYLES))
def test_any_number_reads_back(number: int, style: SpeechStyle) -> None:
    assert_well_formed(spell_number(number, style), number)


@given(st.integers(min_value=1, max_value=999).map(lambda n: n * 1000 + 1))
def test_thousands_followed_by_one(number: int) -> None:
    assert spell_number(number).text.endswith("không trăm linh một")


@given(st.sampled_from([0, 1, 10, 100, 1000, 10**4, 10**5, 10**6, 10**7, 10**8]))
def test_round_powers_of_ten(number: int) -> None:
    assert_well_formed(spell_number(number), number)


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_digit_strings_are_one_plain_word_per_digit(digits: str) -> None:
    spoken = spell_digits(digits)
    assert spoken.ids == tuple(f"digits/{d}" for d in digits)
    assert not {"mốt", "lăm", "tư", "linh", "lẻ"} & set(spoken.text.split())


CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-/Đ"
ID_TO_CHAR = {"sym/dot": ".", "sym/dash": "-", "sym/slash": "/", "letters/dd": "Đ"}


@given(st.text(alphabet=CODE_ALPHABET, min_size=1, max_size=40))
def test_codes_read_character_by_character(code: str) -> None:
    spoken = spell_code(code)
    back = "".join(ID_TO_CHAR.get(i, i.rpartition("/")[2].upper()) for i in spoken.ids)
    assert back == code.upper()
    assert set(spoken.ids) <= CATALOGUE_IDS


@given(st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_phone_numbers_keep_every_digit_in_short_groups(number: str) -> None:
    spoken = spell_phone(number)
    groups = "".join(i.rpartition("/")[2] if i.startswith("digits/") else " " for i in spoken.ids)
    assert groups.replace(" ", "") == normalize_msisdn(number)
    if len(groups.replace(" ", "")) <= 11:
        assert max(len(g) for g in groups.split()) <= 5
    assert set(spoken.ids) <= CATALOGUE_IDS


def read_date(text: str) -> date:
    match = re.fullmatch(r"ngày (mùng )?(.+) tháng (.+) năm (.+)", text)
    assert match, text
    day = read_number(match[2])
    assert bool(match[1]) == (day <= 10), text
    month_words = match[3]
    month = 4 if month_words == "tư" else read_number(month_words)
    assert month_words != "bốn", text
    return date(read_number(match[4]), month, day)


@pytest.mark.parametrize("style", STYLES[:2], ids=["north", "south"])
def test_every_day_from_1990_to_2040_reads_back(style: SpeechStyle) -> None:
    day = date(1990, 1, 1)
    while day.year <= 2040:
        spoken = spell_date(day, style)
        assert read_date(spoken.text) == day
        assert set(spoken.ids) <= CATALOGUE_IDS
        day += timedelta(days=1)


PERIODS = {"sáng": range(1, 11), "trưa": (11, 12), "chiều": range(13, 18), "tối": range(18, 22)}


def test_every_minute_of_the_day_reads_back() -> None:
    for minute_of_day in range(24 * 60):
        moment = time(*divmod(minute_of_day, 60))
        twelve = spell_time(moment).text
        match = re.fullmatch(r"(.+?) giờ(?: (.+) phút)? (sáng|trưa|chiều|tối|đêm)", twelve)
        assert match, twelve
        hour, minute = read_number(match[1]), read_number(match[2] or "không")
        assert 1 <= hour <= 12 and minute == moment.minute, twelve
        assert hour % 12 == moment.hour % 12, twelve
        assert moment.hour in PERIODS.get(match[3], (22, 23, 0)), twelve
        full = spell_time(moment, SpeechStyle(twelve_hour=False))
        match = re.fullmatch(r"(.+?) giờ(?: (.+) phút)?", full.text)
        assert match, full.text
        assert read_number(match[1]) == moment.hour
        assert set(full.ids) | set(spell_time(moment).ids) <= CATALOGUE_IDS


def test_every_fragment_is_in_the_catalogue_with_an_ascii_id() -> None:
    assert set(FRAGMENTS) <= CATALOGUE_IDS
    for fragment_id in CATALOGUE_IDS:
        assert re.fullmatch(r"[a-z0-9_]+(/[a-z0-9_-]+)+", fragment_id), fragment_id
