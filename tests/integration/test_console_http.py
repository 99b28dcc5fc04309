"""The console, /metrics and /v1/reports over real HTTP on loopback (no browser): sessions,
CSRF, roles, lockout, audited lookups, an SMS to the caller through the outbox."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta

import aiohttp
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from gateway.store import MemoryStore
from tests.support.console import (
    API_KEY,
    METRICS_TOKEN,
    OPERATOR,
    PASSWORD,
    SUPERVISOR,
    ConsoleGateway,
    console_gateway,
)
from tests.support.smsc import Smsc

RECENT = (date.today() - timedelta(days=30)).isoformat()
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest_asyncio.fixture
async def running() -> AsyncIterator[ConsoleGateway]:
    async with console_gateway() as gateway:
        yield gateway


def client() -> aiohttp.ClientSession:
    # The cookie jar must accept cookies from an IP address (127.0.0.1).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(http: aiohttp.ClientSession, base: str, name: str, password: str) -> int:
    async with http.get(f"{base}/console/login") as response:
        token = _CSRF.search(await response.text())
    assert token is not None
    async with http.post(
        f"{base}/console/login",
        data={"csrf": token[1], "name": name, "password": password},
        allow_redirects=False,
    ) as response:
        return response.status


async def csrf_of(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        assert response.status == 200
        found = _CSRF.search(await response.text())
    assert found is not None
    return found[1]


async def test_pages_need_a_session(running: ConsoleGateway) -> None:
    async with client() as http:
        async with http.get(running.url("/console/"), allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/console/login"
        async with http.get(running.url("/console/events")) as response:
            assert response.status == 401


async def test_sign_in_sets_a_strict_http_only_cookie(running: ConsoleGateway) -> None:
    async with client() as http:
        async with http.get(running.url("/console/login")) as response:
            token = _CSRF.search(await response.text())
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert token is not None
        async with http.post(
            running.url("/console/login"),
            data={"csrf": token[1], "name": OPERATOR, "password": PASSWORD},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
            cookie = next(
                v for k, v in response.headers.items() if k == "Set-Cookie" and "console=" in v
            )
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
        async with http.get(running.url("/console/")) as response:
            assert response.status == 200
            assert "Cuộc gọi chuyển điện thoại viên" in await response.text()


async def test_a_post_without_the_csrf_token_is_refused(running: ConsoleGateway) -> None:
    running.escalate("c1")
    async with client() as http:
        assert await sign_in(http, running.base, OPERATOR, PASSWORD) == 303
        async with http.post(
            running.url("/console/calls/c1/notes"), data={"text": "không có mã"}
        ) as response:
            assert response.status == 403
            assert "Yêu cầu bị từ chối" in await response.text()
        token = await csrf_of(http, running.url("/console/calls/c1"))
        async with http.post(
            running.url("/console/calls/c1/notes"),
            data={"text": "có mã nhưng từ nơi khác", "csrf": token},
            headers={"Origin": "http://evil.example"},
        ) as response:
            assert response.status == 403
        async with http.post(
            running.url("/console/calls/c1/notes"), data={"text": "đúng mã", "csrf": token}
        ) as response:
            assert response.status == 200
            assert "Đã lưu ghi chú." in await response.text()
    assert running.gateway.oversight is not None
    notes = await running.gateway.oversight.calls.notes("c1")
    assert [n.text for n in notes] == ["đúng mã"]


async def test_repeated_wrong_passwords_lock_the_name(running: ConsoleGateway) -> None:
    async with client() as http:
        assert await sign_in(http, running.base, OPERATOR, "sai") == 401
        assert await sign_in(http, running.base, OPERATOR, "sai nữa") == 401
        assert await sign_in(http, running.base, OPERATOR, "vẫn sai") == 429
        assert await sign_in(http, running.base, OPERATOR, PASSWORD) == 429  # locked
        assert await sign_in(http, running.base, SUPERVISOR, PASSWORD) == 303  # others are not


async def test_operators_cannot_open_the_supervisor_pages(running: ConsoleGateway) -> None:
    async with client() as http:
        await sign_in(http, running.base, OPERATOR, PASSWORD)
        for path in ("/console/supervisor", f"/console/reports?from={RECENT}"):
            async with http.get(running.url(path)) as response:
                assert response.status == 403
                assert "text/html" in response.headers["Content-Type"]


async def test_a_console_lookup_is_audited_and_reported(running: ConsoleGateway) -> None:
    async with client() as http:
        await sign_in(http, running.base, SUPERVISOR, PASSWORD)
        token = await csrf_of(http, running.url("/console/lookup"))
        async with http.post(
            running.url("/console/lookup"),
            data={"csrf": token, "code": "000.00.22.H29-240101-0001"},
        ) as response:
            page = await response.text()
        assert "Đang xử lý" in page or "đang" in page.lower()
        assert "Chỉ hiện khi số người gọi trùng" in page  # no call: basic disclosure
        assert running.gateway.oversight is not None
        await running.gateway.oversight.recorder.flush()
        async with http.get(
            running.url("/console/reports?from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z")
        ) as response:
            assert response.status == 400  # longer than a year
        async with http.get(running.url(f"/console/reports?from={RECENT}&format=csv")) as response:
            assert response.status == 200
            assert 'filename="statusgw-report-' in response.headers["Content-Disposition"]
            body = await response.text()
    assert "lookups.by_channel,console,1" in body.splitlines()
    audit = running.gateway.oversight.audit
    entries = list(getattr(audit, "entries", ()))
    assert [(e.channel, e.requester) for e in entries] == [("console", f"operator:{SUPERVISOR}")]


async def test_the_operator_texts_the_caller_the_status(running: ConsoleGateway) -> None:
    # No SMPP here: the console has no texter, and says so instead of pretending.
    running.escalate("c2")
    async with client() as http:
        await sign_in(http, running.base, OPERATOR, PASSWORD)
        token = await csrf_of(http, running.url("/console/calls/c2"))
        async with http.post(
            running.url("/console/calls/c2/sms"),
            data={"csrf": token, "code": "000.00.22.H29-240101-0001"},
        ) as response:
            assert "Kênh SMS chưa được bật" in await response.text()
    assert isinstance(running.gateway.store, MemoryStore)
    assert running.gateway.store.outstanding() == 0


async def test_metrics_need_the_token_and_parse(running: ConsoleGateway) -> None:
    running.escalate("c3")
    async with client() as http:
        async with http.get(running.url("/metrics")) as response:
            assert response.status == 401
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with http.get(running.url("/metrics"), headers=headers) as response:
            assert response.status == 200
            text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    escalations = families["statusgw_escalations"].samples
    assert [(s.labels, s.value) for s in escalations if s.name.endswith("_total")] == [
        ({"reason": "requested"}, 1.0)
    ]
    assert families["statusgw_queue_waiting"].samples[0].value == 1.0


async def test_reports_over_the_api_need_a_key(running: ConsoleGateway) -> None:
    key = API_KEY.partition("=")[2]
    async with client() as http:
        async with http.get(running.url(f"/v1/reports?from={RECENT}")) as response:
            assert response.status == 401
        async with http.get(
            running.url("/v1/dossiers/000.00.22.H29-240101-0002"), headers={"X-API-Key": key}
        ) as response:
            assert response.status == 200
        assert running.gateway.oversight is not None
        await running.gateway.oversight.recorder.flush()
        async with http.get(
            running.url(f"/v1/reports?from={RECENT}&format=json"), headers={"X-API-Key": key}
        ) as response:
            assert response.status == 200
            report = await response.json()
    assert report["lookups"]["by_channel"] == {"http": 1}
    assert report["lookups"]["by_status"] == {"result_ready": 1}
    entries = list(getattr(running.gateway.oversight.audit, "entries", ()))
    assert [e.requester for e in entries] == ["kiosk"]


async def test_the_operator_texts_the_caller_through_the_smsc(smsc: Smsc) -> None:
    smpp = {
        "enabled": True,
        "host": smsc.host,
        "port": smsc.port,
        "system_id": smsc.system_id,
        "password": smsc.password,
        "throughput": 0.0,
        "reconnect_min": 0.05,
        "reconnect_max": 0.5,
    }
    async with console_gateway({"smpp": smpp}) as running:
        assert running.gateway.smpp is not None
        async with asyncio.timeout(10):
            await running.gateway.smpp.wait_bound()
        running.escalate("c4", caller="0912345678")
        async with client() as http:
            await sign_in(http, running.base, OPERATOR, PASSWORD)
            token = await csrf_of(http, running.url("/console/calls/c4"))
            async with http.post(
                running.url("/console/calls/c4/sms"),
                data={"csrf": token, "code": "000.00.22.H29-240101-0001"},
            ) as response:
                page = await response.text()
            assert "Đã gửi SMS trạng thái hồ sơ cho người gọi." in page
            assert "Đã gửi SMS trạng thái hồ sơ 000.00.22.H29-240101-0001" in page  # the note
        mt = await smsc.wait_for("mt", 10.0, destination="84912345678")
    # The caller's number matches the dossier's: the verified text, with the procedure.
    assert str(mt["text"]).startswith("HS 000.00.22.H29-240101-0001: DANG XU LY")
    assert "Dang ky khai sinh" in str(mt["text"])
