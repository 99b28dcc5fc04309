"""The embedded CSV source: the bundled sample, indexes, and errors that name file:line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.file import DossierFileError, FileSource, parse_dossier_csv, read_dossiers
from gateway.dossier import Status
from gateway.settings import ConfigError

HEADER = "code,status,received_at,due_at,agency,procedure,phone,updated_at"
ROW = (
    "000.00.22.H29-240101-0001,4,2025-02-20T08:30:00+07:00,2025-03-05T09:00:00,"
    "UBND phường Bến Nghé,Đăng ký khai sinh,+84912345678,2025-02-20T08:30:00+07:00"
)


def test_bundled_sample_loads() -> None:
    dossiers = read_dossiers(None)
    assert len(dossiers) > 50
    assert len({d.code for d in dossiers}) == len(dossiers)
    assert {d.status for d in dossiers} >= {Status.PROCESSING, Status.PAUSED, Status.RETURNED}


def test_row_is_read_into_the_canonical_model() -> None:
    (d,) = parse_dossier_csv(f"{HEADER}\n{ROW}\n")
    assert d.code == "000.00.22.H29-240101-0001"
    assert d.status is Status.PROCESSING
    assert d.phone == "0912345678"
    # No offset written: Vietnam time.
    assert d.due_at == datetime(2025, 3, 5, 9, 0, tzinfo=timezone(timedelta(hours=7)))


def test_codes_are_canonicalised_and_alt_codes_indexed() -> None:
    text = (
        f"{HEADER},applicant,alt_codes\n"
        "0000022H292401010001,done,,,Agency,Proc,0912345678,,Trần Thị B,"
        "000.00.22.H29-240101-54321;03706/2026/07906\n"
    )
    (d,) = parse_dossier_csv(text)
    assert d.code == "000.00.22.H29-240101-0001"
    assert d.status is Status.RETURNED
    assert d.applicant == "Trần Thị B"
    assert d.alt_codes == ("000.00.22.H29-240101-54321", "03706/2026/07906")


async def test_indexes_by_code_alt_code_digits_and_phone() -> None:
    text = (
        f"{HEADER},alt_codes\n{ROW},000.00.22.H29-240101-54321\n"
        "000.00.22.H29-240101-0002,10,,,A,P,0912345678,,\n"
    )
    source = FileSource(parse_dossier_csv(text))
    assert (await source.fetch("000.00.22.H29-240101-54321")) is not None
    assert await source.fetch("000.00.22.H29-240101-0009") is None
    by_digits = await source.fetch_by_digits("0000022292401010001")
    assert [d.code for d in by_digits] == ["000.00.22.H29-240101-0001"]
    # Only open dossiers are offered by phone; the returned one (status 10) is not.
    by_phone = await source.fetch_by_phone("84912345678")
    assert [d.code for d in by_phone] == ["000.00.22.H29-240101-0001"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("000.00.22.H29-240101-0001,99,,,A,P,,", "data.csv:2: unknown dossier status '99'"),
        ("000.00.22.H29-240101-0001,,,,A,P,,", "data.csv:2: status is empty"),
        ("000.00.22.H29-240101-0001,4,yesterday,,A,P,,", "data.csv:2: received_at"),
        (",4,,,A,P,,", "data.csv:2: code is empty"),
        ("000.00.22.H29-240101-0001,4,,,A,P,,,extra", "data.csv:2: more fields"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(DossierFileError) as caught:
        read_dossiers(path)
    assert str(caught.value).startswith(str(path.parent / message))
    assert isinstance(caught.value, ConfigError)


def test_duplicate_code_names_both_lines() -> None:
    with pytest.raises(DossierFileError, match=r"x.csv:3: code .* already appears on line 2"):
        parse_dossier_csv(f"{HEADER}\n{ROW}\n{ROW}\n", origin="x.csv")


def test_header_problems_are_reported() -> None:
    with pytest.raises(DossierFileError, match=r"x\.csv:1: missing column"):
        parse_dossier_csv("code,status\n", origin="x.csv")
    with pytest.raises(DossierFileError, match=r"x\.csv:1: unknown column.*colour"):
        parse_dossier_csv(f"{HEADER},colour\n", origin="x.csv")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DossierFileError, match="does not exist"):
        read_dossiers(tmp_path / "nope.csv")
