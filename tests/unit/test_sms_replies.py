"""Reply texts: the right facts, the privacy rules, and one GSM-7 segment in fold mode."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.dossier import Status
from gateway.privacy import Disclosure, DossierView
from sms.replies import ACCENTED_BUDGET, FOLD_BUDGET, SmsReplies
from sms.text import encode_reply, gsm7_encodable, gsm7_septets

FOLD = SmsReplies("8283", hotline="1022")
ACCENTED = SmsReplies("8283", hotline="1022", accented=True)
DUE = datetime(2025, 3, 15, 9, 0)

CODES = [
    "000.00.22.H29-240101-0001",
    "38.98.H29-210519-0013",
    "000.A0.01.H26-210212-9090",
    "000.00.06.H56-231027-03611",
    "TT250C8DDF4C1E",
]
AGENCIES = [
    "UBND phường Bến Nghé",
    "Bộ phận Một cửa UBND phường Bến Nghé, Quận 1",
    "Trung tâm Phục vụ hành chính công tỉnh Thanh Hóa",
    "Văn phòng Đăng ký đất đai Hà Nội - Chi nhánh quận Hoàn Kiếm",
    "Sở Tư pháp TP. Hồ Chí Minh",
    "",
]
PROCEDURES = [
    None,
    "Cấp phiếu lý lịch tư pháp",
    "Đăng ký khai sinh",
    "Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với"
    " đất lần đầu",
    "Cấp Giấy phép xây dựng mới đối với nhà ở riêng lẻ",
]
INITIALS = [None, "N.V.H.", "Đ.T.T.H.", "L.Q."]


def view(
    *,
    code: str = CODES[0],
    status: Status = Status.PROCESSING,
    due: datetime | None = DUE,
    overdue: bool = False,
    agency: str = "UBND phường Bến Nghé",
    procedure: str | None = None,
    initials: str | None = None,
) -> DossierView:
    verified = procedure is not None or initials is not None
    return DossierView(
        code=code,
        status=status,
        due_at=due,
        overdue=overdue,
        agency=agency,
        disclosure=Disclosure.VERIFIED if verified else Disclosure.BASIC,
        procedure=procedure,
        initials=initials,
    )


def realistic_views() -> list[DossierView]:
    views = []
    for status, code, agency in itertools.product(Status, CODES, AGENCIES):
        for procedure, initials in zip(PROCEDURES, itertools.cycle(INITIALS), strict=False):
            late = status is Status.PROCESSING
            views.append(view(code=code, status=status, overdue=late, agency=agency))
            views.append(
                view(
                    code=code,
                    status=status,
                    due=None,
                    overdue=True,
                    agency=agency,
                    procedure=procedure,
                    initials=initials,
                )
            )
    return views


def fold_replies() -> list[str]:
    replies = [FOLD.found(v) for v in realistic_views()]
    for book in (FOLD, SmsReplies("8283", hotline="1022 nhánh 2", keyword="TRACUU")):
        replies += [
            *(book.not_found(code) for code in CODES),
            book.procedure_code_given(),
            book.invalid_code("000.00.22.H29-2401"),
            book.invalid_code("x" * 200),
            book.help(),
            book.unknown(),
            book.too_many_codes(3, 7),
            book.rate_limited(3600),
            book.rate_limited(None),
            book.unavailable(),
        ]
    return replies


# --- the budget -------------------------------------------------------------------------------


def test_every_fold_reply_fits_one_gsm7_segment() -> None:
    replies = fold_replies()
    assert len(replies) > 1000
    for text in replies:
        assert gsm7_encodable(text), text
        assert gsm7_septets(text) <= FOLD_BUDGET, text
        encoded = encode_reply(text, "fold", max_parts=1)
        assert len(encoded.parts) == 1 and not encoded.truncated and not encoded.replaced
        assert encoded.text == text  # already folded: the encoder changes nothing


def test_every_accented_reply_fits_three_ucs2_parts() -> None:
    for v in realistic_views():
        text = ACCENTED.found(v)
        assert len(text.encode("utf-16-be")) // 2 <= ACCENTED_BUDGET
        encoded = encode_reply(text, "unicode", max_parts=3)
        assert not encoded.truncated and not encoded.replaced


@given(
    st.builds(
        view,
        code=st.text(max_size=60),
        status=st.sampled_from(Status),
        overdue=st.booleans(),
        agency=st.text(max_size=300),
        procedure=st.none() | st.text(max_size=300),
        initials=st.none() | st.text(max_size=50),
    )
)
def test_found_stays_in_budget_whatever_the_source_holds(v: DossierView) -> None:
    folded = FOLD.found(v)
    assert gsm7_encodable(folded) and gsm7_septets(folded) <= FOLD_BUDGET
    assert ACCENTED.size(ACCENTED.found(v)) <= ACCENTED_BUDGET


@given(st.text(max_size=500), st.text(max_size=100))
def test_other_replies_stay_in_budget_whatever_the_configuration(typed: str, hotline: str) -> None:
    for book in (SmsReplies("8283", hotline=hotline), SmsReplies("8283", hotline, accented=True)):
        for text in (book.invalid_code(typed), book.not_found(typed), book.help()):
            assert book.size(text) <= book.budget
            assert book.accented or gsm7_encodable(text)


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_any_configuration_gives_gsm7_in_fold_mode(
    short_code: str, keyword: str, example: str
) -> None:
    book = SmsReplies(short_code, hotline="1022", keyword=keyword, example_code=example)
    for text in (book.help(), book.unknown(), book.procedure_code_given(), book.invalid_code("1")):
        assert gsm7_encodable(text) and gsm7_septets(text) <= FOLD_BUDGET


def test_a_long_configuration_is_cut_not_sent_over_budget() -> None:
    book = SmsReplies("8283", hotline="1022", example_code="0" * 200)
    text = book.procedure_code_given()
    assert gsm7_septets(text) == FOLD_BUDGET and text.endswith("...")
    assert "1022" not in text  # the hotline is added only when it fits


# --- the found reply --------------------------------------------------------------------------


def test_found_reads_like_the_offices_templates() -> None:
    assert FOLD.found(view()) == (
        "HS 000.00.22.H29-240101-0001: DANG XU LY. Hen tra 15/03/2025."
        " Noi nhan KQ: UBND phuong Ben Nghe."
    )
    assert ACCENTED.found(view()) == (
        "Hồ sơ 000.00.22.H29-240101-0001: Đang xử lý. Hẹn trả 15/03/2025."
        " Nơi nhận kết quả: UBND phường Bến Nghé."
    )


def test_found_overdue() -> None:
    assert FOLD.found(view(overdue=True)).startswith(
        "HS 000.00.22.H29-240101-0001: DANG XU LY, TRE HAN. Hen tra 15/03/2025."
    )
    assert "trễ hạn" in ACCENTED.found(view(overdue=True))
    assert "TRE HAN" not in FOLD.found(view(overdue=False))


def test_found_result_ready_says_where_to_collect() -> None:
    text = FOLD.found(view(status=Status.RESULT_READY))
    assert text == (
        "HS 000.00.22.H29-240101-0001: DA CO KET QUA, CHO TRA."
        " Moi den nhan KQ tai UBND phuong Ben Nghe."
    )


@pytest.mark.parametrize("status", [s for s in Status if s.is_final])
def test_found_closed_dossier_has_no_due_date(status: Status) -> None:
    text = FOLD.found(view(status=status))
    assert "Hen tra" not in text
    assert "Noi xu ly: UBND phuong Ben Nghe." in text
    assert status.sms_label.upper() in text


@pytest.mark.parametrize("status", list(Status))
def test_found_shows_every_status_label(status: Status) -> None:
    assert f": {status.sms_label.upper()}" in FOLD.found(view(status=status))
    assert f": {status.label}" in ACCENTED.found(view(status=status))


def test_found_without_due_date_or_agency() -> None:
    assert FOLD.found(view(due=None, agency="")) == "HS 000.00.22.H29-240101-0001: DANG XU LY."


def test_code_alone_discloses_nothing_personal() -> None:
    text = FOLD.found(view())
    assert "Thu tuc" not in text and "Chu HS" not in text


def test_second_factor_adds_procedure_and_initials() -> None:
    text = FOLD.found(view(procedure="Cấp phiếu lý lịch tư pháp", initials="Đ.T.T.H."))
    assert text.endswith(" Thu tuc: Cap phieu ly lich tu phap. Chu HS: D.T.T.H.")
    accented = ACCENTED.found(view(procedure="Cấp phiếu lý lịch tư pháp", initials="Đ.T.T.H."))
    assert accented.endswith(" Thủ tục: Cấp phiếu lý lịch tư pháp. Chủ hồ sơ: Đ.T.T.H.")


def test_long_names_share_the_room_and_the_facts_survive() -> None:
    v = view(
        status=Status.AWAITING_PAYMENT,
        overdue=True,
        agency=AGENCIES[3],
        procedure=PROCEDURES[3],
        initials="N.V.H.",
    )
    text = FOLD.found(v)
    assert text.startswith(
        "HS 000.00.22.H29-240101-0001: CHO NOP PHI, LE PHI, TRE HAN. Hen tra 15/03/2025."
    )
    assert " Noi nhan KQ: Van phong Dang ky" in text
    assert " Thu tuc: Cap giay chung nh" in text
    assert text.endswith("... Chu HS: N.V.H.")
    assert "...." not in text
    assert gsm7_septets(text) <= FOLD_BUDGET


def test_a_procedure_name_with_no_room_is_left_out_and_the_agency_gets_the_room() -> None:
    book = SmsReplies("8283")
    v = view(
        code="0" * 60,  # a source's own numbering can be long
        status=Status.AWAITING_PAYMENT,
        overdue=True,
        agency="X" * 70,
        procedure="Y" * 70,
        initials="N.V.H.",
    )
    text = book.found(v)
    assert "Y" not in text and "Thu tuc" not in text
    assert "X" * 12 in text and text.endswith("... Chu HS: N.V.H.")
    assert gsm7_septets(text) >= FOLD_BUDGET - 1  # the room went to the agency


# --- the other replies ------------------------------------------------------------------------


def test_not_found() -> None:
    assert FOLD.not_found("000.00.22.H29-240101-0001") == (
        "Khong tim thay ho so 000.00.22.H29-240101-0001. Kiem tra lai ma tren Giay tiep nhan."
        " Cu phap: HS <ma ho so> gui 8283. Ho tro: 1022."
    )


def test_procedure_code_given() -> None:
    text = FOLD.procedure_code_given()
    assert text.startswith("Day la ma thu tuc, khong phai ma ho so.")
    assert "vd 000.00.22.H29-240101-0001" in text and "gui 8283" in text


def test_invalid_code_echo_is_sanitised() -> None:
    text = FOLD.invalid_code("0909 {evil} [link] http://x.y/€ 😀")
    assert text.startswith("Ma 0909 EVIL LINK HTTP//X.Y/ khong dung.")
    assert not set("{}[]€😀") & set(text)
    assert FOLD.invalid_code("").startswith("Ma khong dung.")
    assert FOLD.invalid_code("1" * 100).startswith("Ma " + "1" * 30 + " khong dung.")


def test_help_names_syntax_short_code_factor_and_hotline() -> None:
    assert FOLD.help() == (
        "Tra cuu ho so: soan HS <ma ho so> gui 8283. Ma in tren Giay tiep nhan."
        " Them 4 so cuoi SDT dang ky sau ma de xem ten thu tuc. Ho tro: 1022."
    )
    assert "Hỗ trợ: 1022." in ACCENTED.help()
    assert "Ho tro" not in SmsReplies("8283").help()


def test_unknown_shows_the_syntax() -> None:
    assert FOLD.unknown() == (
        "Tin nhan chua dung cu phap. Cu phap: HS <ma ho so> gui 8283. Huong dan: soan HD gui 8283."
    )


def test_too_many_codes() -> None:
    assert FOLD.too_many_codes(3, 2) == (
        "Moi tin chi tra cuu toi da 3 ma ho so. 2 ma con lai chua duoc tra loi,"
        " vui long gui trong tin khac."
    )


def test_rate_limited_rounds_the_wait_up_to_minutes() -> None:
    assert "thu lai sau 1 phut." in FOLD.rate_limited(1)
    assert "thu lai sau 3 phut." in FOLD.rate_limited(121)
    assert "thu lai sau. " in FOLD.rate_limited(None)
    assert "thử lại sau 60 phút." in ACCENTED.rate_limited(3600)


def test_unavailable() -> None:
    assert FOLD.unavailable() == (
        "He thong tra cuu tam thoi gian doan. Vui long thu lai sau it phut. Ho tro: 1022."
    )


def test_fold_and_accented_say_the_same_thing() -> None:
    # Folding the accented text gives the fold text, but for the fold's capitals and "HS".
    pairs = [
        (FOLD.not_found(CODES[0]), ACCENTED.not_found(CODES[0])),
        (FOLD.help(), ACCENTED.help()),
        (FOLD.unknown(), ACCENTED.unknown()),
        (FOLD.too_many_codes(3, 1), ACCENTED.too_many_codes(3, 1)),
        (FOLD.rate_limited(60), ACCENTED.rate_limited(60)),
        (FOLD.unavailable(), ACCENTED.unavailable()),
    ]
    for fold, accented in pairs:
        assert encode_reply(accented, "fold").text == fold
