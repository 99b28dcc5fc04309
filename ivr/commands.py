"""The messages between the call dialogue and the dispatcher that carries it out.

Commands go out of :class:`ivr.call.CallSession` (play, collect keys, set variables, look
up, start timers, escalate, hang up); answers come back in (the keys typed, a lookup's
outcome). All are small frozen values, so a test can compare whole command lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.dossier import Status
from gateway.privacy import DossierView

# --- what the dispatcher is told to do ---------------------------------------------------------


class Timer(Enum):
    LOOKUP_DEADLINE = "lookup_deadline"
    WAIT_PROMPT = "wait_prompt"
    CALL_CAP = "call_cap"


@dataclass(frozen=True, slots=True)
class Play:
    """Play prompts to the end; keys pressed meanwhile are ignored."""

    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Collect:
    """Play prompts and collect keys in one Asterisk command (barge-in, type-ahead).

    The entry ends at ``#``, at ``max_digits``, ``first_digit_timeout`` after the prompt with
    no key, or ``inter_digit_timeout`` after a key. The answer comes back as :class:`Keys`.
    """

    prompts: tuple[str, ...]
    max_digits: int
    first_digit_timeout: float
    inter_digit_timeout: float


@dataclass(frozen=True, slots=True)
class SetVariables:
    """Channel variables, set in this order; names may carry Asterisk's ``__`` inheritance."""

    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class FindByPhone:
    """Open dossiers whose applicant phone is the caller's; answer :class:`PhoneMatches`."""

    ref: int
    phone: str


@dataclass(frozen=True, slots=True)
class FindByDigits:
    """A dossier by the digits of its code; answer one of the :data:`Answer` kinds."""

    ref: int
    digits: str
    caller: str | None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm ``timer``; a timer replaced or cancelled never fires."""

    timer: Timer
    seconds: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: Timer


@dataclass(frozen=True, slots=True)
class TextResult:
    """Send the dossier's status by SMS to the caller's mobile number."""

    phone: str
    view: DossierView


class EscalationReason(Enum):
    REQUESTED = "requested"  # the caller pressed 0
    NO_INPUT = "no_input"
    INVALID_INPUT = "invalid_input"
    LOOKUP_FAILED = "lookup_failed"  # unavailable, too slow, or rate limited
    CALL_TOO_LONG = "call_too_long"
    ERROR = "error"  # the gateway failed this call


@dataclass(frozen=True, slots=True)
class Escalate:
    """Hand the caller to the operators: leave AGI (the dialplan queues the call), publish."""

    reason: EscalationReason
    dossier: str | None
    status: Status | None
    entered: str | None
    said: str
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


Command = (
    Play
    | Collect
    | SetVariables
    | FindByPhone
    | FindByDigits
    | StartTimer
    | CancelTimer
    | TextResult
    | Escalate
    | Hangup
)

# --- what the dispatcher reports back ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keys:
    """The answer to a :class:`Collect`: the keys typed (``#`` not included)."""

    digits: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class PhoneMatches:
    ref: int
    views: tuple[DossierView, ...]


@dataclass(frozen=True, slots=True)
class Found:
    ref: int
    view: DossierView


@dataclass(frozen=True, slots=True)
class NotFound:
    ref: int


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """The digits match several dossiers; more digits are needed."""

    ref: int


@dataclass(frozen=True, slots=True)
class LookupFailed:
    """No answer in time, the sources are down, or the caller is rate limited."""

    ref: int
    rate_limited: bool = False


Answer = PhoneMatches | Found | NotFound | Ambiguous | LookupFailed
