"""The call dialogue, driven event by event with no Asterisk and no clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dossier import Status
from gateway.privacy import Disclosure, DossierView
from ivr import limits
from ivr.call import (
    VAR_DOSSIER,
    VAR_OUTCOME,
    VAR_PATH,
    VAR_REASON,
    VAR_SAID,
    VAR_STATUS,
    CallEnv,
    CallPolicy,
    CallSession,
    Cue,
    Outcome,
    State,
    is_mobile,
)
from ivr.commands import (
    Ambiguous,
    Answer,
    CancelTimer,
    Collect,
    Command,
    Escalate,
    EscalationReason,
    FindByDigits,
    FindByPhone,
    Found,
    Hangup,
    Keys,
    LookupFailed,
    NotFound,
    PhoneMatches,
    Play,
    SetVariables,
    StartTimer,
    TextResult,
    Timer,
)
from prompts.speech import Fragment, Spoken

CODE = "000.00.22.H29-240101-0001"
DIGITS = "0000022292401010001"
MOBILE = "0912345678"


def view(code: str = CODE, status: Status = Status.PROCESSING) -> DossierView:
    return DossierView(
        code=code,
        status=status,
        due_at=datetime(2025, 3, 15),
        overdue=False,
        agency="UBND phường Bến Nghé",
        disclosure=Disclosure.BASIC,
    )


def said(*ids: str) -> Spoken:
    return Spoken(tuple(Fragment(i, i) for i in ids))


class FakeScript:
    """Prompt ids that say what they stand for, so the tests read like the dialogue."""

    def cue(self, cue: Cue) -> Spoken:
        return said(f"cue:{cue.value}")

    def offer(self, views: Sequence[DossierView]) -> Spoken:
        return said(*(f"offer:{i}:{v.code}" for i, v in enumerate(views, 1)))

    def read_back(self, digits: str) -> Spoken:
        return said(f"read-back:{digits}")

    def status(self, view: DossierView) -> Spoken:
        return said(f"status:{view.code}:{view.status.value}")


class Call:
    """A session plus the commands it gave, with helpers named after what a caller does."""

    def __init__(
        self, caller: str | None = None, *, open_: bool = True, policy: CallPolicy | None = None
    ) -> None:
        self.open = open_
        self.session = CallSession(
            CallEnv("Local/1022@hotline-00000001;1", "1700000000.1", caller),
            FakeScript(),
            lambda: self.open,
            policy or CallPolicy(),
        )
        self.sent: list[Command] = []
        self.last: list[Command] = self._record(self.session.start())

    def _record(self, commands: list[Command]) -> list[Command]:
        self.sent += commands
        self.last = commands
        return commands

    def press(self, digits: str) -> list[Command]:
        return self._record(self.session.on_keys(Keys(digits)))

    def silence(self, digits: str = "") -> list[Command]:
        return self._record(self.session.on_keys(Keys(digits, timed_out=True)))

    def answer(self, answer: Answer) -> list[Command]:
        return self._record(self.session.on_answer(answer))

    def timeout(self, timer: Timer) -> list[Command]:
        return self._record(self.session.on_timeout(timer))

    def hang_up(self) -> list[Command]:
        return self._record(self.session.on_hangup())

    # --- reading what was asked ----------------------------------------------------------------

    def collect(self) -> Collect:
        collects = [c for c in self.last if isinstance(c, Collect)]
        assert len(collects) == 1, self.last
        return collects[0]

    def prompts(self) -> tuple[str, ...]:
        return self.collect().prompts

    def played(self) -> tuple[str, ...]:
        return tuple(p for c in self.last if isinstance(c, Play) for p in c.prompts)

    def variables(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for command in self.sent:
            if isinstance(command, SetVariables):
                out.update(command.values)
        return out

    def lookup(self) -> FindByDigits:
        """The latest lookup asked for (it starts with the read-back, before the "1")."""
        finds = [c for c in self.sent if isinstance(c, FindByDigits)]
        assert finds, self.sent
        return finds[-1]

    def escalation(self) -> Escalate:
        escalations = [c for c in self.last if isinstance(c, Escalate)]
        assert len(escalations) == 1, self.last
        return escalations[0]

    # --- whole steps -------------------------------------------------------------------------

    def enter_and_confirm(self, digits: str = DIGITS) -> FindByDigits:
        self.press(digits)
        assert self.prompts() == (f"read-back:{digits}",)
        request = self.lookup()
        assert request in self.last  # looked up while the read-back plays
        self.press("1")
        return request

    def find(self, found: DossierView | None = None) -> None:
        request = self.enter_and_confirm()
        self.answer(Found(request.ref, found or view()))


# --- the first prompt ---------------------------------------------------------------------------


def test_without_caller_number_the_greeting_and_code_entry_are_one_prompt() -> None:
    call = Call()
    # One collecting command: keys typed during the greeting are kept (type-ahead).
    collect = call.collect()
    assert collect.prompts == ("cue:greeting", "cue:enter_code")
    assert collect.max_digits == limits.MAX_CODE_DIGITS > len(DIGITS)
    assert (collect.first_digit_timeout, collect.inter_digit_timeout) == (8.0, 3.0)
    # The outcome starts as "abandoned" so a hang-up at any moment leaves it right.
    assert call.variables()[VAR_OUTCOME] == "abandoned"
    assert call.variables()["TIMEOUT(absolute)"] == str(600 + limits.CAP_GRACE)
    assert StartTimer(Timer.CALL_CAP, 600) in call.sent


def test_digit_timeouts_come_from_the_policy() -> None:
    call = Call(policy=CallPolicy(first_digit_timeout=10.0, inter_digit_timeout=4.0))
    assert (call.collect().first_digit_timeout, call.collect().inter_digit_timeout) == (10.0, 4.0)


def test_an_anonymous_caller_is_not_looked_up() -> None:
    call = Call("anonymous")
    assert not [c for c in call.sent if isinstance(c, FindByPhone)]
    assert call.prompts()[0] == "cue:greeting"


# --- found, read out, menu ----------------------------------------------------------------------


def test_found_dossier_is_read_with_the_menu_and_left_on_the_channel() -> None:
    call = Call(MOBILE)
    call.answer(PhoneMatches(1, ()))  # the caller's number has no dossiers
    request = call.enter_and_confirm()
    assert request.digits == DIGITS
    assert request.caller == MOBILE  # the second factor travels with the request
    assert StartTimer(Timer.WAIT_PROMPT, limits.WAIT_PROMPT_AFTER) in call.last
    call.answer(Found(request.ref, view()))
    assert call.prompts() == (f"status:{CODE}:processing", "cue:menu")
    assert call.collect().max_digits == 1
    assert CancelTimer(Timer.LOOKUP_DEADLINE) in call.last
    variables = call.variables()
    assert variables[VAR_DOSSIER] == CODE
    assert variables[VAR_STATUS] == "processing"
    assert variables[VAR_OUTCOME] == "read"
    assert call.session.outcome is Outcome.READ


def test_an_answer_ready_during_the_read_back_is_read_at_once() -> None:
    call = Call()
    call.press(DIGITS)
    request = call.lookup()
    assert call.answer(Found(request.ref, view())) == []  # the read-back goes on
    call.press("1")
    assert call.prompts() == (f"status:{CODE}:processing", "cue:menu")
    assert not [c for c in call.last if isinstance(c, StartTimer)]  # nothing to wait for


def test_an_answer_still_running_at_the_one_is_waited_for() -> None:
    call = Call()
    request = call.enter_and_confirm()
    assert call.session.state is State.LOOKING_UP
    assert StartTimer(Timer.LOOKUP_DEADLINE, limits.LOOKUP_DEADLINE) in call.last
    call.answer(Found(request.ref, view()))
    assert call.prompts()[0] == f"status:{CODE}:processing"


def test_re_entering_drops_the_prefetched_answer() -> None:
    call = Call()
    call.press("12345678")
    wrong = call.lookup()
    call.answer(NotFound(wrong.ref))
    call.press("2")
    call.press(DIGITS)
    right = call.lookup()
    assert (right.digits, right.ref) == (DIGITS, wrong.ref + 2)
    assert call.answer(NotFound(wrong.ref)) == []  # stale
    call.answer(Found(right.ref, view()))
    call.press("1")
    assert call.prompts()[0] == f"status:{CODE}:processing"


def test_typed_code_accepts_star_separators_and_an_entry_ended_by_a_pause() -> None:
    call = Call()
    call.silence("000*00*22*29*240101*0001")  # no "#": the inter-digit pause ended it
    assert call.prompts() == (f"read-back:{DIGITS}",)


def test_repeat_star_and_another_dossier() -> None:
    call = Call()
    call.find()
    call.press("1")
    assert call.prompts() == (f"status:{CODE}:processing", "cue:menu")
    call.press("*")
    assert call.prompts() == ("cue:menu",)
    call.press("2")
    assert call.prompts() == ("cue:enter_code",)
    request = call.enter_and_confirm("1234567")
    call.answer(Found(request.ref, view("X-1", Status.RESULT_READY)))
    assert call.prompts()[0] == "status:X-1:result_ready"
    assert call.variables()[VAR_DOSSIER] == "X-1"


def test_confirm_two_enters_the_code_again() -> None:
    call = Call()
    call.press("123456789")
    call.press("2")
    assert call.prompts() == ("cue:enter_code",)
    call.press(DIGITS)
    call.press("9")  # not 1 or 2
    assert call.prompts() == ("cue:invalid_input", f"read-back:{DIGITS}")
    call.silence()
    assert call.prompts() == ("cue:no_input", f"read-back:{DIGITS}")
    call.press("1")
    assert call.lookup().digits == DIGITS


# --- not found, ambiguous, lookup trouble -----------------------------------------------------


def test_not_found_is_said_and_offers_retry_or_operator() -> None:
    call = Call()
    request = call.enter_and_confirm()
    call.answer(NotFound(request.ref))
    assert call.prompts() == ("cue:not_found", "cue:menu")
    assert call.variables()[VAR_OUTCOME] == "not_found"
    assert call.variables()[VAR_DOSSIER] == DIGITS
    call.press("2")
    assert call.prompts() == ("cue:enter_code",)


def test_not_found_then_operator() -> None:
    call = Call()
    call.answer(NotFound(call.enter_and_confirm().ref))
    call.press("0")
    escalation = call.escalation()
    assert escalation.reason is EscalationReason.REQUESTED
    assert escalation.entered == DIGITS
    assert escalation.dossier is None
    assert call.variables()[VAR_OUTCOME] == "escalated"


def test_ambiguous_digits_ask_for_the_full_code() -> None:
    call = Call()
    request = call.enter_and_confirm("2401010001")
    call.answer(Ambiguous(request.ref))
    assert call.prompts() == ("cue:enter_full_code", "cue:enter_code")
    assert call.collect().max_digits == limits.MAX_CODE_DIGITS
    request = call.enter_and_confirm()
    assert request.digits == DIGITS


def test_a_slow_lookup_gets_a_wait_prompt_and_then_gives_up() -> None:
    call = Call()
    request = call.enter_and_confirm()
    call.timeout(Timer.WAIT_PROMPT)
    assert call.played() == ("cue:please_wait",)
    assert StartTimer(Timer.WAIT_PROMPT, limits.WAIT_PROMPT_REPEAT) in call.last
    call.timeout(Timer.LOOKUP_DEADLINE)
    assert call.played() == ("cue:unavailable", "cue:transfer")
    assert call.escalation().reason is EscalationReason.LOOKUP_FAILED
    # The answer that finally arrives changes nothing.
    assert call.answer(Found(request.ref, view())) == []
    assert call.session.state is State.ESCALATED


def test_rate_limited_callers_hear_busy() -> None:
    call = Call()
    call.answer(LookupFailed(call.enter_and_confirm().ref, rate_limited=True))
    assert call.played()[0] == "cue:busy"


def test_lookup_failure_outside_hours_says_goodbye_with_outcome_error() -> None:
    call = Call(open_=False)
    call.answer(LookupFailed(call.enter_and_confirm().ref))
    assert call.played() == ("cue:unavailable", "cue:operators_closed", "cue:goodbye")
    assert isinstance(call.last[-1], Hangup)
    assert call.variables()[VAR_OUTCOME] == "error"


def test_a_later_not_found_does_not_undo_read() -> None:
    call = Call()
    call.find()
    call.press("2")
    call.answer(NotFound(call.enter_and_confirm().ref))
    assert call.session.outcome is Outcome.READ
    assert call.variables()[VAR_OUTCOME] == "read"


def test_stale_answers_are_ignored() -> None:
    call = Call()
    first = call.enter_and_confirm()
    call.answer(NotFound(first.ref))
    call.press("2")
    second = call.enter_and_confirm()
    assert second.ref != first.ref
    assert call.answer(Found(first.ref, view())) == []
    assert call.session.state is State.LOOKING_UP


def test_lookups_per_call_are_budgeted() -> None:
    call = Call()
    for _ in range(limits.MAX_LOOKUPS_PER_CALL):
        call.answer(NotFound(call.enter_and_confirm().ref))
        call.press("2")
    call.press(DIGITS)
    call.press("1")
    assert call.played()[0] == "cue:busy"
    assert call.escalation().reason is EscalationReason.LOOKUP_FAILED


# --- retries ------------------------------------------------------------------------------------


def test_three_silences_at_code_entry_go_to_the_operator() -> None:
    call = Call()
    call.silence()
    assert call.prompts() == ("cue:no_input", "cue:enter_code")
    call.silence()
    assert call.prompts() == ("cue:no_input", "cue:enter_code")
    call.silence()
    escalation = call.escalation()
    assert escalation.reason is EscalationReason.NO_INPUT
    assert call.played() == ("cue:too_many_attempts", "cue:transfer")
    variables = call.variables()
    assert variables[VAR_REASON] == "no_input"
    assert variables[VAR_PATH] == "code>no-input>no-input>no-input>operator"
    # The escalation is the last thing: variables first, then the prompt, then the break.
    kinds = [type(c) for c in call.last if not isinstance(c, CancelTimer)]
    assert kinds == [SetVariables, Play, Escalate]


def test_invalid_and_missing_input_count_together() -> None:
    call = Call()
    call.press("12")  # too short for a dossier code
    assert call.prompts() == ("cue:invalid_input", "cue:enter_code")
    call.press("")  # only "#"
    assert call.prompts() == ("cue:no_input", "cue:enter_code")
    call.press("34")
    assert call.escalation().reason is EscalationReason.INVALID_INPUT


def test_max_tries_comes_from_the_policy() -> None:
    call = Call(policy=CallPolicy(max_tries=1))
    call.silence()
    assert call.escalation().reason is EscalationReason.NO_INPUT


def test_three_bad_tries_outside_hours_end_the_call_politely() -> None:
    call = Call(open_=False)
    call.silence()
    call.silence()
    call.silence()
    assert call.played() == (
        "cue:too_many_attempts",
        "cue:operators_closed",
        "cue:goodbye",
    )
    assert isinstance(call.last[-1], Hangup)
    assert call.session.state is State.ENDING
    assert call.variables()[VAR_OUTCOME] == "abandoned"


def test_a_caller_silent_after_the_status_is_done() -> None:
    call = Call()
    call.find()
    call.silence()
    assert call.prompts() == ("cue:no_input", "cue:menu")
    call.silence()
    call.silence()
    assert call.played() == ("cue:goodbye",)
    assert isinstance(call.last[-1], Hangup)
    assert call.session.outcome is Outcome.READ


def test_bad_menu_keys_go_to_the_operator() -> None:
    call = Call()
    call.find()
    call.press("7")
    assert call.prompts() == ("cue:invalid_input", "cue:menu")
    call.press("8")
    call.press("9")
    assert call.escalation().reason is EscalationReason.INVALID_INPUT


# --- escalation ---------------------------------------------------------------------------------


def test_operator_gets_the_context() -> None:
    call = Call()
    call.find()
    call.press("0")
    escalation = call.escalation()
    assert escalation.reason is EscalationReason.REQUESTED
    assert (escalation.dossier, escalation.status) == (CODE, Status.PROCESSING)
    assert escalation.said == f"status:{CODE}:processing"
    assert escalation.path == ("code", "confirm", "confirm:1", "found", "menu:0", "operator")
    variables = call.variables()
    # Inheritable (two underscores): the operator's channel sees them through the queue.
    assert variables[VAR_DOSSIER] == CODE
    assert variables[VAR_STATUS] == "processing"
    assert variables[VAR_SAID] == f"status:{CODE}:processing"
    assert variables[VAR_OUTCOME] == "escalated"
    assert all(name.startswith("__") for name in (VAR_DOSSIER, VAR_STATUS, VAR_SAID, VAR_PATH))
    assert {CancelTimer(t) for t in Timer} <= set(call.last)
    assert call.session.state is State.ESCALATED
    # Nothing more happens in the IVR.
    assert call.press("1") == []
    assert call.timeout(Timer.CALL_CAP) == []


def test_outside_hours_a_mobile_caller_is_offered_the_result_by_sms() -> None:
    call = Call(MOBILE, open_=False)
    call.answer(PhoneMatches(1, ()))
    call.find()
    call.press("0")
    assert call.prompts() == ("cue:operators_closed_sms_offer",)
    assert not [c for c in call.last if isinstance(c, Escalate)]
    call.press("1")
    assert TextResult(MOBILE, view()) in call.last
    assert call.prompts() == ("cue:sms_sent", "cue:menu")
    assert call.session.state is State.MENU


def test_outside_hours_declining_the_sms_returns_to_the_menu() -> None:
    call = Call(MOBILE, open_=False)
    call.answer(PhoneMatches(1, ()))
    call.find()
    call.press("0")
    call.silence()
    assert call.prompts() == ("cue:menu",)
    assert not [c for c in call.sent if isinstance(c, TextResult)]


def test_outside_hours_a_landline_caller_hears_the_operators_are_closed() -> None:
    call = Call("02838123456", open_=False)
    call.answer(PhoneMatches(1, ()))
    call.find()
    call.press("0")
    assert call.prompts() == ("cue:operators_closed", "cue:menu")


def test_sms_offer_can_be_switched_off() -> None:
    call = Call(MOBILE, open_=False, policy=CallPolicy(sms_offer=False))
    call.answer(PhoneMatches(1, ()))
    call.find()
    call.press("0")
    assert call.prompts() == ("cue:operators_closed", "cue:menu")


def test_the_call_cap_hands_over_to_the_operator() -> None:
    call = Call()
    call.press(DIGITS)
    call.timeout(Timer.CALL_CAP)
    assert call.escalation().reason is EscalationReason.CALL_TOO_LONG


def test_a_failure_fails_safe_to_the_operator() -> None:
    call = Call()
    call.find()
    call._record(call.session.on_failure())
    assert call.escalation().reason is EscalationReason.ERROR
    assert call.session.outcome is Outcome.ESCALATED


def test_a_failure_outside_hours_leaves_outcome_error() -> None:
    call = Call(open_=False)
    call._record(call.session.on_failure())
    assert isinstance(call.last[-1], Hangup)
    assert call.variables()[VAR_OUTCOME] == "error"


# --- caller number ------------------------------------------------------------------------------


def test_caller_number_dossiers_are_offered_after_the_greeting() -> None:
    call = Call("+84912345678")
    find = next(c for c in call.sent if isinstance(c, FindByPhone))
    assert find.phone == MOBILE
    assert StartTimer(Timer.LOOKUP_DEADLINE, limits.PHONE_MATCH_DEADLINE) in call.sent
    assert not [c for c in call.sent if isinstance(c, Collect)]  # the greeting waits for it
    first, second = view("A-1"), view("B-2", Status.RESULT_READY)
    call.answer(PhoneMatches(find.ref, (first, second)))
    assert call.prompts() == ("cue:greeting", "offer:1:A-1", "offer:2:B-2")
    assert call.collect().max_digits == 1
    call.press("2")
    assert call.prompts()[0] == "status:B-2:result_ready"
    assert call.variables()[VAR_DOSSIER] == "B-2"
    assert not [c for c in call.sent if isinstance(c, FindByDigits)]


def test_caller_number_offer_is_capped() -> None:
    call = Call(MOBILE)
    call.answer(PhoneMatches(1, tuple(view(f"C-{i}") for i in range(5))))
    assert len([p for p in call.prompts() if p.startswith("offer:")]) == limits.MAX_OFFERED
    call.press(str(limits.MAX_OFFERED + 1))
    assert call.prompts()[0] == "cue:invalid_input"


def test_hash_at_the_offer_asks_for_another_code() -> None:
    call = Call(MOBILE)
    call.answer(PhoneMatches(1, (view(),)))
    call.press("")
    assert call.prompts() == ("cue:enter_code",)


def test_a_slow_caller_number_match_does_not_hold_the_greeting() -> None:
    call = Call(MOBILE)
    call.timeout(Timer.LOOKUP_DEADLINE)
    assert call.prompts() == ("cue:greeting", "cue:enter_code")
    assert call.answer(PhoneMatches(1, (view(),))) == []  # too late


def test_no_match_for_the_caller_number_asks_for_the_code() -> None:
    call = Call(MOBILE)
    call.answer(PhoneMatches(1, ()))
    assert CancelTimer(Timer.LOOKUP_DEADLINE) in call.last
    assert call.prompts() == ("cue:greeting", "cue:enter_code")


# --- hang-ups and recovery --------------------------------------------------------------------


def test_hangup_mid_prompt_ends_cleanly_as_abandoned() -> None:
    call = Call()
    assert call.hang_up() == []
    assert call.session.state is State.ENDED
    assert call.session.outcome is Outcome.ABANDONED
    assert call.press("1") == []
    assert call.answer(Found(1, view())) == []
    assert call.session.summary.path[-1] == "hangup"


def test_hangup_during_a_lookup_ignores_the_answer() -> None:
    call = Call()
    request = call.enter_and_confirm()
    call.hang_up()
    assert call.answer(Found(request.ref, view())) == []
    assert call.timeout(Timer.WAIT_PROMPT) == []


def test_hangup_after_the_status_keeps_read() -> None:
    call = Call()
    call.find()
    call.hang_up()
    summary = call.session.summary
    assert (summary.outcome, summary.dossier, summary.lookups) == (Outcome.READ, CODE, 1)


def test_recovery_asks_the_current_question_again() -> None:
    call = Call()
    call.press(DIGITS)
    asked = [c for c in call.last if isinstance(c, Collect)]  # not the lookup: it goes on
    assert call.session.recover() == asked
    call.press("1")
    assert call.session.recover() == []  # a lookup does not depend on the link


def test_recovery_after_escalation_sends_the_break_again() -> None:
    call = Call()
    call.press("0" * 3)  # too short
    call.press("")
    call.silence()
    again = call.session.recover()
    assert [type(c) for c in again] == [SetVariables, Play, Escalate]


@pytest.mark.parametrize(
    ("number", "mobile"),
    [
        ("0912345678", True),
        ("+84 912 345 678", True),
        ("0381234567", True),
        ("02838123456", False),
        ("1022", False),
        (None, False),
        ("anonymous", False),
    ],
)
def test_mobile_numbers(number: str | None, mobile: bool) -> None:
    assert is_mobile(number) is mobile


# --- whatever happens, the dialogue keeps its promises ----------------------------------------

_refs = st.one_of(st.none(), st.integers(0, 6))  # None: the latest request's ref
_events = st.lists(
    st.one_of(
        st.tuples(st.just("keys"), st.text(alphabet="0123456789*", max_size=22), st.booleans()),
        st.tuples(st.just("found"), _refs, st.booleans()),
        st.tuples(st.just("not_found"), _refs, st.booleans()),
        st.tuples(st.just("ambiguous"), _refs, st.booleans()),
        st.tuples(st.just("failed"), _refs, st.booleans()),
        st.tuples(st.just("phone"), _refs, st.booleans()),
        st.tuples(st.just("timer"), st.sampled_from(list(Timer)), st.booleans()),
        st.tuples(st.just("hangup"), st.none(), st.booleans()),
        st.tuples(st.just("failure"), st.none(), st.booleans()),
    ),
    max_size=40,
)


def _feed(session: CallSession, event: tuple[str, object, bool], latest: int) -> list[Command]:
    kind, value, flag = event
    match kind:
        case "keys":
            assert isinstance(value, str)
            return session.on_keys(Keys(value, timed_out=flag))
        case "timer":
            assert isinstance(value, Timer)
            return session.on_timeout(value)
        case "hangup":
            return session.on_hangup()
        case "failure":
            return session.on_failure()
    value = latest if value is None else value
    assert isinstance(value, int)
    answers: dict[str, Answer] = {
        "found": Found(value, view()),
        "not_found": NotFound(value),
        "ambiguous": Ambiguous(value),
        "failed": LookupFailed(value, rate_limited=flag),
        "phone": PhoneMatches(value, (view(),) if flag else ()),
    }
    return session.on_answer(answers[kind])


@settings(max_examples=400, deadline=None)
@given(caller=st.sampled_from([None, MOBILE]), open_=st.booleans(), events=_events)
def test_any_sequence_of_events_keeps_the_rules(
    caller: str | None, open_: bool, events: list[tuple[str, object, bool]]
) -> None:
    session = CallSession(CallEnv("C", "U", caller), FakeScript(), lambda: open_)
    batches = [session.start()]
    previous = session.outcome
    latest = 0
    for event in events:
        for command in batches[-1]:
            if isinstance(command, FindByDigits | FindByPhone):
                latest = command.ref
        batches.append(_feed(session, event, latest))
        # The outcome only ever rises (escalated > read > error > not_found > abandoned).
        assert list(Outcome).index(session.outcome) >= list(Outcome).index(previous)
        previous = session.outcome
    ended = False
    for batch in batches:
        agi = [c for c in batch if isinstance(c, Collect | Play | Escalate | Hangup)]
        # At most one question at a time, and it is the last thing asked.
        assert sum(isinstance(c, Collect) for c in batch) <= 1
        if any(isinstance(c, Collect) for c in agi):
            assert isinstance(agi[-1], Collect)
        # Leaving the IVR is final: nothing is said after an escalation or a hang-up.
        assert not (ended and agi), batch
        ended = ended or any(isinstance(c, Escalate | Hangup) for c in batch)
        if any(isinstance(c, Escalate) for c in batch):
            assert not open_ or session.outcome is Outcome.ESCALATED
            assert not any(isinstance(c, Hangup) for c in batch)
    if session.state is State.ESCALATED:
        assert open_
