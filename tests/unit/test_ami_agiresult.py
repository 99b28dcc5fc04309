from __future__ import annotations

import pytest

from ivr.ami import AgiOutcome, parse_agi_result


@pytest.mark.parametrize(
    ("line", "outcome", "result", "data"),
    [
        ("200 result=0000022292401010001", AgiOutcome.OK, "0000022292401010001", ""),
        ("200 result=987", AgiOutcome.OK, "987", ""),
        ("200 result=", AgiOutcome.OK, "", ""),  # GET DATA: only '#' was pressed
        ("200 result=9 (timeout)", AgiOutcome.OK, "9", "timeout"),
        ("200 result= (timeout)", AgiOutcome.OK, "", "timeout"),
        ("200 result=0 (timeout)", AgiOutcome.OK, "0", "timeout"),
        ("200 result=1 (vi)", AgiOutcome.OK, "1", "vi"),  # GET VARIABLE
        ("200 result=1 (two words)", AgiOutcome.OK, "1", "two words"),
        ("200 result=-1", AgiOutcome.FAILED, "-1", ""),
        ("510 Invalid or unknown command", AgiOutcome.INVALID_COMMAND, "", ""),
        (
            "511 Command Not Permitted on a dead channel or intercept routine",
            AgiOutcome.DEAD_CHANNEL,
            "",
            "",
        ),
        ("520 Invalid command syntax.  Proper usage not available.", AgiOutcome.USAGE, "", ""),
        ("HANGUP", AgiOutcome.HANGUP, "", ""),
        ("", AgiOutcome.UNKNOWN, "", ""),
        ("garbage", AgiOutcome.UNKNOWN, "", ""),
        ("200 nonsense", AgiOutcome.UNKNOWN, "", ""),
        ("404 Not here", AgiOutcome.UNKNOWN, "", ""),
    ],
)
def test_result_lines(line: str, outcome: AgiOutcome, result: str, data: str) -> None:
    parsed = parse_agi_result(line)
    assert (parsed.outcome, parsed.result, parsed.data) == (outcome, result, data)
    assert parsed.ok is (outcome is AgiOutcome.OK)


def test_trailing_newline_from_async_agi_exec_is_ignored() -> None:
    # AsyncAGIExec's Result ends in %0A; decoded, that is a newline.
    parsed = parse_agi_result("200 result=987\n")
    assert parsed.result == "987"
    assert parsed.line == "200 result=987"


def test_playback_end_position_is_kept() -> None:
    parsed = parse_agi_result("200 result=0 endpos=16000")
    assert parsed.ok
    assert parsed.extras == {"endpos": "16000"}
    assert parsed.number == 0


def test_escape_key_with_end_position_and_data() -> None:
    parsed = parse_agi_result("200 result=49 (dtmf) endpos=8000")
    assert (parsed.number, parsed.data, parsed.extras["endpos"]) == (49, "dtmf", "8000")


def test_timeout_flag() -> None:
    assert parse_agi_result("200 result=12 (timeout)").timed_out
    assert not parse_agi_result("200 result=12").timed_out


def test_multiline_usage_answer_reads_its_first_line() -> None:
    text = (
        "520-Invalid command syntax.  Proper usage follows:\n"
        "Usage: GET DATA\n520 End of proper usage."
    )
    parsed = parse_agi_result(text)
    assert parsed.outcome is AgiOutcome.USAGE
    assert parsed.code == 520


def test_number_of_a_non_numeric_result_is_none() -> None:
    assert parse_agi_result("200 result=").number is None
