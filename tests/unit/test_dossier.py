"""The status model: every upstream vocabulary maps onto one enum; overdue is computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.dossier import Dossier, Status

NATIONAL = {
    1: Status.SUBMITTED,
    2: Status.ACCEPTED,
    3: Status.REJECTED,
    4: Status.PROCESSING,
    5: Status.NEEDS_SUPPLEMENT,
    6: Status.AWAITING_PAYMENT,
    7: Status.WITHDRAWN,
    8: Status.STOPPED,
    9: Status.RESULT_READY,
    10: Status.RETURNED,
}


@pytest.mark.parametrize(("code", "status"), NATIONAL.items())
def test_national_codes(code: int, status: Status) -> None:
    assert Status.parse(code) is status
    assert Status.parse(str(code)) is status
    assert status.national_code == code


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("processing", Status.PROCESSING),
        ("PROCESSING", Status.PROCESSING),
        ("needs_supplement", Status.NEEDS_SUPPLEMENT),
        ("Đang xử lý", Status.PROCESSING),
        ("Dang xu ly", Status.PROCESSING),
        ("  đã trả kết quả ", Status.RETURNED),
        ("releasing", Status.RESULT_READY),
        ("done", Status.RETURNED),
        ("waiting", Status.NEEDS_SUPPLEMENT),
        ("cancelled", Status.WITHDRAWN),
        ("Đã xử lý xong", Status.RESULT_READY),
        ("Yêu cầu bổ sung giấy tờ", Status.NEEDS_SUPPLEMENT),
        ("paused", Status.PAUSED),
    ],
)
def test_aliases(raw: str, status: Status) -> None:
    assert Status.parse(raw) is status


@pytest.mark.parametrize("raw", ["11", "0", "", "flying", "đang bay"])
def test_unknown_status_is_an_error_naming_it(raw: str) -> None:
    with pytest.raises(ValueError, match="unknown dossier status"):
        Status.parse(raw)


def test_every_status_has_all_texts() -> None:
    for status in Status:
        assert status.label and status.sms_label and status.spoken
        assert status.sms_label.isascii(), status
        assert not status.label.isascii() or status is Status.UNKNOWN or status.label.isascii()


def test_finals() -> None:
    finals = {s for s in Status if s.is_final}
    assert finals == {Status.RETURNED, Status.REJECTED, Status.STOPPED, Status.WITHDRAWN}


def test_overdue_is_computed_from_due_date() -> None:
    now = datetime(2025, 3, 6, 10, tzinfo=UTC)
    due = now - timedelta(days=1)
    open_one = Dossier(code="x", status=Status.PROCESSING, due_at=due)
    assert open_one.is_overdue(now)
    assert not open_one.is_overdue(due - timedelta(hours=1))
    assert not Dossier(code="x", status=Status.RETURNED, due_at=due).is_overdue(now)
    assert not Dossier(code="x", status=Status.PROCESSING).is_overdue(now)
    naive = Dossier(code="x", status=Status.PROCESSING, due_at=due.replace(tzinfo=None))
    assert naive.is_overdue(now)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("new", Status.SUBMITTED),
        ("receiving", Status.SUBMITTED),
        ("denied", Status.REJECTED),
        ("interoperating", Status.PROCESSING),
        ("handover", Status.PROCESSING),
        ("correcting", Status.NEEDS_SUPPLEMENT),
        ("paying", Status.AWAITING_PAYMENT),
        ("pausing", Status.PAUSED),
        ("posting", Status.RESULT_READY),
        ("cancelling", Status.WITHDRAWN),
        ("unresolved", Status.STOPPED),
        ("Yêu cầu thực hiện nghĩa vụ tài chính", Status.AWAITING_PAYMENT),
        ("Công dân yêu cầu rút hồ sơ", Status.WITHDRAWN),
        ("Mới đăng ký", Status.SUBMITTED),
    ],
)
def test_national_portal_vocabulary(raw: str, status: Status) -> None:
    """The English terms and Vietnamese labels the national portal and OpenCPS use."""
    assert Status.parse(raw) is status


def test_each_label_parses_back_and_sms_label_is_the_unaccented_label() -> None:
    for status in Status:
        assert Status.parse(status.label) is status
        assert Status.parse(status.sms_label) is status
        assert Status.parse(status.sms_label) is Status.parse(status.label)


def test_national_codes_are_one_to_one() -> None:
    codes = [s.national_code for s in Status if s.national_code is not None]
    assert sorted(codes) == list(range(1, 11))


def test_a_result_waiting_at_the_desk_is_not_overdue() -> None:
    now = datetime(2025, 3, 6, 10, tzinfo=UTC)
    ready = Dossier(code="x", status=Status.RESULT_READY, due_at=now - timedelta(days=3))
    assert not ready.is_overdue(now)
