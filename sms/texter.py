"""A dossier's status by SMS to one number, through the outbox (the hotline's "send it to me",
the console's "text the caller"). The text is the SMS channel's own found-reply, so a citizen
reads the same words whichever way they asked; it leaves with the other replies, retried and
receipted like them.
"""

from __future__ import annotations

from gateway.privacy import DossierView
from gateway.store import MessageStore, ReplyDraft
from sms.replies import SmsReplies


class OutboxTexter:
    """Implements ``ivr.ports.ResultTexter`` over the message store's outbox."""

    def __init__(self, store: MessageStore, replies: SmsReplies) -> None:
        self._store = store
        self._replies = replies

    def text_for(self, view: DossierView) -> str:
        return self._replies.found(view)

    async def send_result(self, phone: str, view: DossierView) -> None:
        """Queue the SMS; raises ``StoreUnavailable`` if it cannot even be queued."""
        await self._store.enqueue([ReplyDraft(phone, self.text_for(view))])
