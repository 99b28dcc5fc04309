"""What the hotline needs from the rest of the gateway, as small protocols.

The composition root binds them: :class:`VoiceLookup` to ``gateway.lookup.LookupService``,
:class:`ResultTexter` to the SMS channel (until then :class:`NoTexter`).
"""

from __future__ import annotations

from typing import Protocol

import structlog

from gateway.lookup import Channel, DigitsMatch
from gateway.privacy import DossierView

log = structlog.get_logger(__name__)


class VoiceLookup(Protocol):
    async def by_digits(
        self, digits: str, channel: Channel, requester: str | None
    ) -> DigitsMatch: ...

    async def by_phone(self, phone: str, channel: Channel) -> list[DossierView]: ...


class ResultTexter(Protocol):
    """Sends a dossier's status by SMS to a caller who asked for it outside operator hours."""

    async def send_result(self, phone: str, view: DossierView) -> None:
        """Queue the SMS; raise if it cannot even be queued (the call goes on regardless)."""
        ...


class NoTexter:
    """No SMS channel bound: the request is logged and dropped."""

    async def send_result(self, phone: str, view: DossierView) -> None:
        log.warning("sms_result_not_sent", phone=phone, dossier=view.code, why="no SMS channel")
