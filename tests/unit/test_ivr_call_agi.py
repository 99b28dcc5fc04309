"""Dialogue commands as AGI lines, AGI results as answers, lookups as dialogue answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.dossier import Status
from gateway.lookup import DigitsKind, DigitsMatch, LookupResult
from gateway.lookup import Outcome as LookupOutcome
from gateway.privacy import Disclosure, DossierView
from ivr import agi
from ivr.agi import DigitTimeouts, PromptTooLongError
from ivr.ami.agiresult import parse_agi_result
from ivr.ami.events import ChannelInfo
from ivr.commands import (
    Ambiguous,
    Collect,
    Found,
    Keys,
    LookupFailed,
    NotFound,
    Play,
    SetVariables,
)
from ivr.dispatcher import answer_of, in_async_agi

PREFIX = "statusgw"


def test_arguments_are_quoted_for_res_agi() -> None:
    assert agi.quote('đã "trả", \\ ok') == '"đã \\"trả\\", \\\\ ok"'


def test_plain_variables_share_one_mset_and_text_gets_set_variable() -> None:
    lines = agi.set_lines(
        SetVariables(
            (
                ("__STATUSGW_DOSSIER", "000.00.22.H29-240101-0001"),
                ("__STATUSGW_SAID", 'trạng thái: "đang xử lý", hẹn trả'),
                ("TIMEOUT(absolute)", "630"),
                ("__STATUSGW_PATH", "code>confirm:1"),
            )
        )
    )
    assert lines == [
        'EXEC MSet "__STATUSGW_DOSSIER=000.00.22.H29-240101-0001,TIMEOUT(absolute)=630,'
        '__STATUSGW_PATH=code>confirm:1"',
        'SET VARIABLE __STATUSGW_SAID "trạng thái: \\"đang xử lý\\", hẹn trả"',
    ]


def test_an_empty_value_is_set_empty() -> None:
    assert agi.set_lines(SetVariables((("__STATUSGW_SAID", ""),))) == [
        'EXEC MSet "__STATUSGW_SAID="'
    ]


def test_a_one_key_menu_is_read_with_its_timeout() -> None:
    lines, timeouts = agi.collect_lines(Collect(("ivr/menu",), 1, 6.0, 6.0), PREFIX, None)
    assert lines == [
        "EXEC Read STATUSGW_KEYS,statusgw/vi/ivr/menu,1,,,6",
        "GET FULL VARIABLE ${READSTATUS}:${STATUSGW_KEYS}",
    ]
    assert timeouts is None  # the channel's TIMEOUT() values were not touched


def test_code_entry_sets_first_and_inter_digit_timeouts_once() -> None:
    collect = Collect(("ivr/greeting", "ivr/enter_code"), 24, 8.0, 3.0)
    lines, timeouts = agi.collect_lines(collect, PREFIX, None)
    assert lines == [
        'EXEC MSet "TIMEOUT(response)=8,TIMEOUT(digit)=3"',
        "EXEC Read STATUSGW_KEYS,statusgw/vi/ivr/greeting&statusgw/vi/ivr/enter_code,24",
        agi.READ_ANSWER,
    ]
    assert timeouts == DigitTimeouts(8.0, 3.0)
    again, _ = agi.collect_lines(collect, PREFIX, timeouts)
    assert not again[0].startswith("EXEC MSet")


def test_a_prompt_too_long_for_one_line_plays_its_head_first() -> None:
    prompts = tuple(f"digits/{n % 10}" for n in range(80))
    lines, _ = agi.collect_lines(Collect(prompts, 1, 5.0, 5.0), PREFIX, None)
    assert all(len(line.encode()) <= agi.MAX_COMMAND_BYTES for line in lines)
    assert lines[0].startswith("EXEC Playback ")
    assert lines[-2].startswith("EXEC Read ")
    heads = [line.removeprefix("EXEC Playback ") for line in lines[:-2]]
    tail = lines[-2].split(",")[1]
    played = [name for group in [*heads, tail] for name in group.split("&")]
    assert played == [f"{PREFIX}/vi/{p}" for p in prompts]


@given(st.lists(st.sampled_from(["digits/1", "ivr/menu", "word/ngay", "status/processing"])))
def test_play_lines_keep_every_prompt_in_order_within_the_line_limit(prompts: list[str]) -> None:
    lines = agi.play_lines(Play(tuple(prompts)), PREFIX)
    assert all(len(line.encode()) <= agi.MAX_COMMAND_BYTES for line in lines)
    names = [n for line in lines for n in line.removeprefix("EXEC Playback ").split("&")]
    assert names == [f"{PREFIX}/vi/{p}" for p in prompts]


def test_prompt_ids_must_be_plain_paths() -> None:
    with pytest.raises(PromptTooLongError):
        agi.sound(PREFIX, "ivr/menu,1,,,0&evil")


def test_adjacent_msets_are_merged() -> None:
    lines = ['EXEC MSet "a=1"', 'EXEC MSet "b=2"', "EXEC Read X", 'EXEC MSet "c=3"', "HANGUP"]
    assert agi.merge_msets(lines) == ['EXEC MSet "a=1,b=2"', "EXEC Read X", *lines[3:]]
    long = [f'EXEC MSet "v{i}={"x" * 300}"' for i in range(5)]
    assert all(len(line) <= agi.MAX_COMMAND_BYTES for line in agi.merge_msets(long))
    assert len(agi.merge_msets(long)) > 1


@pytest.mark.parametrize(
    ("line", "keys"),
    [
        ("200 result=1 (OK:0000022292401010001)", Keys("0000022292401010001")),
        ("200 result=1 (OK:)", Keys("")),  # only "#"
        ("200 result=1 (TIMEOUT:123)", Keys("123", timed_out=True)),
        ("200 result=1 (TIMEOUT:)", Keys("", timed_out=True)),
        ("200 result=1 (OK:*)", Keys("*")),
        ("200 result=1 (HANGUP:)", None),
        ("200 result=1 (ERROR:)", None),
        ("511 Command Not Permitted on a dead channel or intercept routine", None),
    ],
)
def test_keys_come_from_readstatus(line: str, keys: Keys | None) -> None:
    assert agi.keys_from(parse_agi_result(line)) == keys


VIEW = DossierView(
    "000.00.22.H29-240101-0001",
    Status.PROCESSING,
    datetime(2025, 3, 5, tzinfo=UTC),
    False,
    "UBND",
    Disclosure.BASIC,
)


@pytest.mark.parametrize(
    ("match", "answer"),
    [
        (
            DigitsMatch(DigitsKind.UNIQUE, LookupResult(LookupOutcome.FOUND, VIEW, "f", "hit")),
            Found(7, VIEW),
        ),
        (
            DigitsMatch(DigitsKind.AMBIGUOUS, LookupResult(LookupOutcome.FOUND, None, "f", "x"), 2),
            Ambiguous(7),
        ),
        (
            DigitsMatch(DigitsKind.NONE, LookupResult(LookupOutcome.NOT_FOUND, None, "f", "x")),
            NotFound(7),
        ),
        (
            DigitsMatch(DigitsKind.NONE, LookupResult(LookupOutcome.UNAVAILABLE, None, None, "x")),
            LookupFailed(7),
        ),
        (
            DigitsMatch(DigitsKind.NONE, LookupResult(LookupOutcome.RATE_LIMITED, None, None, "")),
            LookupFailed(7, rate_limited=True),
        ),
    ],
)
def test_digits_matches_become_dialogue_answers(match: DigitsMatch, answer: object) -> None:
    assert answer_of(match, 7) == answer


def channel(application: str, data: str = "") -> ChannelInfo:
    return ChannelInfo(
        "Local/s@caller-1;1", "1.1", "1.1", "hotline", "1022", 9, application, data, None, "Up", ""
    )


def test_a_channel_running_our_exec_is_still_inside_async_agi() -> None:
    assert in_async_agi(channel("AGI", "agi:async"))
    assert in_async_agi(channel("Read", "STATUSGW_KEYS,statusgw/vi/ivr/menu,1,,,6"))
    assert in_async_agi(channel("Playback", "statusgw/vi/ivr/transfer"))
    assert not in_async_agi(channel("Queue", "operators,r,,,900"))
    assert not in_async_agi(channel("AGI", "agi://127.0.0.1/other"))
