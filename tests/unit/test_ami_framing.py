from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.ami import AmiError, AmiFailure
from ivr.ami.framing import MAX_MESSAGE_CHARS, AmiMessage, FrameDecoder, encode_action

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
NEW_CALLER = (
    "Event: NewCallerid\r\nChannel: Local/s@caller-00000000;1\r\n"
    "CallerIDNum: 0912345678\r\nCallerIDName: Nguyễn Văn Ấn\r\n\r\n"
).encode()
LOGIN_OK = b"Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"


def feed_in_pieces(data: bytes, cuts: list[int]) -> list[AmiMessage]:
    decoder = FrameDecoder()
    messages = []
    bounds = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(bounds):
        messages.extend(decoder.feed(data[start:end]))
    return messages


def test_banner_is_not_a_message() -> None:
    decoder = FrameDecoder()
    messages = decoder.feed(BANNER + LOGIN_OK)
    assert decoder.banner == "Asterisk Call Manager/11.0.0"
    assert [m.response for m in messages] == ["Success"]
    assert messages[0].get("message") == "Authentication accepted"


def test_split_at_every_byte_keeps_every_character() -> None:
    stream = BANNER + LOGIN_OK + NEW_CALLER
    for cut in range(1, len(stream)):
        messages = feed_in_pieces(stream, [cut])
        assert [m.get("calleridname") for m in messages] == ["", "Nguyễn Văn Ấn"], cut


@given(st.lists(st.integers(min_value=1, max_value=len(BANNER + NEW_CALLER) - 1), max_size=8))
def test_any_segmentation_gives_the_same_messages(cuts: list[int]) -> None:
    stream = BANNER + NEW_CALLER + NEW_CALLER
    messages = feed_in_pieces(stream, sorted(set(cuts)))
    assert [m.get("calleridname") for m in messages] == ["Nguyễn Văn Ấn"] * 2


def test_without_banner_the_first_message_is_kept() -> None:
    assert [m.event for m in FrameDecoder().feed(NEW_CALLER)] == ["NewCallerid"]


def test_repeated_headers_keep_every_value() -> None:
    data = b"Event: AgentCalled\r\nChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n"
    (message,) = FrameDecoder().feed(data)
    assert message.all("ChanVariable") == ("A=1", "B=2")
    assert message.get("chanvariable") == "A=1"


def test_names_are_matched_without_case() -> None:
    (message,) = FrameDecoder().feed(b"Response: Success\r\nActionID: x\r\nValue: 7\r\n\r\n")
    assert (message.action_id, message.get("VALUE"), "value" in message) == ("x", "7", True)
    assert message.is_success


def test_async_agi_result_is_url_decoded() -> None:
    data = (
        b"Event: AsyncAGIExec\r\nCommandId: c1\r\nResult: 200%20result%3D9%20(timeout)%0A\r\n\r\n"
    )
    (message,) = FrameDecoder().feed(data)
    assert message.get("result") == "200 result=9 (timeout)"


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    (message,) = FrameDecoder().feed(b"Event: X\r\nName: a\xffb\r\n\r\n")
    assert message.get("name") == "a\ufffdb"


def test_a_message_that_never_ends_is_a_protocol_error() -> None:
    decoder = FrameDecoder()
    decoder.feed(BANNER)
    with pytest.raises(AmiError) as caught:
        decoder.feed(b"Event: X\r\nData: " + b"x" * (MAX_MESSAGE_CHARS + 1))
    assert caught.value.reason is AmiFailure.PROTOCOL


def test_encode_action_puts_action_and_id_first_and_repeats_lists() -> None:
    data = encode_action(
        "Originate", "id-1", {"Channel": "Local/s@caller", "Variable": ["A=1", "B=ễ"]}
    )
    assert data.decode() == (
        "Action: Originate\r\nActionID: id-1\r\nChannel: Local/s@caller\r\n"
        "Variable: A=1\r\nVariable: B=ễ\r\n\r\n"
    )


@pytest.mark.parametrize("value", ["x\r\nAction: Hangup", "x\nAction: Hangup", "x\r"])
def test_line_breaks_cannot_inject_headers(value: str) -> None:
    with pytest.raises(AmiError) as caught:
        encode_action("Setvar", "id", {"Variable": "V", "Value": value})
    assert caught.value.reason is AmiFailure.INVALID


def test_header_names_are_checked() -> None:
    with pytest.raises(AmiError):
        encode_action("Setvar", "id", {"Bad Name": "x"})
