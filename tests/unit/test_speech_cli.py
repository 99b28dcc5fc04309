"""``statusgw prompts say|list``: what the hotline will say, on one line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gateway.settings import Settings, load_settings
from prompts import cli


def say(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["say", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["number", "2025"], "hai nghìn không trăm hai mươi lăm"),
        (["number", "2025", "--region", "south"], "hai ngàn không trăm hai mươi lăm"),
        (["number", "24", "--tu", "no"], "hai mươi bốn"),
        (["number", "24", "--region", "south", "--tu", "yes"], "hai mươi tư"),
        (["number", "1,500,000"], "một triệu năm trăm nghìn"),
        (["digits", "1022"], "một không hai hai"),
        (["date", "2025-03-05"], "ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm"),
        (
            ["date", "2026-01-05", "--gieng"],
            "ngày mùng năm tháng Giêng năm hai nghìn không trăm hai mươi sáu",
        ),
        (["weekday", "2025-03-05"], "thứ tư"),
        (["time", "14:30"], "hai giờ ba mươi phút chiều"),
        (["time", "14:30", "--24h"], "mười bốn giờ ba mươi phút"),
        (
            ["datetime", "2025-03-05T09:00"],
            "chín giờ sáng, ngày mùng năm tháng ba năm hai nghìn không trăm hai mươi lăm",
        ),
        (
            ["code", "000.00.22.H29-240101-0001"],
            "không không không chấm không không chấm hai hai chấm hát hai chín gạch "
            "hai bốn không một không một gạch không không không một",
        ),
        (["phone", "0912345678"], "không chín một hai, ba bốn năm, sáu bảy tám"),
        (["status", "4"], "đang được xử lý"),
        (["status", "releasing"], "đã có kết quả, mời đến nhận"),
        (["text", "UBND quận 1"], "Ủy ban nhân dân quận một"),
    ],
)
def test_say_prints_the_words_on_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    assert say(capsys, *argv) == (0, expected + "\n", "")


def test_say_fragments_prints_the_ids(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = say(capsys, "number", "2025", "--fragments")
    assert code == 0
    assert (
        out == "digits/2 digits/thousand digits/0 digits/hundred digits/2 digits/tens digits/5a\n"
    )
    code, out, _ = say(capsys, "code", "H29-1", "--fragments")
    assert out == "letters/h digits/2 digits/9 sym/dash digits/1\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["number", "1000000000"], "outside 0..999,999,999"),
        (["number", "abc"], "cannot say number 'abc'"),
        (["date", "2025-02-30"], "cannot say date"),
        (["code", "H29#1"], "no spoken name for '#'"),
        (["status", "whatever"], "unknown dossier status"),
        (["time", "25:00"], "cannot say time"),
    ],
)
def test_say_explains_what_it_cannot_read(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = say(capsys, *argv)
    assert (code, out) == (65, "")
    assert message in err
    assert err.count("\n") == 1


def test_list_prints_every_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "--en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
    assert rows["ivr/greeting"][1] == "Welcome to the administrative dossier status hotline."
    assert rows["status/processing"][0] == "đang được xử lý"
    assert rows["digits/5a"][0] == "lăm"
    assert len(rows) == len(lines)


def test_list_with_a_config_adds_agencies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "statusgw.toml"
    path.write_text('[prompts]\nagencies = ["UBND quận 1"]\nagencies_from_source = false\n')
    assert cli.main(["list", "--config", str(path)]) == 0
    agencies = [line for line in capsys.readouterr().out.splitlines() if line.startswith("agency/")]
    assert len(agencies) == 1
    assert agencies[0].endswith("\tỦy ban nhân dân quận một")


def test_the_gateway_cli_needs_one_call() -> None:
    loaded: list[str | None] = []

    def loader(path: str | None) -> Settings:
        loaded.append(path)
        return load_settings(None)

    parser = argparse.ArgumentParser()
    cli.add_prompts_commands(parser.add_subparsers(), loader)
    args = parser.parse_args(["prompts", "say", "number", "21"])
    assert args.handler(args) == 0
    assert loaded == []  # saying needs no configuration
