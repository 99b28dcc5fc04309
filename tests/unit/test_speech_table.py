"""The speller against hand-written readings: every rule and every rule's edge.

Each expected string was written by hand from the reading rules (domain notes §7.1), not
produced by the code under test.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from prompts.speech import (
    Region,
    SpeechError,
    SpeechStyle,
    expand_text,
    join_words,
    spell_code,
    spell_date,
    spell_datetime,
    spell_day,
    spell_digits,
    spell_month,
    spell_number,
    spell_phone,
    spell_time,
    spell_weekday,
)

SOUTH = SpeechStyle(region=Region.SOUTH)
NORTH_NO_TU = SpeechStyle(tu_after_tens=False)
SOUTH_TU = SpeechStyle(region=Region.SOUTH, tu_after_tens=True)
GIENG = SpeechStyle(january_gieng=True)
H24 = SpeechStyle(twelve_hour=False)

NUMBERS_NORTH = [
    # units, and the ten that is "mười"
    (0, "không"),
    (1, "một"),
    (2, "hai"),
    (3, "ba"),
    (4, "bốn"),
    (5, "năm"),
    (6, "sáu"),
    (7, "bảy"),
    (8, "tám"),
    (9, "chín"),
    (10, "mười"),
    # 11-19: "mười" (grave), 11 keeps "một", 14 keeps "bốn", 15 takes "lăm"
    (11, "mười một"),
    (12, "mười hai"),
    (13, "mười ba"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (16, "mười sáu"),
    (17, "mười bảy"),
    (18, "mười tám"),
    (19, "mười chín"),
    # 20-99: "mươi" (level), "mốt", "tư", "lăm"
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (22, "hai mươi hai"),
    (23, "hai mươi ba"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (26, "hai mươi sáu"),
    (27, "hai mươi bảy"),
    (28, "hai mươi tám"),
    (29, "hai mươi chín"),
    (30, "ba mươi"),
    (31, "ba mươi mốt"),
    (34, "ba mươi tư"),
    (35, "ba mươi lăm"),
    (40, "bốn mươi"),
    (41, "bốn mươi mốt"),
    (44, "bốn mươi tư"),
    (45, "bốn mươi lăm"),
    (50, "năm mươi"),
    (51, "năm mươi mốt"),
    (54, "năm mươi tư"),
    (55, "năm mươi lăm"),
    (59, "năm mươi chín"),
    (60, "sáu mươi"),
    (61, "sáu mươi mốt"),
    (65, "sáu mươi lăm"),
    (70, "bảy mươi"),
    (71, "bảy mươi mốt"),
    (75, "bảy mươi lăm"),
    (77, "bảy mươi bảy"),
    (80, "tám mươi"),
    (81, "tám mươi mốt"),
    (84, "tám mươi tư"),
    (88, "tám mươi tám"),
    (90, "chín mươi"),
    (91, "chín mươi mốt"),
    (94, "chín mươi tư"),
    (95, "chín mươi lăm"),
    (99, "chín mươi chín"),
    # hundreds: "linh" before a lone unit, and the unit keeps its plain form there
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (102, "một trăm linh hai"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (109, "một trăm linh chín"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (120, "một trăm hai mươi"),
    (121, "một trăm hai mươi mốt"),
    (124, "một trăm hai mươi tư"),
    (125, "một trăm hai mươi lăm"),
    (200, "hai trăm"),
    (201, "hai trăm linh một"),
    (205, "hai trăm linh năm"),
    (250, "hai trăm năm mươi"),
    (255, "hai trăm năm mươi lăm"),
    (300, "ba trăm"),
    (404, "bốn trăm linh bốn"),
    (415, "bốn trăm mười lăm"),
    (500, "năm trăm"),
    (505, "năm trăm linh năm"),
    (515, "năm trăm mười lăm"),
    (555, "năm trăm năm mươi lăm"),
    (600, "sáu trăm"),
    (700, "bảy trăm"),
    (711, "bảy trăm mười một"),
    (800, "tám trăm"),
    (900, "chín trăm"),
    (999, "chín trăm chín mươi chín"),
    # thousands: "không trăm" when the hundreds digit inside is zero
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1011, "một nghìn không trăm mười một"),
    (1015, "một nghìn không trăm mười lăm"),
    (1020, "một nghìn không trăm hai mươi"),
    (1021, "một nghìn không trăm hai mươi mốt"),
    (1099, "một nghìn không trăm chín mươi chín"),
    (1100, "một nghìn một trăm"),
    (1101, "một nghìn một trăm linh một"),
    (1234, "một nghìn hai trăm ba mươi tư"),
    (1945, "một nghìn chín trăm bốn mươi lăm"),
    (1975, "một nghìn chín trăm bảy mươi lăm"),
    (1999, "một nghìn chín trăm chín mươi chín"),
    (2000, "hai nghìn"),
    (2001, "hai nghìn không trăm linh một"),
    (2004, "hai nghìn không trăm linh bốn"),
    (2005, "hai nghìn không trăm linh năm"),
    (2010, "hai nghìn không trăm mười"),
    (2014, "hai nghìn không trăm mười bốn"),
    (2015, "hai nghìn không trăm mười lăm"),
    (2020, "hai nghìn không trăm hai mươi"),
    (2021, "hai nghìn không trăm hai mươi mốt"),
    (2024, "hai nghìn không trăm hai mươi tư"),
    (2025, "hai nghìn không trăm hai mươi lăm"),
    (2030, "hai nghìn không trăm ba mươi"),
    (2100, "hai nghìn một trăm"),
    (5555, "năm nghìn năm trăm năm mươi lăm"),
    (9999, "chín nghìn chín trăm chín mươi chín"),
    (10000, "mười nghìn"),
    (10001, "mười nghìn không trăm linh một"),
    (10500, "mười nghìn năm trăm"),
    (11000, "mười một nghìn"),
    (15000, "mười lăm nghìn"),
    (20000, "hai mươi nghìn"),
    (21000, "hai mươi mốt nghìn"),
    (24000, "hai mươi tư nghìn"),
    (25000, "hai mươi lăm nghìn"),
    (25025, "hai mươi lăm nghìn không trăm hai mươi lăm"),
    (99999, "chín mươi chín nghìn chín trăm chín mươi chín"),
    (100000, "một trăm nghìn"),
    (100001, "một trăm nghìn không trăm linh một"),
    (101000, "một trăm linh một nghìn"),
    (105000, "một trăm linh năm nghìn"),
    (115000, "một trăm mười lăm nghìn"),
    (500000, "năm trăm nghìn"),
    (999999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
    # millions: a zero thousands group is not said; a non-zero one says all its places
    (1000000, "một triệu"),
    (1000001, "một triệu không trăm linh một"),
    (1000005, "một triệu không trăm linh năm"),
    (1000021, "một triệu không trăm hai mươi mốt"),
    (1000100, "một triệu một trăm"),
    (1001000, "một triệu không trăm linh một nghìn"),
    (1005000, "một triệu không trăm linh năm nghìn"),
    (1010000, "một triệu không trăm mười nghìn"),
    (1100000, "một triệu một trăm nghìn"),
    (1500000, "một triệu năm trăm nghìn"),
    (2000025, "hai triệu không trăm hai mươi lăm"),
    (2025000, "hai triệu không trăm hai mươi lăm nghìn"),
    (10000000, "mười triệu"),
    (15000000, "mười lăm triệu"),
    (21000000, "hai mươi mốt triệu"),
    (100000000, "một trăm triệu"),
    (105000000, "một trăm linh năm triệu"),
    (123456789, "một trăm hai mươi ba triệu bốn trăm năm mươi sáu nghìn bảy trăm tám mươi chín"),
    (
        999999999,
        "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
    ),
]

NUMBERS_SOUTH = [
    (0, "không"),
    (5, "năm"),
    (15, "mười lăm"),
    (21, "hai mươi mốt"),
    (24, "hai mươi bốn"),
    (25, "hai mươi lăm"),
    (44, "bốn mươi bốn"),
    (101, "một trăm lẻ một"),
    (104, "một trăm lẻ bốn"),
    (105, "một trăm lẻ năm"),
    (110, "một trăm mười"),
    (1000, "một ngàn"),
    (1005, "một ngàn không trăm lẻ năm"),
    (2005, "hai ngàn không trăm lẻ năm"),
    (2024, "hai ngàn không trăm hai mươi bốn"),
    (2025, "hai ngàn không trăm hai mươi lăm"),
    (15000, "mười lăm ngàn"),
    (105000, "một trăm lẻ năm ngàn"),
    (1000005, "một triệu không trăm lẻ năm"),
    (1005000, "một triệu không trăm lẻ năm ngàn"),
    (999999, "chín trăm chín mươi chín ngàn chín trăm chín mươi chín"),
]

NUMBERS_OTHER_STYLES = [
    (NORTH_NO_TU, 24, "hai mươi bốn"),
    (NORTH_NO_TU, 14, "mười bốn"),
    (NORTH_NO_TU, 2024, "hai nghìn không trăm hai mươi bốn"),
    (NORTH_NO_TU, 104, "một trăm linh bốn"),
    (SOUTH_TU, 24, "hai mươi tư"),
    (SOUTH_TU, 14, "mười bốn"),
    (SOUTH_TU, 104, "một trăm lẻ bốn"),
    (SOUTH_TU, 94000, "chín mươi tư ngàn"),
]

DIGITS = [
    ("0", "không"),
    ("1", "một"),
    ("5", "năm"),
    ("1022", "một không hai hai"),
    ("8283", "tám hai tám ba"),
    ("115", "một một năm"),
    ("21", "hai một"),
    ("25", "hai năm"),
    ("0001", "không không không một"),
    ("1900", "một chín không không"),
    ("0123456789", "không một hai ba bốn năm sáu bảy tám chín"),
]

CODES = [
    (
        "000.00.22.H29-240101-0001",
        "không không không chấm không không chấm hai hai chấm hát hai chín gạch "
        "hai bốn không một không một gạch không không không một",
    ),
    (
        "000.17.22.H56-210531-0001",
        "không không không chấm một bảy chấm hai hai chấm hát năm sáu gạch "
        "hai một không năm ba một gạch không không không một",
    ),
    ("000.A0.01.H26", "không không không chấm a không chấm không một chấm hát hai sáu"),
    ("38.98.H29", "ba tám chấm chín tám chấm hát hai chín"),
    ("G01", "giê không một"),
    ("h29", "hát hai chín"),
    ("H29-15", "hát hai chín gạch một năm"),
    ("25", "hai năm"),
    ("ABC", "a bê xê"),
    ("DĐE", "dê đê e"),
    ("KLMN", "ca e lờ em mờ en nờ"),
    ("PQRS", "pê quy e rờ ét xì"),
    ("TUVX", "tê u vê ích xì"),
    ("YZ", "i dài dét"),
    ("FJW", "ép gi vê kép"),
    ("GIO", "giê i o"),
    ("12/QĐ", "một hai gạch chéo quy đê"),
    (" H 29 ", "hát hai chín"),
]

CODES_WITH_PAUSES = [
    ("000.00.22", "không không không, không không, hai hai"),
    ("H29-0001", "hát hai chín, không không không một"),
]

PHONES = [
    ("0912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0987654321", "không chín tám bảy, sáu năm bốn, ba hai một"),
    ("+84912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("84912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912.345.678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("02838291234", "không hai tám, ba tám hai chín, một hai ba bốn"),
    ("(028) 3829 1234", "không hai tám, ba tám hai chín, một hai ba bốn"),
    ("1022", "một không hai hai"),
    ("8283", "tám hai tám ba"),
    ("115", "một một năm"),
    ("19001234", "một chín không không, một hai ba bốn"),
    ("18001091", "một tám không không, một không chín một"),
    ("123456", "một hai ba, bốn năm sáu"),
    ("1234567", "một hai ba, bốn năm sáu bảy"),
    ("55555", "năm năm năm năm năm"),
]

MONTHS = [
    (SpeechStyle(), 1, "tháng một"),
    (SpeechStyle(), 2, "tháng hai"),
    (SpeechStyle(), 3, "tháng ba"),
    (SpeechStyle(), 4, "tháng tư"),
    (SpeechStyle(), 5, "tháng năm"),
    (SpeechStyle(), 6, "tháng sáu"),
    (SpeechStyle(), 7, "tháng bảy"),
    (SpeechStyle(), 8, "tháng tám"),
    (SpeechStyle(), 9, "tháng chín"),
    (SpeechStyle(), 10, "tháng mười"),
    (SpeechStyle(), 11, "tháng mười một"),
    (SpeechStyle(), 12, "tháng mười hai"),
    (NORTH_NO_TU, 4, "tháng tư"),
    (SOUTH, 4, "tháng tư"),
    (GIENG, 1, "tháng Giêng"),
    (GIENG, 11, "tháng mười một"),
    (GIENG, 12, "tháng mười hai"),
]

DATES = [
    (
        SpeechStyle(),
        date(2025, 3, 5),
        "ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 1),
        "ngày mùng một tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 4),
        "ngày mùng bốn tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 10),
        "ngày mùng mười tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 11),
        "ngày mười một tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 14),
        "ngày mười bốn tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 15),
        "ngày mười lăm tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 20),
        "ngày hai mươi tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 21),
        "ngày hai mươi mốt tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2024, 4, 24),
        "ngày hai mươi tư tháng tư năm hai nghìn không trăm hai mươi tư",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 25),
        "ngày hai mươi lăm tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 3, 31),
        "ngày ba mươi mốt tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 1, 1),
        "ngày mùng một tháng một năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 4, 30),
        "ngày ba mươi tháng tư năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 5, 5),
        "ngày mùng năm tháng năm năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 12, 31),
        "ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        SpeechStyle(),
        date(2025, 11, 11),
        "ngày mười một tháng mười một năm hai nghìn không trăm hai mươi lăm",
    ),
    (SpeechStyle(), date(2000, 2, 29), "ngày hai mươi chín tháng hai năm hai nghìn"),
    (SpeechStyle(), date(2005, 6, 15), "ngày mười lăm tháng sáu năm hai nghìn không trăm linh năm"),
    (SpeechStyle(), date(2010, 10, 10), "ngày mùng mười tháng mười năm hai nghìn không trăm mười"),
    (
        SpeechStyle(),
        date(1999, 9, 2),
        "ngày mùng hai tháng chín năm một nghìn chín trăm chín mươi chín",
    ),
    (SOUTH, date(2005, 6, 15), "ngày mười lăm tháng sáu năm hai ngàn không trăm lẻ năm"),
    (SOUTH, date(2024, 4, 24), "ngày hai mươi bốn tháng tư năm hai ngàn không trăm hai mươi bốn"),
    (GIENG, date(2026, 1, 5), "ngày mùng năm tháng Giêng năm hai nghìn không trăm hai mươi sáu"),
    (GIENG, date(2026, 2, 5), "ngày mùng năm tháng hai năm hai nghìn không trăm hai mươi sáu"),
]

DATES_WITH_WEEKDAY = [
    (date(2025, 3, 5), "thứ tư, ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm"),
    (date(2025, 3, 9), "chủ nhật, ngày mùng chín tháng ba năm hai nghìn không trăm hai mươi lăm"),
]

WEEKDAYS = [
    (date(2025, 3, 3), "thứ hai"),
    (date(2025, 3, 4), "thứ ba"),
    (date(2025, 3, 5), "thứ tư"),
    (date(2025, 3, 6), "thứ năm"),
    (date(2025, 3, 7), "thứ sáu"),
    (date(2025, 3, 8), "thứ bảy"),
    (date(2025, 3, 9), "chủ nhật"),
]

TIMES = [
    (SpeechStyle(), time(0, 0), "mười hai giờ đêm"),
    (SpeechStyle(), time(1, 0), "một giờ sáng"),
    (SpeechStyle(), time(7, 30), "bảy giờ ba mươi phút sáng"),
    (SpeechStyle(), time(8, 5), "tám giờ năm phút sáng"),
    (SpeechStyle(), time(9, 0), "chín giờ sáng"),
    (SpeechStyle(), time(9, 15), "chín giờ mười lăm phút sáng"),
    (SpeechStyle(), time(10, 59), "mười giờ năm mươi chín phút sáng"),
    (SpeechStyle(), time(11, 0), "mười một giờ trưa"),
    (SpeechStyle(), time(12, 0), "mười hai giờ trưa"),
    (SpeechStyle(), time(13, 0), "một giờ chiều"),
    (SpeechStyle(), time(14, 1), "hai giờ một phút chiều"),
    (SpeechStyle(), time(16, 45), "bốn giờ bốn mươi lăm phút chiều"),
    (SpeechStyle(), time(17, 21), "năm giờ hai mươi mốt phút chiều"),
    (SpeechStyle(), time(18, 0), "sáu giờ tối"),
    (SpeechStyle(), time(21, 24), "chín giờ hai mươi tư phút tối"),
    (SpeechStyle(), time(22, 0), "mười giờ đêm"),
    (SpeechStyle(), time(23, 59), "mười một giờ năm mươi chín phút đêm"),
    (H24, time(0, 0), "không giờ"),
    (H24, time(9, 30), "chín giờ ba mươi phút"),
    (H24, time(14, 0), "mười bốn giờ"),
    (H24, time(15, 15), "mười lăm giờ mười lăm phút"),
    (H24, time(21, 5), "hai mươi mốt giờ năm phút"),
    (SOUTH, time(21, 24), "chín giờ hai mươi bốn phút tối"),
]

DATETIMES = [
    (
        datetime(2025, 3, 5, 9, 0),
        "chín giờ sáng, ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm",
    ),
    (
        datetime(2023, 11, 3, 14, 30),
        "hai giờ ba mươi phút chiều, ngày mùng ba tháng mười một "
        "năm hai nghìn không trăm hai mươi ba",
    ),
]

TEXTS = [
    ("UBND quận 1", "Ủy ban nhân dân quận một"),
    ("UBND phường Bến Nghé", "Ủy ban nhân dân phường Bến Nghé"),
    ("Sở Tư pháp TP.HCM", "Sở Tư pháp Thành phố Hồ Chí Minh"),
    ("Chi cục Thuế quận Ba Đình", "Chi cục Thuế quận Ba Đình"),
    ("UBND huyện Đông Sơn", "Ủy ban nhân dân huyện Đông Sơn"),
    ("Q.10, TP.HCM", "Quận mười, Thành phố Hồ Chí Minh"),
    ("P. Đa Kao", "Phường Đa Kao"),
    ("HĐND tỉnh", "Hội đồng nhân dân tỉnh"),
    ("Phòng 105", "Phòng một trăm linh năm"),
    ("phí 1.500.000 đồng", "phí một triệu năm trăm nghìn đồng"),
    ("số 0912", "số không chín một hai"),
    ("Tầng 2,  phòng 21", "Tầng hai, phòng hai mươi mốt"),
    ("Bộ phận Một cửa", "Bộ phận Một cửa"),
]

NUMBER_ERRORS = [-1, 1_000_000_000, 10**12]
CODE_ERRORS = ["", "   ", "H29?", "mã#1", "H29_1", "Ư1"]
PHONE_ERRORS = ["", "abc", "+84 91x"]
DIGIT_ERRORS = ["", "12a", "1 2", "-1", "١٢"]


@pytest.mark.parametrize(("number", "expected"), NUMBERS_NORTH)
def test_numbers_north(number: int, expected: str) -> None:
    assert spell_number(number).text == expected


@pytest.mark.parametrize(("number", "expected"), NUMBERS_SOUTH)
def test_numbers_south(number: int, expected: str) -> None:
    assert spell_number(number, SOUTH).text == expected


@pytest.mark.parametrize(("style", "number", "expected"), NUMBERS_OTHER_STYLES)
def test_numbers_tu_option(style: SpeechStyle, number: int, expected: str) -> None:
    assert spell_number(number, style).text == expected


@pytest.mark.parametrize(("digits", "expected"), DIGITS)
def test_digits_keep_plain_words(digits: str, expected: str) -> None:
    assert spell_digits(digits).text == expected


@pytest.mark.parametrize(("code", "expected"), CODES)
def test_codes(code: str, expected: str) -> None:
    assert spell_code(code).text == expected


@pytest.mark.parametrize(("code", "expected"), CODES_WITH_PAUSES)
def test_codes_with_pauses_for_separators(code: str, expected: str) -> None:
    assert spell_code(code, spoken_separators=False).text == expected


@pytest.mark.parametrize(("number", "expected"), PHONES)
def test_phones(number: str, expected: str) -> None:
    assert spell_phone(number).text == expected


@pytest.mark.parametrize(("style", "month", "expected"), MONTHS)
def test_months(style: SpeechStyle, month: int, expected: str) -> None:
    assert spell_month(month, style).text == expected


@pytest.mark.parametrize(("style", "day", "expected"), DATES)
def test_dates(style: SpeechStyle, day: date, expected: str) -> None:
    assert spell_date(day, style).text == expected


@pytest.mark.parametrize(("day", "expected"), DATES_WITH_WEEKDAY)
def test_dates_with_weekday(day: date, expected: str) -> None:
    assert spell_date(day, weekday=True).text == expected


@pytest.mark.parametrize(("day", "expected"), WEEKDAYS)
def test_weekdays(day: date, expected: str) -> None:
    assert spell_weekday(day).text == expected


@pytest.mark.parametrize(("style", "moment", "expected"), TIMES)
def test_times(style: SpeechStyle, moment: time, expected: str) -> None:
    assert spell_time(moment, style).text == expected


@pytest.mark.parametrize(("moment", "expected"), DATETIMES)
def test_appointments(moment: datetime, expected: str) -> None:
    assert spell_datetime(moment).text == expected


@pytest.mark.parametrize(("text", "expected"), TEXTS)
def test_free_text_for_agency_names(text: str, expected: str) -> None:
    assert expand_text(text) == expected


@pytest.mark.parametrize("number", NUMBER_ERRORS)
def test_numbers_out_of_range(number: int) -> None:
    with pytest.raises(SpeechError, match="outside"):
        spell_number(number)


@pytest.mark.parametrize("value", [True, 2.0, "12"])
def test_numbers_must_be_integers(value: object) -> None:
    with pytest.raises(SpeechError, match="not an integer"):
        spell_number(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", CODE_ERRORS)
def test_codes_with_unspeakable_characters(code: str) -> None:
    with pytest.raises(SpeechError):
        spell_code(code)


@pytest.mark.parametrize("number", PHONE_ERRORS)
def test_bad_phone_numbers(number: str) -> None:
    with pytest.raises(SpeechError):
        spell_phone(number)


@pytest.mark.parametrize("digits", DIGIT_ERRORS)
def test_bad_digit_strings(digits: str) -> None:
    with pytest.raises(SpeechError):
        spell_digits(digits)


@pytest.mark.parametrize("day", [0, 32])
def test_bad_days(day: int) -> None:
    with pytest.raises(SpeechError):
        spell_day(day)


@pytest.mark.parametrize("month", [0, 13])
def test_bad_months(month: int) -> None:
    with pytest.raises(SpeechError):
        spell_month(month)


def test_the_table_is_large_enough() -> None:
    tables = (
        NUMBERS_NORTH,
        NUMBERS_SOUTH,
        NUMBERS_OTHER_STYLES,
        DIGITS,
        CODES,
        CODES_WITH_PAUSES,
        PHONES,
        MONTHS,
        DATES,
        DATES_WITH_WEEKDAY,
        WEEKDAYS,
        TIMES,
        DATETIMES,
        TEXTS,
    )
    errors = len(NUMBER_ERRORS) + len(CODE_ERRORS) + len(PHONE_ERRORS) + len(DIGIT_ERRORS)
    assert sum(len(t) for t in tables) + errors >= 300


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["Hồ sơ số", "một", ",", "hai"], "Hồ sơ số một, hai"),
        (["đang xử lý", ".", "Ngày hẹn:", "mùng"], "đang xử lý. Ngày hẹn: mùng"),
        (["quý vị.", ".", "Bấm"], "quý vị. Bấm"),  # a sentence's own full stop is not doubled
        ([",", "một", ",", ",", "hai"], "một, hai"),
        (["", "một", ""], "một"),
    ],
)
def test_words_join_with_punctuation_attached(words: list[str], expected: str) -> None:
    assert join_words(words) == expected
