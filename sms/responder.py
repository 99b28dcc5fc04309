"""What the short code answers to one citizen message: the SMS channel's business logic.

Text in, reply texts out; the pipeline around it handles storage, acknowledgement and
sending. Each failure a citizen can meet (not found, unavailable, rate limited, bad input)
becomes its reply text here and only here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from zoneinfo import ZoneInfo

from gateway.clock import Clock
from gateway.codes import DossierCode
from gateway.lookup import Channel, LookupRequest, LookupResult, LookupService, Outcome
from sms.commands import (
    CommandGrammar,
    Help,
    InvalidCode,
    Lookup,
    ProcedureCodeGiven,
    Subscribe,
    Unknown,
    Unsubscribe,
    UnsubscribeAll,
    should_auto_reply,
)
from sms.replies import SmsReplies

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class Subscriptions(Protocol):
    """Status-change subscriptions (``DK``/``HUY``); each call returns the confirmation text."""

    async def subscribe(self, sender: str, code: DossierCode, factor: str | None) -> str: ...

    async def unsubscribe(self, sender: str, code: DossierCode | None) -> str: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """The replies to one message and what the summary log line says about it."""

    texts: tuple[str, ...]
    command: str  # lookup, help, unknown, invalid_code, procedure_code, subscribe, ...
    outcome: str  # found, not_found, unavailable, rate_limited, ignored, answered, ...
    codes: tuple[str, ...] = ()
    disclosure: str = ""
    cache: str = ""


@dataclass(slots=True)
class Responder:
    grammar: CommandGrammar
    replies: SmsReplies
    lookup: LookupService
    clock: Clock
    short_codes: Collection[str]
    subscriptions: Subscriptions | None = None
    max_codes: int = 3

    async def answer(self, sender: str, text: str) -> Answer:
        if not should_auto_reply(sender, self.short_codes):
            return Answer((), "none", "ignored")
        command = self.grammar.parse(text, today=self._today())
        match command:
            case Lookup():
                return await self._lookups(sender, command)
            case Help():
                return Answer((self.replies.help(),), "help", "answered")
            case ProcedureCodeGiven():
                return Answer((self.replies.procedure_code_given(),), "procedure_code", "answered")
            case InvalidCode(text=typed):
                return Answer((self.replies.invalid_code(typed),), "invalid_code", "answered")
            case Subscribe(code=code, factor=factor) if self.subscriptions is not None:
                confirmation = await self.subscriptions.subscribe(sender, code, factor)
                return Answer((confirmation,), "subscribe", "answered", (code.canonical,))
            case Unsubscribe(code=code) if self.subscriptions is not None:
                confirmation = await self.subscriptions.unsubscribe(sender, code)
                return Answer((confirmation,), "unsubscribe", "answered", (code.canonical,))
            case UnsubscribeAll() if self.subscriptions is not None:
                confirmation = await self.subscriptions.unsubscribe(sender, None)
                return Answer((confirmation,), "unsubscribe", "answered")
            case Unknown() | Subscribe() | Unsubscribe() | UnsubscribeAll():
                return Answer((self.replies.unknown(),), "unknown", "answered")

    async def _lookups(self, sender: str, command: Lookup) -> Answer:
        texts: list[str] = []
        results: list[LookupResult] = []
        for code in command.codes:
            result = await self.lookup.lookup(
                LookupRequest(code, Channel.SMS, requester=sender, factor=command.factor)
            )
            results.append(result)
            texts.append(self._text(code, result))
            if result.outcome in (Outcome.RATE_LIMITED, Outcome.UNAVAILABLE):
                break  # the same answer would follow for every other code
        if command.overflow:
            texts.append(self.replies.too_many_codes(self.max_codes, command.overflow))
        first = results[0]
        return Answer(
            tuple(texts),
            "lookup",
            first.outcome.value,
            tuple(c.canonical for c in command.codes),
            first.view.disclosure.value if first.view else "",
            first.cache,
        )

    def _text(self, code: DossierCode, result: LookupResult) -> str:
        match result.outcome:
            case Outcome.FOUND if result.view is not None:
                return self.replies.found(result.view)
            case Outcome.RATE_LIMITED:
                return self.replies.rate_limited(result.retry_after)
            case Outcome.UNAVAILABLE:
                return self.replies.unavailable()
            case _:
                return self.replies.not_found(code)

    def _today(self) -> date:
        """The date in Vietnam: a code filed this morning there is not "in the future"."""
        return self.clock.now().astimezone(VIETNAM).date()
