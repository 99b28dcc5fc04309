"""The lookup audit: who asked about which dossier, what was disclosed, what came of it.

One :class:`LookupAudit` per lookup, from every channel. The requester is kept masked (as in
the logs, :func:`gateway.phone.mask_msisdn`), never in full. The PostgreSQL store keeps the
rows for ``[store] audit_retention_days``; ``memory://`` keeps the latest few in the process.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.lookup import Channel, LookupResult
from gateway.phone import mask_msisdn


@dataclass(frozen=True, slots=True)
class LookupAudit:
    at: datetime
    channel: str  # sms | voice | http | console
    requester: str  # masked number, an API client's name, or "-"
    code: str
    disclosure: str  # basic | verified | "" when nothing was disclosed
    outcome: str  # found | not_found | unavailable | rate_limited
    status: str = ""  # the canonical status id, when found (for reports)
    agency: str = ""  # the agency holding the dossier, when found (for reports)

    @classmethod
    def of(
        cls,
        at: datetime,
        channel: Channel,
        requester: str | None,
        code: str,
        result: LookupResult,
        *,
        actor: str | None = None,
    ) -> LookupAudit:
        """The audit row of one lookup; ``requester`` is masked here if it is a number.

        ``actor`` names a requester that is not a phone (an API client, an operator).
        """
        view = result.view
        return cls(
            at=at,
            channel=channel.value,
            requester=mask_msisdn(requester) if requester or not actor else actor,
            code=code,
            disclosure=view.disclosure.value if view is not None else "",
            outcome=result.outcome.value,
            status=view.status.value if view is not None else "",
            agency=view.agency if view is not None else "",
        )


class AuditLog(Protocol):
    async def record(self, entry: LookupAudit) -> None:
        """Keep one entry; never raises (an audit outage must not stop answers)."""
        ...

    async def purge(self, before: datetime) -> int: ...


class MemoryAuditLog:
    def __init__(self, keep: int = 10_000) -> None:
        self.entries: deque[LookupAudit] = deque(maxlen=keep)

    async def record(self, entry: LookupAudit) -> None:
        self.entries.append(entry)

    async def purge(self, before: datetime) -> int:
        old = [e for e in self.entries if e.at < before]
        for entry in old:
            self.entries.remove(entry)
        return len(old)
