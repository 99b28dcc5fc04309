"""POST /v1/events/status-changed over a local socket: parsing, both kinds of authentication,
replay refused, bad events named, changes handed to the notifier."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.clock import ManualClock
from gateway.codes import CodeGrammar
from gateway.dossier import Status
from gateway.http.events import (
    PATH,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    add_event_routes,
    parse_events,
    sign,
)
from gateway.http.problems import problem_middleware
from gateway.notify import ChangeOrigin, StatusChange
from gateway.settings import NotifySettings
from tests.support.lookup_fakes import CODE

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
TOKEN = "webhook-token-0123456789"
SECRET = "webhook-secret-0123456789"


class RecordingNotifier:
    def __init__(self) -> None:
        self.changes: list[StatusChange] = []

    async def report_many(self, changes: Sequence[StatusChange]) -> int:
        self.changes += changes
        return len(changes)


@pytest_asyncio.fixture
async def client() -> AsyncIterator[tuple[TestClient[Any, Any], RecordingNotifier]]:
    notifier = RecordingNotifier()
    app = web.Application(middlewares=[problem_middleware])
    settings = NotifySettings(webhook_tokens=(TOKEN,), webhook_secrets=(SECRET,))
    add_event_routes(app, notifier, settings, ManualClock(NOW))
    test_client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await test_client.start_server()
    try:
        yield test_client, notifier
    finally:
        await test_client.close()


def test_one_event_or_a_list_with_national_codes_and_english_terms() -> None:
    grammar = CodeGrammar()
    one = parse_events({"code": CODE, "status": "9"}, grammar, NOW)
    assert one == [StatusChange(CODE, Status.RESULT_READY, NOW, ChangeOrigin.WEBHOOK)]
    many = parse_events(
        {"events": [{"code": CODE, "status": "done", "changed_at": "2025-03-01T09:30:00+07:00"}]},
        grammar,
        NOW,
    )
    assert many[0].status is Status.RETURNED
    assert many[0].changed_at == datetime(2025, 3, 1, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"code": "not a code", "status": "9"}, "event 0: code"),
        ({"code": CODE, "status": "maybe"}, "event 0: unknown status"),
        ({"code": CODE, "status": "9", "changed_at": "2025-03-01T09:30:00"}, "time zone"),
        ({"events": []}, "1 to 1000"),
        ([1, 2], "event 0 is not an object"),
    ],
)
def test_a_bad_event_is_named(document: Any, reason: str) -> None:
    with pytest.raises(Exception, match=reason):
        parse_events(document, CodeGrammar(), NOW)


async def test_a_bearer_token_is_accepted(
    client: tuple[TestClient[Any, Any], RecordingNotifier],
) -> None:
    http, notifier = client
    answer = await http.post(
        PATH, json={"code": CODE, "status": "9"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status == 202
    assert await answer.json() == {"accepted": 1, "notifications_due": 1}
    assert [c.status for c in notifier.changes] == [Status.RESULT_READY]


async def test_a_signed_body_is_accepted_and_a_replay_or_a_forgery_refused(
    client: tuple[TestClient[Any, Any], RecordingNotifier],
) -> None:
    http, notifier = client
    body = json.dumps({"code": CODE, "status": "4"}).encode()
    stamp = str(int(NOW.timestamp()))
    signed = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, body)}
    assert (await http.post(PATH, data=body, headers=signed)).status == 202
    old = str(int(NOW.timestamp()) - 301)
    replayed = {TIMESTAMP_HEADER: old, SIGNATURE_HEADER: sign(SECRET, old, body)}
    assert (await http.post(PATH, data=body, headers=replayed)).status == 401
    forged = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign("another-secret-xxxxx", stamp, body)}
    assert (await http.post(PATH, data=body, headers=forged)).status == 401
    tampered = body.replace(b'"4"', b'"10"')
    assert (await http.post(PATH, data=tampered, headers=signed)).status == 401
    assert len(notifier.changes) == 1


async def test_no_credentials_is_401_and_bad_json_is_400(
    client: tuple[TestClient[Any, Any], RecordingNotifier],
) -> None:
    http, notifier = client
    missing = await http.post(PATH, json={"code": CODE, "status": "9"})
    assert missing.status == 401
    assert (await missing.json())["error_id"] == "auth.required"
    wrong = await http.post(PATH, json={}, headers={"Authorization": "Bearer not-the-token-xx"})
    assert (await wrong.json())["error_id"] == "auth.invalid_key"
    bad = await http.post(PATH, data=b"{", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bad.status == 400
    assert notifier.changes == []
