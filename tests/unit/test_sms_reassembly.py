"""MO concatenation: order, duplicates, timeouts, bounds, and the three ways parts arrive."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from sms.reassembly import CompleteMo, IncompletePolicy, MoPart, Reassembler, ReassemblyStats
from sms.text import Concat, decode_mo

PROPERTIES = settings(
    database=DirectoryBasedExampleDatabase(
        str(Path(__file__).resolve().parents[2] / ".cache" / "hypothesis")
    ),
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

CITIZEN = "84912345678"
OTHER = "84987654321"
SHORT_CODE = "8283"


def part(text: str, ref: int, total: int, seq: int, sender: str = CITIZEN) -> MoPart:
    return MoPart(sender, SHORT_CODE, text, Concat(ref, total, seq))


def test_unconcatenated_message_is_complete_at_once() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    message = reassembler.add(MoPart(CITIZEN, SHORT_CODE, "TRA 000.00.22.H29-240101-0001"), 0.0)
    assert message == CompleteMo(CITIZEN, SHORT_CODE, "TRA 000.00.22.H29-240101-0001")
    assert len(reassembler) == 0


def test_parts_in_order_complete_on_the_last() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("TRA 000.00.22.", 7, 3, 1), 0.0) is None
    assert reassembler.add(part("H29-240101-", 7, 3, 2), 1.0) is None
    message = reassembler.add(part("0001 xin cam on", 7, 3, 3), 2.0)
    assert message == CompleteMo(
        CITIZEN, SHORT_CODE, "TRA 000.00.22.H29-240101-0001 xin cam on", parts=3, total=3
    )
    assert len(reassembler) == 0


def test_parts_out_of_order_are_joined_by_sequence() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("c", 1, 3, 3), 0.0) is None
    assert reassembler.add(part("a", 1, 3, 1), 0.0) is None
    message = reassembler.add(part("b", 1, 3, 2), 0.0)
    assert message is not None
    assert message.text == "abc"


def test_duplicate_part_is_ignored_and_counted() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("a", 1, 2, 1), 0.0) is None
    assert reassembler.add(part("a", 1, 2, 1), 0.5) is None
    assert reassembler.add(part("X", 1, 2, 1), 0.6) is None  # first copy wins
    message = reassembler.add(part("b", 1, 2, 2), 1.0)
    assert message is not None
    assert message.text == "ab"
    assert reassembler.stats().duplicates == 2


def test_same_reference_from_two_senders_stays_apart() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("mine ", 9, 2, 1), 0.0) is None
    assert reassembler.add(part("theirs ", 9, 2, 1, sender=OTHER), 0.0) is None
    theirs = reassembler.add(part("too", 9, 2, 2, sender=OTHER), 0.0)
    mine = reassembler.add(part("only", 9, 2, 2), 0.0)
    assert theirs is not None
    assert mine is not None
    assert (theirs.sender, theirs.text) == (OTHER, "theirs too")
    assert (mine.sender, mine.text) == (CITIZEN, "mine only")


def test_same_reference_with_another_total_is_another_message() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("x", 4, 2, 1), 0.0) is None
    assert reassembler.add(part("y", 4, 3, 1), 0.0) is None
    assert len(reassembler) == 2


def test_incomplete_message_is_released_as_partial_at_the_timeout() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    assert reassembler.add(part("TRA 000.00.22.H29-240101-0001", 5, 4, 1), 10.0) is None
    assert reassembler.add(part("cam on", 5, 4, 3), 20.0) is None
    assert reassembler.expire(309.9) == []
    released = reassembler.expire(310.0)
    assert released == [
        CompleteMo(
            CITIZEN,
            SHORT_CODE,
            "TRA 000.00.22.H29-240101-0001 cam on",  # a space where part 2 is missing
            parts=2,
            total=4,
            partial=True,
            missing=(2, 4),
        )
    ]
    assert reassembler.expire(400.0) == []
    assert reassembler.stats() == ReassemblyStats(
        pending=0, completed=0, duplicates=0, released_partial=1, dropped=0, evicted=0
    )


def test_missing_first_part_leaves_no_leading_space() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("b", 5, 3, 2), 0.0)
    reassembler.add(part("c", 5, 3, 3), 0.0)
    (released,) = reassembler.expire(60.0)
    assert (released.text, released.missing) == ("bc", (1,))


def test_drop_policy_discards_incomplete_messages() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10, on_timeout="drop")
    reassembler.add(part("a", 5, 2, 1), 0.0)
    assert reassembler.expire(61.0) == []
    assert reassembler.stats().dropped == 1
    assert len(reassembler) == 0


def test_timeout_counts_from_the_first_part() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("a", 5, 3, 1), 0.0)
    reassembler.add(part("b", 5, 3, 2), 59.0)  # a late part does not extend the deadline
    (released,) = reassembler.expire(60.0)
    assert released.missing == (3,)


def test_part_redelivered_after_completion_is_a_duplicate() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("a", 5, 2, 1), 0.0)
    assert reassembler.add(part("b", 5, 2, 2), 1.0) is not None
    assert reassembler.add(part("b", 5, 2, 2), 2.0) is None  # the SMSC lost our resp
    assert len(reassembler) == 0
    assert reassembler.expire(100.0) == []  # nothing released as a second, partial message
    assert reassembler.stats().duplicates == 1


def test_reused_reference_with_new_text_after_completion_is_a_new_message() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("a", 5, 2, 1), 0.0)
    reassembler.add(part("b", 5, 2, 2), 1.0)
    assert reassembler.add(part("c", 5, 2, 1), 2.0) is None
    message = reassembler.add(part("d", 5, 2, 2), 3.0)
    assert message is not None
    assert message.text == "cd"


def test_completed_message_is_forgotten_after_the_timeout() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("a", 5, 2, 1), 0.0)
    reassembler.add(part("b", 5, 2, 2), 0.0)
    reassembler.expire(60.0)
    assert reassembler.add(part("a", 5, 2, 1), 61.0) is None
    assert len(reassembler) == 1  # the same text is a new message now


def test_stale_message_with_the_same_key_is_released_and_a_new_one_starts() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    reassembler.add(part("old", 5, 2, 1), 0.0)
    assert reassembler.add(part("new ", 5, 2, 1), 100.0) is None  # expire() was not called
    message = reassembler.add(part("one", 5, 2, 2), 101.0)
    assert message is not None
    assert message.text == "new one"
    (stale,) = reassembler.expire(102.0)
    assert (stale.text, stale.partial) == ("old", True)


@pytest.mark.parametrize(("policy", "released"), [("release", 1), ("drop", 0)])
def test_oldest_message_is_evicted_at_max_pending(policy: IncompletePolicy, released: int) -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=2, on_timeout=policy)
    reassembler.add(part("first", 1, 2, 1), 0.0)
    reassembler.add(part("second", 2, 2, 1), 1.0)
    reassembler.add(part("third", 3, 2, 1), 2.0)
    assert len(reassembler) == 2
    out = reassembler.expire(3.0)
    assert [m.text for m in out] == ["first"][:released]
    assert reassembler.stats().evicted == 1
    assert reassembler.add(part("2nd half", 2, 2, 2), 4.0) is not None


def test_released_messages_waiting_for_expire_are_bounded() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=2)
    for ref in range(10):
        reassembler.add(part(f"m{ref}", ref, 2, 1), float(ref))
    out = reassembler.expire(10.0)
    assert [m.text for m in out] == ["m6", "m7"]
    assert len(reassembler) == 2
    assert reassembler.stats().dropped == 6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout_s": 0, "max_pending": 1},
        {"timeout_s": 1, "max_pending": 0},
        {"timeout_s": 1, "max_pending": 1, "on_timeout": "keep"},
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Reassembler(**kwargs)  # type: ignore[arg-type]


# --- the three ways parts arrive, through the decoder ---------------------------------------


def udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes((5, 0, 3, ref, total, seq))


def udh16(ref: int, total: int, seq: int) -> bytes:
    return bytes((6, 8, 4, ref >> 8, ref & 0xFF, total, seq))


@pytest.mark.parametrize("udh", [udh8, udh16])
def test_udh_parts_in_any_order(udh: Callable[[int, int, int], bytes]) -> None:
    texts = ["Tra cứu hồ sơ ", "000.00.22.H29-", "240101-0001"]
    payloads = [udh(0x42, 3, i) + t.encode("utf-16-be") for i, t in enumerate(texts, 1)]
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    results = []
    for payload in reversed(payloads):
        concat, decoded = decode_mo(payload, 8, 0x40)
        results.append(reassembler.add(MoPart(CITIZEN, SHORT_CODE, decoded.text, concat), 0.0))
    assert results[:2] == [None, None]
    assert results[2] is not None
    assert results[2].text == "".join(texts)


def test_sar_tlv_parts() -> None:
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    first = Concat.from_sar(0xBEEF, 2, 1)
    second = Concat.from_sar(0xBEEF, 2, 2)
    assert reassembler.add(MoPart(CITIZEN, SHORT_CODE, "HS 000.00.22.", second), 0.0) is None
    message = reassembler.add(MoPart(CITIZEN, SHORT_CODE, "H29", first), 0.0)
    assert message is not None
    assert message.text == "H29HS 000.00.22."  # joined by sequence number, not arrival


def test_escape_split_by_the_sender_is_mended() -> None:
    # a sender that cuts 0x1B from its escaped character (smpplib's splitter does)
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    for payload in (udh8(1, 2, 2) + b"\x65 5.000", udh8(1, 2, 1) + b"Phi: \x1b"):
        concat, decoded = decode_mo(payload, 0, 0x40)
        message = reassembler.add(MoPart(CITIZEN, SHORT_CODE, decoded.text, concat), 0.0)
    assert message is not None
    assert message.text == "Phi: € 5.000"


def test_surrogate_pair_split_by_the_sender_is_mended() -> None:
    pair = "👍".encode("utf-16-be")
    reassembler = Reassembler(timeout_s=300, max_pending=10)
    for payload in (udh8(2, 2, 1) + "ok ".encode("utf-16-be") + pair[:2], udh8(2, 2, 2) + pair[2:]):
        concat, decoded = decode_mo(payload, 8, 0x40)
        message = reassembler.add(MoPart(CITIZEN, SHORT_CODE, decoded.text, concat), 0.0)
    assert message is not None
    assert message.text == "ok 👍"


def test_dangling_half_of_a_missing_partner_is_cleaned_in_a_partial_release() -> None:
    reassembler = Reassembler(timeout_s=60, max_pending=10)
    concat, decoded = decode_mo(udh8(3, 2, 1) + b"Phi \x1b", 0, 0x40)
    reassembler.add(MoPart(CITIZEN, SHORT_CODE, decoded.text, concat), 0.0)
    (released,) = reassembler.expire(60.0)
    assert released.text == "Phi "


# --- properties ------------------------------------------------------------------------------

message_texts = st.text(
    alphabet=st.sampled_from(list("TRAHS0123456789.- ăâđêôơưạảấ€[]😀")), min_size=1, max_size=60
)


@st.composite
def split_messages(draw: st.DrawFn) -> list[tuple[str, list[str], int]]:
    """Several messages, each as (sender, parts, ref), with distinct (sender, ref) keys."""
    count = draw(st.integers(1, 6))
    messages = []
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from([CITIZEN, OTHER, "84900000000"]), st.integers(0, 0xFFFF)),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    for sender, ref in keys:
        pieces = draw(st.lists(message_texts, min_size=1, max_size=8))
        messages.append((sender, pieces, ref))
    return messages


def as_parts(messages: list[tuple[str, list[str], int]]) -> list[MoPart]:
    return [
        MoPart(sender, SHORT_CODE, text, Concat(ref, len(pieces), seq))
        for sender, pieces, ref in messages
        for seq, text in enumerate(pieces, 1)
    ]


@PROPERTIES
@given(messages=split_messages(), order=st.randoms(), duplicates=st.integers(0, 5))
def test_every_message_completes_once_whatever_the_order_and_duplicates(
    messages: list[tuple[str, list[str], int]], order: random.Random, duplicates: int
) -> None:
    parts = as_parts(messages)
    parts += [order.choice(parts) for _ in range(duplicates)]
    order.shuffle(parts)
    reassembler = Reassembler(timeout_s=300, max_pending=len(messages))
    completed = [m for p in parts if (m := reassembler.add(p, 1.0)) is not None]
    expected = [(sender, "".join(pieces)) for sender, pieces, _ in messages]
    assert sorted((m.sender, m.text) for m in completed) == sorted(expected)
    assert not any(m.partial for m in completed)
    assert len(reassembler) == 0
    assert reassembler.expire(1000.0) == []
    stats = reassembler.stats()
    assert (stats.completed, stats.duplicates) == (len(messages), duplicates)


def with_gaps(pieces: list[str], received: set[int]) -> str:
    """Received pieces in order, one space where a run of pieces is missing between two."""
    out: list[str] = []
    for seq, text in enumerate(pieces, 1):
        if seq not in received:
            continue
        if out and seq - 1 not in received:
            out.append(" ")
        out.append(text)
    return "".join(out)


@PROPERTIES
@given(messages=split_messages(), order=st.randoms(), data=st.data())
def test_incomplete_messages_are_released_with_their_parts_in_order(
    messages: list[tuple[str, list[str], int]], order: random.Random, data: st.DataObject
) -> None:
    parts = as_parts(messages)
    lost = data.draw(st.sets(st.sampled_from(range(len(parts)))))
    kept = [p for i, p in enumerate(parts) if i not in lost]
    order.shuffle(kept)
    reassembler = Reassembler(timeout_s=300, max_pending=len(messages))
    completed = [m for p in kept if (m := reassembler.add(p, 0.0)) is not None]
    released = reassembler.expire(300.0)

    expected_complete: list[tuple[str, str]] = []
    expected_partial: list[tuple[str, str, int, tuple[int, ...]]] = []
    for sender, pieces, ref in messages:
        received = {
            p.concat.seq for p in kept if p.sender == sender and p.concat and p.concat.ref == ref
        }
        missing = tuple(sorted(set(range(1, len(pieces) + 1)) - received))
        if not missing:
            expected_complete.append((sender, "".join(pieces)))
        elif received:
            expected_partial.append((sender, with_gaps(pieces, received), len(received), missing))
    assert sorted((m.sender, m.text) for m in completed) == sorted(expected_complete)
    assert sorted((m.sender, m.text, m.parts, m.missing) for m in released) == sorted(
        expected_partial
    )
    assert all(m.partial for m in released)
    assert len(reassembler) == 0
