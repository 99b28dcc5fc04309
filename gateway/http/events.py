"""``POST /v1/events/status-changed``: the one-stop system tells the gateway a dossier moved.

Body: one event ``{"code": "...", "status": "...", "changed_at": "2025-03-01T08:00:00+07:00"}``
or ``{"events": [ ... ]}`` (at most :data:`MAX_EVENTS`). ``status`` is anything
:meth:`gateway.dossier.Status.parse` reads (national code 1-10, English term, label);
``changed_at`` is optional (then: when the request arrived). The answer is ``202`` with the
number of events taken and of subscribers who now have a notification due. A bad event makes
the whole request ``400`` naming it, so the sender fixes its data rather than losing part.

Authentication, either of:

- ``Authorization: Bearer <token>``, a token of ``[notify] webhook_tokens`` (kept as
  ``sha256:<hex>`` or as the token itself), compared in constant time;
- ``X-Statusgw-Timestamp: <unix seconds>`` and
  ``X-Statusgw-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with a secret of
  ``[notify] webhook_secrets``; a timestamp off by more than ``webhook_max_skew`` is refused,
  so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from aiohttp import web

from gateway.clock import Clock
from gateway.codes import CodeGrammar
from gateway.dossier import Status
from gateway.errors import AuthRequiredError, InvalidApiKeyError, InvalidInputError
from gateway.notify import ChangeOrigin, StatusChange
from gateway.settings import NotifySettings

PATH = "/v1/events/status-changed"
MAX_EVENTS = 1000
MAX_BODY = 256 * 1024
SIGNATURE_HEADER = "X-Statusgw-Signature"
TIMESTAMP_HEADER = "X-Statusgw-Timestamp"


class ChangeSink(Protocol):
    """Where reported changes go (:class:`gateway.notifier.Notifier`)."""

    async def report_many(self, changes: Sequence[StatusChange]) -> int: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (for senders and tests)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookAuth:
    def __init__(self, settings: NotifySettings, clock: Clock) -> None:
        self._tokens = tuple(_digest(entry) for entry in settings.webhook_tokens)
        self._secrets = tuple(s.encode() for s in settings.webhook_secrets)
        self._skew = settings.webhook_max_skew
        self._clock = clock

    def check(self, request: web.Request, body: bytes) -> str:
        """The way the request proved itself ("token" or "signature"); raises if it did not."""
        authorization = request.headers.get("Authorization", "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not authorization and not signature:
            raise AuthRequiredError("a bearer token or a signature is required")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            presented = hashlib.sha256(token.strip().encode()).digest()
            if scheme.lower() == "bearer" and _any_equal(presented, self._tokens):
                return "token"
        if signature and self._signed(request, body, signature):
            return "signature"
        raise InvalidApiKeyError("the token or signature is not valid")

    def _signed(self, request: web.Request, body: bytes, signature: str) -> bool:
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        try:
            sent = float(timestamp)
        except ValueError:
            return False
        if abs(self._clock.now().timestamp() - sent) > self._skew:
            return False
        expected = [sign(secret.decode(), timestamp, body).encode() for secret in self._secrets]
        return _any_equal(signature.encode(), tuple(expected))


def _digest(entry: str) -> bytes:
    if entry.startswith("sha256:"):
        return bytes.fromhex(entry.removeprefix("sha256:"))
    return hashlib.sha256(entry.encode()).digest()


def _any_equal(presented: bytes, known: tuple[bytes, ...]) -> bool:
    found = False
    for candidate in known:  # no early exit: the time taken does not tell which matched
        found |= hmac.compare_digest(presented, candidate)
    return found


def parse_events(document: Any, grammar: CodeGrammar, received_at: datetime) -> list[StatusChange]:
    """The changes in a request body; raises :class:`InvalidInputError` naming a bad one."""
    if isinstance(document, dict) and "events" in document:
        items = document["events"]
        if not isinstance(items, list) or not items or len(items) > MAX_EVENTS:
            raise InvalidInputError(f"events must be a list of 1 to {MAX_EVENTS} objects")
    else:
        items = [document]
    return [_event(item, index, grammar, received_at) for index, item in enumerate(items)]


def _event(item: Any, index: int, grammar: CodeGrammar, received_at: datetime) -> StatusChange:
    if not isinstance(item, dict):
        raise InvalidInputError(f"event {index} is not an object", event=index)
    code = grammar.parse(str(item.get("code", "")))
    if code is None:
        raise InvalidInputError(f"event {index}: code is not a dossier code", event=index)
    try:
        status = Status.parse(item.get("status", ""))
    except ValueError:
        raise InvalidInputError(f"event {index}: unknown status", event=index) from None
    changed_at = received_at
    if item.get("changed_at") is not None:
        try:
            changed_at = datetime.fromisoformat(str(item["changed_at"]))
        except ValueError:
            raise InvalidInputError(f"event {index}: changed_at is not ISO 8601") from None
        if changed_at.tzinfo is None:
            raise InvalidInputError(f"event {index}: changed_at needs a time zone") from None
    return StatusChange(code.canonical, status, changed_at, ChangeOrigin.WEBHOOK)


def add_event_routes(
    app: web.Application,
    notifier: ChangeSink,
    settings: NotifySettings,
    clock: Clock,
    grammar: CodeGrammar | None = None,
) -> None:
    """Register ``POST /v1/events/status-changed`` on ``app`` (errors: problem+json)."""
    auth = WebhookAuth(settings, clock)
    codes = grammar or CodeGrammar()
    log = structlog.get_logger("statusgw.events")

    async def status_changed(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise InvalidInputError(f"the body is larger than {MAX_BODY} bytes")
        body = await request.read()
        via = auth.check(request, body)
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InvalidInputError("the body is not JSON") from None
        changes = parse_events(document, codes, clock.now())
        due = await notifier.report_many(changes)
        log.info("events.status_changed", events=len(changes), due=due, auth=via)
        return web.json_response({"accepted": len(changes), "notifications_due": due}, status=202)

    app.router.add_post(PATH, status_changed)
