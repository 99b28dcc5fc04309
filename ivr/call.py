"""The hotline dialogue of one call, as a state machine with no I/O.

A :class:`CallSession` is fed what happened (the call started, the caller keyed something, a
lookup answered, a timer fired, the caller hung up) and answers with :class:`Command` s for the
dispatcher to carry out (play and collect, set channel variables, look up, escalate, hang
up). It never touches a socket, a clock or asyncio, so every path is tested without Asterisk.

States, and the rule that forces each transition::

    STARTING    the caller's number is being matched to dossiers (at most a second): the
                greeting waits for it so that the offer can follow the greeting in one prompt
      → OFFERING  matches found: "bấm 1 … bấm 3, phím thăng for another code"
      → ENTERING  no caller number, no match, or the match took too long
    OFFERING    1..n reads that dossier; # asks for a code; 0 is the operator
    ENTERING    digits then #, or a pause after the digits; too few digits is invalid input
      → CONFIRMING  every code is read back before it is looked up
    CONFIRMING  the lookup already runs while the read-back plays; 1 takes its answer (or
                waits for it), 2 drops it and enters the code again
      → LOOKING_UP
    LOOKING_UP  "xin chờ" if the answer is slow, "busy" past the deadline
      → MENU      found (the status is read) or not found (said so)
      → ENTERING  the digits match several dossiers: ask for the full code
    MENU        1 repeats, 2 another dossier, 0 the operator, * the menu again
      → SMS_OFFER  0 outside operator hours, for a mobile caller with a result
    SMS_OFFER   1 sends the result by SMS; anything else goes back to the menu
    ESCALATED   variables set, ASYNCAGI BREAK sent: the dialplan queues the caller
    ENDING      goodbye queued, hangup queued
    ENDED       the caller hung up (or we did)

Every collecting step allows ``max_tries`` missing or invalid answers; then the caller goes to
an operator, or, outside operator hours, is told so and offered the result by SMS if there is
one. A caller who stays silent after hearing the status is done, not lost: goodbye.

The outcome is written to the channel as soon as it is known and starts as ``abandoned``, so
a caller who hangs up at any moment leaves the right ``STATUSGW_OUTCOME`` behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from gateway.phone import normalize_msisdn
from gateway.privacy import DossierView
from ivr import limits
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
from prompts.speech import Spoken

# --- what the dialogue says -----------------------------------------------------------------


class Cue(Enum):
    """Fixed sentences; :class:`Script` turns them into prompt ids."""

    GREETING = "greeting"
    ENTER_CODE = "enter_code"
    ENTER_FULL_CODE = "enter_full_code"  # the digits matched several dossiers
    NO_INPUT = "no_input"
    INVALID_INPUT = "invalid_input"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    PLEASE_WAIT = "please_wait"
    NOT_FOUND = "not_found"
    MENU = "menu"
    OPERATORS_CLOSED = "operators_closed"
    OPERATORS_CLOSED_SMS_OFFER = "operators_closed_sms_offer"
    SMS_SENT = "sms_sent"
    TRANSFER = "transfer"
    UNAVAILABLE = "unavailable"
    BUSY = "busy"
    GOODBYE = "goodbye"


class Script(Protocol):
    """What to say, as prompt fragments (ids) with their text; bound to the prompt catalogue."""

    def cue(self, cue: Cue) -> Spoken: ...

    def offer(self, views: Sequence[DossierView]) -> Spoken:
        """ "We found n dossiers for your number: press 1 for … ; # for another code." """
        ...

    def read_back(self, digits: str) -> Spoken:
        """ "You entered <digits>. Press 1 to confirm, 2 to enter it again." """
        ...

    def status(self, view: DossierView) -> Spoken:
        """The status phrase, due date, overdue and where to collect the result."""
        ...


@dataclass(frozen=True, slots=True)
class CallEnv:
    """The parts of the AsyncAGI environment the dialogue uses."""

    channel: str
    unique_id: str
    caller: str | None = None


@dataclass(frozen=True, slots=True)
class CallPolicy:
    """Budgets of one dialogue; the dispatcher builds it from ``[ivr]`` settings."""

    first_digit_timeout: float = limits.FIRST_DIGIT_TIMEOUT
    inter_digit_timeout: float = limits.INTER_DIGIT_TIMEOUT
    menu_timeout: float = limits.MENU_TIMEOUT
    max_tries: int = limits.MAX_TRIES
    wait_prompt_after: float = limits.WAIT_PROMPT_AFTER
    lookup_deadline: float = limits.LOOKUP_DEADLINE
    max_call_seconds: int = limits.MAX_CALL_SECONDS
    sms_offer: bool = True


# --- the outcome left on the channel ------------------------------------------------------------


class Outcome(Enum):
    """``STATUSGW_OUTCOME``; a call keeps the highest it reached (escalated beats read …)."""

    ABANDONED = "abandoned"
    NOT_FOUND = "not_found"
    ERROR = "error"
    READ = "read"
    ESCALATED = "escalated"


_RANK = {outcome: rank for rank, outcome in enumerate(Outcome)}

VAR_DOSSIER = "__STATUSGW_DOSSIER"
VAR_STATUS = "__STATUSGW_STATUS"
VAR_OUTCOME = "__STATUSGW_OUTCOME"
VAR_SAID = "__STATUSGW_SAID"
VAR_PATH = "__STATUSGW_PATH"
VAR_REASON = "__STATUSGW_REASON"
VAR_CALL_CAP = "TIMEOUT(absolute)"

MAX_PATH_STEPS = 24  # the IVR path kept for the operator: the latest steps
MAX_SAID_CHARS = 400


class State(Enum):
    STARTING = "starting"
    OFFERING = "offering"
    ENTERING = "entering"
    CONFIRMING = "confirming"
    LOOKING_UP = "looking_up"
    MENU = "menu"
    SMS_OFFER = "sms_offer"
    ESCALATED = "escalated"
    ENDING = "ending"
    ENDED = "ended"


_COLLECTING = frozenset(
    {State.OFFERING, State.ENTERING, State.CONFIRMING, State.MENU, State.SMS_OFFER}
)
_FINISHED = frozenset({State.ESCALATED, State.ENDING, State.ENDED})


def is_mobile(number: str | None) -> bool:
    """A Vietnamese mobile number (03, 05, 07, 08, 09 and ten digits) can receive the SMS."""
    if not number:
        return False
    national = normalize_msisdn(number)
    return len(national) == 10 and national[:2] in ("03", "05", "07", "08", "09")


@dataclass(slots=True)
class _Result:
    """What the menu is about: a dossier read out, or digits that found nothing."""

    view: DossierView | None
    entered: str


@dataclass(slots=True)
class CallSummary:
    """One line per call for the log: what happened, without personal data."""

    unique_id: str
    outcome: Outcome
    state: State
    dossier: str | None
    lookups: int
    path: tuple[str, ...]
    escalation: EscalationReason | None = None


class CallSession:
    """One call's dialogue. Feed it events; carry out the commands it returns, in order."""

    def __init__(
        self,
        env: CallEnv,
        script: Script,
        operators_open: Callable[[], bool],
        policy: CallPolicy = CallPolicy(),
    ) -> None:
        self.env = env
        self._script = script
        self._operators_open = operators_open
        self._policy = policy
        self.state = State.STARTING
        self.outcome = Outcome.ABANDONED
        self._tries = 0
        self._ref = 0
        self._lookups = 0
        self._entered = ""
        self._offered: tuple[DossierView, ...] = ()
        self._result: _Result | None = None
        self._said = ""
        self._path: list[str] = []
        self._escalation: EscalationReason | None = None
        self._last_step: list[Command] = []
        self._goodbye_after_sms = False
        self._early: Answer | None = None  # a lookup answer that came during the read-back
        self._prefetching = False
        self._caller = normalize_msisdn(env.caller) if env.caller else ""

    # --- events ---------------------------------------------------------------------------

    def start(self) -> list[Command]:
        commands: list[Command] = [
            SetVariables(
                (
                    (VAR_OUTCOME, self.outcome.value),
                    (VAR_CALL_CAP, str(self._policy.max_call_seconds + limits.CAP_GRACE)),
                )
            ),
            StartTimer(Timer.CALL_CAP, self._policy.max_call_seconds),
        ]
        if len(self._caller) >= 9:
            self._ref += 1
            return [
                *commands,
                FindByPhone(self._ref, self._caller),
                StartTimer(Timer.LOOKUP_DEADLINE, limits.PHONE_MATCH_DEADLINE),
            ]
        return commands + self._enter(greet=True)

    def on_keys(self, keys: Keys) -> list[Command]:
        """The answer to the last :class:`Collect`."""
        if self.state not in _COLLECTING:
            return []
        handler = {
            State.OFFERING: self._offer_keys,
            State.ENTERING: self._code_keys,
            State.CONFIRMING: self._confirm_keys,
            State.MENU: self._menu_keys,
            State.SMS_OFFER: self._sms_keys,
        }[self.state]
        return handler(keys)

    def on_answer(self, answer: Answer) -> list[Command]:
        """A lookup's answer; one that is not for the latest request is stale and ignored."""
        if answer.ref != self._ref:
            return []
        if self.state is State.STARTING and isinstance(answer, PhoneMatches):
            return [CancelTimer(Timer.LOOKUP_DEADLINE), *self._greet(answer.views)]
        if self.state is State.CONFIRMING and not isinstance(answer, PhoneMatches):
            self._early = answer  # the read-back is still playing: keep it for the "1"
            return []
        if self.state is not State.LOOKING_UP:
            return []
        stop = [CancelTimer(Timer.LOOKUP_DEADLINE), CancelTimer(Timer.WAIT_PROMPT)]
        return stop + self._answered(answer)

    def on_timeout(self, timer: Timer) -> list[Command]:
        if self.state in _FINISHED:
            return []
        if timer is Timer.CALL_CAP:
            self._step("call-cap")
            return self._need_operator(EscalationReason.CALL_TOO_LONG, lead=None)
        if timer is Timer.LOOKUP_DEADLINE and self.state is State.STARTING:
            self._ref += 1  # a late match is no longer wanted
            return self._greet(())
        if self.state is not State.LOOKING_UP:
            return []
        if timer is Timer.WAIT_PROMPT:
            return [
                Play(self._script.cue(Cue.PLEASE_WAIT).ids),
                StartTimer(Timer.WAIT_PROMPT, limits.WAIT_PROMPT_REPEAT),
            ]
        self._ref += 1
        self._step("lookup-timeout")
        return [CancelTimer(Timer.WAIT_PROMPT), *self._lookup_failed(busy=False)]

    def on_hangup(self) -> list[Command]:
        """The channel is gone: nothing more can be said; the outcome is already on it."""
        if self.state is not State.ENDED:
            if self.state not in _FINISHED:
                self._step("hangup")
            self.state = State.ENDED
        return []

    def on_failure(self) -> list[Command]:
        """A command for this call failed in a way the dialogue cannot explain: fail safe."""
        if self.state in _FINISHED:
            return []
        self._step("error")
        self._raise_outcome(Outcome.ERROR)
        return [self._outcome_variable(), *self._need_operator(EscalationReason.ERROR, lead=None)]

    def recover(self) -> list[Command]:
        """The link to Asterisk came back: the last step's answer may be lost, so ask again."""
        if self.state in (State.STARTING, State.LOOKING_UP, State.ENDED):
            return []
        self._step("recovered")
        return list(self._last_step)

    # --- summary ----------------------------------------------------------------------------

    @property
    def summary(self) -> CallSummary:
        view = self._result.view if self._result else None
        return CallSummary(
            unique_id=self.env.unique_id,
            outcome=self.outcome,
            state=self.state,
            dossier=view.code if view else None,
            lookups=self._lookups,
            path=tuple(self._path),
            escalation=self._escalation,
        )

    # --- steps ------------------------------------------------------------------------------

    def _greet(self, views: Sequence[DossierView]) -> list[Command]:
        self._offered = tuple(views[: limits.MAX_OFFERED])
        if not self._offered:
            return self._enter(greet=True)
        self._step(f"caller-id:{len(self._offered)}")
        self.state = State.OFFERING
        self._tries = 0
        greeting = self._script.cue(Cue.GREETING)
        return self._collect_key(greeting + self._script.offer(self._offered))

    def _offer_keys(self, keys: Keys) -> list[Command]:
        key = keys.digits[:1]
        if keys.timed_out and not key:
            return self._retry(Cue.NO_INPUT, self._script.offer(self._offered))
        if not key:  # "#": another code
            self._step("offer:#")
            self._tries = 0
            return self._enter()
        if key == "0":
            self._step("offer:0")
            return self._need_operator(EscalationReason.REQUESTED, lead=None)
        if key.isdigit() and 1 <= int(key) <= len(self._offered):
            self._step(f"offer:{key}")
            view = self._offered[int(key) - 1]
            return self._present(_Result(view, ""))
        return self._retry(Cue.INVALID_INPUT, self._script.offer(self._offered))

    def _enter(self, *, greet: bool = False, lead: Cue | None = None) -> list[Command]:
        self.state = State.ENTERING
        self._step("code")
        spoken = self._script.cue(Cue.ENTER_CODE)
        if lead is not None:
            spoken = self._script.cue(lead) + spoken
        if greet:
            spoken = self._script.cue(Cue.GREETING) + spoken
        return self._collect_code(spoken)

    def _code_keys(self, keys: Keys) -> list[Command]:
        digits = keys.digits.replace("*", "")  # "*" is an optional separator on receipts
        if not digits:
            return self._retry(Cue.NO_INPUT, self._script.cue(Cue.ENTER_CODE), code=True)
        if not digits.isdigit() or len(digits) < limits.MIN_CODE_DIGITS:
            return self._retry(Cue.INVALID_INPUT, self._script.cue(Cue.ENTER_CODE), code=True)
        self._entered = digits
        self._tries = 0
        self.state = State.CONFIRMING
        self._step("confirm")
        # Look it up while the read-back plays: a slow source then costs the caller nothing.
        return self._prefetch() + self._collect_key(self._script.read_back(digits))

    def _confirm_keys(self, keys: Keys) -> list[Command]:
        key = keys.digits[:1]
        if key == "1":
            self._step("confirm:1")
            return self._look_up()
        if key == "2":
            self._step("confirm:2")
            self._tries = 0
            self._ref += 1  # the prefetched answer is for the code being corrected
            return self._enter()
        cue = Cue.NO_INPUT if not key else Cue.INVALID_INPUT
        return self._retry(cue, self._script.read_back(self._entered))

    def _prefetch(self) -> list[Command]:
        self._early = None
        self._prefetching = self._lookups < limits.MAX_LOOKUPS_PER_CALL
        if not self._prefetching:
            return []
        self._lookups += 1
        self._ref += 1
        return [FindByDigits(self._ref, self._entered, self._caller or None)]

    def _look_up(self) -> list[Command]:
        """The caller confirmed: use the prefetched answer, or wait for it (within budgets)."""
        if not self._prefetching:
            self._step("lookup-budget")
            return self._lookup_failed(busy=True)
        self.state = State.LOOKING_UP
        early, self._early = self._early, None
        if early is not None:
            return self._answered(early)
        return [
            StartTimer(Timer.WAIT_PROMPT, self._policy.wait_prompt_after),
            StartTimer(Timer.LOOKUP_DEADLINE, self._policy.lookup_deadline),
        ]

    def _answered(self, answer: Answer) -> list[Command]:
        """What the answer to the confirmed code means for the caller."""
        match answer:
            case Found(view=view):
                self._step("found")
                return self._present(_Result(view, self._entered))
            case NotFound():
                self._step("not-found")
                return self._present(_Result(None, self._entered))
            case Ambiguous():
                self._step("ambiguous")
                self._tries = 0
                return self._enter(lead=Cue.ENTER_FULL_CODE)
            case LookupFailed(rate_limited=limited):
                self._step("rate-limited" if limited else "lookup-failed")
                return self._lookup_failed(busy=limited)
        return []

    def _present(self, result: _Result) -> list[Command]:
        self._result = result
        self._tries = 0
        self.state = State.MENU
        commands: list[Command]
        if result.view is not None:
            self._raise_outcome(Outcome.READ)
            commands = [
                SetVariables(
                    (
                        (VAR_DOSSIER, result.view.code),
                        (VAR_STATUS, result.view.status.value),
                        (VAR_OUTCOME, self.outcome.value),
                    )
                )
            ]
        else:
            self._raise_outcome(Outcome.NOT_FOUND)
            commands = [
                SetVariables(((VAR_DOSSIER, result.entered), (VAR_OUTCOME, self.outcome.value)))
            ]
        spoken = self._result_spoken()
        self._said = spoken.text
        asked = self._collect_key(spoken + self._script.cue(Cue.MENU))
        self._last_step = commands + asked  # a recovery sets the variables again too
        return self._last_step

    def _result_spoken(self) -> Spoken:
        if self._result is None or self._result.view is None:
            return self._script.cue(Cue.NOT_FOUND)
        return self._script.status(self._result.view)

    def _menu_keys(self, keys: Keys) -> list[Command]:
        key = keys.digits[:1]
        menu = self._script.cue(Cue.MENU)
        if keys.timed_out and not key:
            if self._tries + 1 >= self._policy.max_tries:
                self._step("menu:silent")
                return self._goodbye(lead=None)
            return self._retry(Cue.NO_INPUT, menu)
        if key:
            self._step(f"menu:{key}")
        if key == "1":
            self._tries = 0
            return self._collect_key(self._result_spoken() + menu)
        if key == "2":
            self._tries = 0
            return self._enter()
        if key == "0":
            return self._need_operator(EscalationReason.REQUESTED, lead=None)
        if key == "*":
            self._tries = 0
            return self._collect_key(menu)
        return self._retry(Cue.INVALID_INPUT, menu)

    def _sms_keys(self, keys: Keys) -> list[Command]:
        view = self._result.view if self._result else None
        commands: list[Command] = []
        said = Spoken(())
        if keys.digits[:1] == "1" and view is not None:
            self._step("sms")
            commands.append(TextResult(self._caller, view))
            said = self._script.cue(Cue.SMS_SENT)
        else:
            self._step("sms:no")
        if self._goodbye_after_sms:
            return commands + self._goodbye(lead=None, said=said)
        self.state = State.MENU
        self._tries = 0
        return commands + self._collect_key(said + self._script.cue(Cue.MENU))

    # --- the way out ------------------------------------------------------------------------

    def _retry(self, cue: Cue, prompt: Spoken, *, code: bool = False) -> list[Command]:
        """Say what went wrong and ask again, or give up after ``max_tries``."""
        self._tries += 1
        self._step("no-input" if cue is Cue.NO_INPUT else "invalid")
        if self._tries >= self._policy.max_tries:
            reason = (
                EscalationReason.NO_INPUT if cue is Cue.NO_INPUT else EscalationReason.INVALID_INPUT
            )
            return self._need_operator(reason, lead=Cue.TOO_MANY_ATTEMPTS)
        spoken = self._script.cue(cue) + prompt
        return self._collect_code(spoken) if code else self._collect_key(spoken)

    def _lookup_failed(self, *, busy: bool) -> list[Command]:
        self._raise_outcome(Outcome.ERROR)
        lead = Cue.BUSY if busy else Cue.UNAVAILABLE
        return [
            self._outcome_variable(),
            *self._need_operator(EscalationReason.LOOKUP_FAILED, lead=lead),
        ]

    def _need_operator(self, reason: EscalationReason, lead: Cue | None) -> list[Command]:
        """To the operators when they are there. Otherwise say so, offer the result by SMS to
        a mobile caller who has one, and either go back (the caller asked) or say goodbye."""
        if self._operators_open():
            return self._escalate(reason, lead)
        self._step("operators-closed")
        asked = reason is EscalationReason.REQUESTED
        view = self._result.view if self._result else None
        spoken = self._script.cue(lead) if lead is not None else Spoken(())
        if self._policy.sms_offer and view is not None and is_mobile(self._caller):
            self.state = State.SMS_OFFER
            self._goodbye_after_sms = not asked
            return self._collect_key(spoken + self._script.cue(Cue.OPERATORS_CLOSED_SMS_OFFER))
        if asked and self.state is State.OFFERING:
            closed = self._script.cue(Cue.OPERATORS_CLOSED)
            return self._collect_key(closed + self._script.offer(self._offered))
        if asked and self.state is State.MENU:
            closed = self._script.cue(Cue.OPERATORS_CLOSED)
            return self._collect_key(closed + self._script.cue(Cue.MENU))
        return self._goodbye(lead=lead, closed=True)

    def _escalate(self, reason: EscalationReason, lead: Cue | None) -> list[Command]:
        self.state = State.ESCALATED
        self._escalation = reason
        self._step("operator")
        self._raise_outcome(Outcome.ESCALATED)
        view = self._result.view if self._result else None
        spoken = self._script.cue(Cue.TRANSFER)
        if lead is not None:
            spoken = self._script.cue(lead) + spoken
        values = [
            (VAR_OUTCOME, self.outcome.value),
            (VAR_REASON, reason.value),
            (VAR_PATH, ">".join(self._path)),
            (VAR_SAID, self._said[:MAX_SAID_CHARS]),
        ]
        if view is not None:
            values += [(VAR_DOSSIER, view.code), (VAR_STATUS, view.status.value)]
        elif self._entered:
            values.append((VAR_DOSSIER, self._entered))
        escalate = Escalate(
            reason=reason,
            dossier=view.code if view else None,
            status=view.status if view else None,
            entered=self._entered or None,
            said=self._said,
            path=tuple(self._path),
        )
        return self._final([SetVariables(tuple(values)), Play(spoken.ids), escalate])

    def _goodbye(
        self, lead: Cue | None, *, closed: bool = False, said: Spoken | None = None
    ) -> list[Command]:
        self.state = State.ENDING
        spoken = self._script.cue(Cue.GOODBYE)
        if said is not None:
            spoken = said + spoken
        if closed:
            spoken = self._script.cue(Cue.OPERATORS_CLOSED) + spoken
        if lead is not None:
            spoken = self._script.cue(lead) + spoken
        return self._final([Play(spoken.ids), Hangup()])

    def _final(self, commands: list[Command]) -> list[Command]:
        self._last_step = commands
        return [
            CancelTimer(Timer.LOOKUP_DEADLINE),
            CancelTimer(Timer.WAIT_PROMPT),
            CancelTimer(Timer.CALL_CAP),
            *commands,
        ]

    # --- helpers ----------------------------------------------------------------------------

    def _collect_key(self, spoken: Spoken) -> list[Command]:
        timeout = self._policy.menu_timeout
        return self._asked([Collect(spoken.ids, 1, timeout, timeout)])

    def _collect_code(self, spoken: Spoken) -> list[Command]:
        collect = Collect(
            spoken.ids,
            limits.MAX_CODE_DIGITS,
            self._policy.first_digit_timeout,
            self._policy.inter_digit_timeout,
        )
        return self._asked([collect])

    def _asked(self, commands: list[Command]) -> list[Command]:
        self._last_step = commands
        return commands

    def _raise_outcome(self, outcome: Outcome) -> None:
        if _RANK[outcome] > _RANK[self.outcome]:
            self.outcome = outcome

    def _outcome_variable(self) -> SetVariables:
        return SetVariables(((VAR_OUTCOME, self.outcome.value),))

    def _step(self, tag: str) -> None:
        self._path.append(tag)
        del self._path[:-MAX_PATH_STEPS]
