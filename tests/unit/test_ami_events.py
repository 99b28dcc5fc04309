from __future__ import annotations

from urllib.parse import quote

from ivr.ami import (
    AgentConnect,
    AgiOutcome,
    AmiMessage,
    AsyncAgiExec,
    AsyncAgiStart,
    Hangup,
    OriginateResponse,
    OtherEvent,
    QueueCallerJoin,
    parse_event,
)
from ivr.ami.events import parse_agi_env, parse_channel_info

ENV = (
    "agi_request: async\nagi_channel: Local/s@caller-00000000;1\nagi_language: vi\n"
    "agi_uniqueid: 1795354787.0\nagi_callerid: 0912345678\nagi_calleridname: Nguyễn Văn A\n"
    "agi_accountcode: \nagi_context: hotline\nagi_extension: 1022\n\n"
)


def test_async_agi_start_reads_the_url_encoded_environment() -> None:
    message = AmiMessage.of(
        ("Event", "AsyncAGIStart"),
        ("Channel", "Local/s@caller-00000000;1"),
        ("Uniqueid", "1795354787.0"),
        ("Linkedid", "1795354787.0"),
        ("Context", "hotline"),
        ("Exten", "1022"),
        ("Env", quote(ENV)),
    )
    event = parse_event(message)
    assert isinstance(event, AsyncAgiStart)
    assert event.caller_id == "0912345678"
    assert event.caller_name == "Nguyễn Văn A"
    assert event.channel == "Local/s@caller-00000000;1"
    assert event.env["agi_language"] == "vi"
    assert event.env["agi_accountcode"] == ""


def test_withheld_caller_is_none() -> None:
    env = quote("agi_callerid: unknown\nagi_calleridname: unknown\n\n")
    event = parse_event(AmiMessage.of(("Event", "AsyncAGIStart"), ("Env", env)))
    assert isinstance(event, AsyncAgiStart)
    assert (event.caller_id, event.caller_name) == (None, None)


def test_env_line_without_space_after_colon() -> None:
    assert parse_agi_env(quote("agi_accountcode:\nagi_type: Local\n")) == {
        "agi_accountcode": "",
        "agi_type": "Local",
    }


def test_async_agi_exec_carries_our_command_id_and_a_parsed_result() -> None:
    message = AmiMessage.of(
        ("Event", "AsyncAGIExec"),
        ("Channel", "Local/s@caller-00000000;1"),
        ("CommandId", "sgw-1"),
        ("Result", "200 result=987"),
    )
    event = parse_event(message)
    assert isinstance(event, AsyncAgiExec)
    assert (event.command_id, event.result.result, event.result.outcome) == (
        "sgw-1",
        "987",
        AgiOutcome.OK,
    )


def test_hangup_cause() -> None:
    message = AmiMessage.of(
        ("Event", "Hangup"), ("Channel", "c"), ("Cause", "16"), ("Cause-txt", "Normal Clearing")
    )
    assert parse_event(message) == Hangup("c", "", 16, "Normal Clearing")


def test_originate_response_failure() -> None:
    message = AmiMessage.of(
        ("Event", "OriginateResponse"), ("ActionID", "a9"), ("Response", "Failure"), ("Reason", "5")
    )
    event = parse_event(message)
    assert isinstance(event, OriginateResponse)
    assert (event.action_id, event.success, event.reason) == ("a9", False, 5)


def test_queue_events_name_caller_and_operator() -> None:
    join = parse_event(
        AmiMessage.of(
            ("Event", "QueueCallerJoin"),
            ("Queue", "operators"),
            ("Channel", "Local/s@caller-0000000a;1"),
            ("Position", "1"),
            ("Count", "1"),
        )
    )
    assert join == QueueCallerJoin("operators", "Local/s@caller-0000000a;1", "", 1, 1)
    connect = parse_event(
        AmiMessage.of(
            ("Event", "AgentConnect"),
            ("Queue", "operators"),
            ("Channel", "Local/s@caller-0000000a;1"),
            ("DestChannel", "Local/desk1@operator-desk-0000000b;1"),
            ("Interface", "Local/desk1@operator-desk/n"),
            ("MemberName", "Desk 1"),
            ("HoldTime", "3"),
            ("ChanVariable", "STATUSGW_DOSSIER=000.00.22.H29-240101-0001"),
        )
    )
    assert isinstance(connect, AgentConnect)
    assert connect.member_channel == "Local/desk1@operator-desk-0000000b;1"
    assert connect.hold_time == 3
    assert connect.variables == {"STATUSGW_DOSSIER": "000.00.22.H29-240101-0001"}


def test_unmodelled_events_keep_their_headers() -> None:
    event = parse_event(AmiMessage.of(("Event", "Newchannel"), ("Channel", "x")))
    assert isinstance(event, OtherEvent)
    assert (event.name, event.message.get("channel")) == ("Newchannel", "x")


def test_channel_in_async_agi_is_recognised() -> None:
    item = AmiMessage.of(
        ("Event", "CoreShowChannel"),
        ("Channel", "Local/s@caller-00000000;1"),
        ("Application", "AGI"),
        ("ApplicationData", "agi:async"),
        ("Priority", "8"),
        ("CallerIDNum", "<unknown>"),
    )
    info = parse_channel_info(item)
    assert info.in_async_agi
    assert (info.priority, info.caller_id) == (8, None)
