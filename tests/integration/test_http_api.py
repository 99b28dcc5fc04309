"""The HTTP API over a real loopback socket: disclosure levels, problem+json errors, API keys,
budgets, health and readiness, and the OpenAPI document."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from gateway.clock import ManualClock
from gateway.health import Health
from gateway.http import build_http_app
from gateway.lookup import LookupService
from gateway.lookup_factory import build_lookup
from gateway.settings import Settings, build_settings
from tests.support.lookup_fakes import CODE, ScriptedSource, build_service, dossier, failing

KEY = "kiosk-key-0123456789"
OTHER_KEY = "other-key-0123456789"
SAMPLE_CODE = "000.00.22.H29-240101-0001"  # in the bundled sample, phone 0912345678


def settings(**http: Any) -> Settings:
    digest = hashlib.sha256(OTHER_KEY.encode()).hexdigest()
    values: dict[str, Any] = {"api_keys": [f"kiosk={KEY}", f"sha256:{digest}"], **http}
    return build_settings(
        {"http": values, "limits": {"client_per_minute": 5}, "cache": {"seal_key": "k" * 32}}
    )


async def serve(
    lookup: LookupService, health: Health, config: Settings, clock: ManualClock
) -> TestClient[Any, Any]:
    app = build_http_app(lookup, health, config, clock=clock)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest_asyncio.fixture
async def api() -> AsyncIterator[TestClient[Any, Any]]:
    clock = ManualClock()
    health = Health(clock)
    config = settings()
    lookup = build_lookup(config, health, clock)
    client = await serve(lookup, health, config, clock)
    yield client
    await client.close()
    await lookup.close()


def auth(key: str = KEY) -> dict[str, str]:
    return {"X-API-Key": key}


async def test_code_alone_gives_the_basic_view(api: TestClient[Any, Any]) -> None:
    response = await api.get(f"/v1/dossiers/{SAMPLE_CODE}", headers=auth())
    body = await response.json()

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body["code"] == SAMPLE_CODE
    assert body["status"]["id"] == "processing"
    assert body["status"]["national_code"] == 4
    assert body["status"]["label"] == "Đang xử lý"
    assert body["disclosure"] == "basic"
    assert body["agency"] == "UBND phường Bến Nghé"
    assert "procedure" not in body and "initials" not in body
    assert body["source"] == "file"


async def test_verifier_adds_the_procedure(api: TestClient[Any, Any]) -> None:
    right = await api.get(f"/v1/dossiers/{SAMPLE_CODE}?verifier=5678", headers=auth())
    phone = await api.get(f"/v1/dossiers/{SAMPLE_CODE}?verifier=%2B84912345678", headers=auth())
    wrong = await api.get(f"/v1/dossiers/{SAMPLE_CODE}?verifier=0000", headers=auth())

    assert (await right.json())["procedure"] == "Đăng ký khai sinh"
    assert (await right.json())["disclosure"] == "verified"
    assert (await phone.json())["disclosure"] == "verified"
    assert (await wrong.json())["disclosure"] == "basic"
    assert "procedure" not in await wrong.json()


async def test_separators_are_optional_and_bearer_keys_work(api: TestClient[Any, Any]) -> None:
    response = await api.get(
        "/v1/dossiers/0000022H292401010001", headers={"Authorization": f"Bearer {OTHER_KEY}"}
    )

    assert response.status == 200
    assert (await response.json())["code"] == SAMPLE_CODE


@pytest.mark.parametrize(
    ("path", "status", "error_id"),
    [
        ("/v1/dossiers/000.00.22.H29-240101-0999", 404, "dossier.not_found"),
        ("/v1/dossiers/hello", 400, "input.invalid_code"),
        ("/v1/dossiers/1.000494.000.00.00.H29", 400, "input.procedure_code"),
        ("/v1/dossiers/000.00.22.H29-241399-0001", 400, "input.invalid_code"),
        (f"/v1/dossiers/{'9' * 500}", 400, "input.invalid_code"),
        ("/v1/dossiers/%00%FF%FE", 400, "input.invalid_code"),
        ("/v1/dossiers/..%2F..%2Fetc%2Fpasswd", 400, "input.invalid_code"),
        ("/v1/dossiers/🙂", 400, "input.invalid_code"),
        (f"/v1/dossiers/{SAMPLE_CODE}?verifier=12", 400, "input.invalid_factor"),
        (f"/v1/dossiers/{SAMPLE_CODE}?verifier=abcd", 400, "input.invalid_factor"),
        (f"/v1/dossiers/{SAMPLE_CODE}?verifier=1234&verifier=5678", 400, "input.invalid_factor"),
        ("/v1/nothing", 404, "http.not_found"),
    ],
)
async def test_bad_input_gets_a_problem_document_never_a_500(
    api: TestClient[Any, Any], path: str, status: int, error_id: str
) -> None:
    response = await api.get(path, headers=auth())
    body = await response.json(content_type=None)

    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["error_id"] == error_id
    assert body["status"] == status
    assert body["type"] == f"urn:statusgw:error:{error_id}"


async def test_wrong_method_is_a_problem_document(api: TestClient[Any, Any]) -> None:
    response = await api.post(f"/v1/dossiers/{SAMPLE_CODE}", headers=auth())

    assert response.status == 405
    assert (await response.json(content_type=None))["error_id"] == "http.method_not_allowed"


async def test_keys_are_required_and_checked(api: TestClient[Any, Any]) -> None:
    missing = await api.get(f"/v1/dossiers/{SAMPLE_CODE}")
    wrong = await api.get(f"/v1/dossiers/{SAMPLE_CODE}", headers=auth("x" * 20))

    assert missing.status == 401
    assert (await missing.json(content_type=None))["error_id"] == "auth.required"
    assert wrong.status == 401
    assert (await wrong.json(content_type=None))["error_id"] == "auth.invalid_key"


async def test_each_key_has_its_own_budget(api: TestClient[Any, Any]) -> None:
    statuses = [(await api.get("/v1/dossiers/hello", headers=auth())).status for _ in range(6)]
    limited = await api.get("/v1/dossiers/hello", headers=auth())
    other = await api.get(f"/v1/dossiers/{SAMPLE_CODE}", headers=auth(OTHER_KEY))

    assert statuses == [400] * 5 + [429]
    assert limited.status == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await limited.json(content_type=None))["error_id"] == "rate.limited"
    assert other.status == 200


async def test_anonymous_mode_needs_no_key() -> None:
    clock = ManualClock()
    health = Health(clock)
    config = settings(anonymous=True)
    lookup = build_lookup(config, health, clock)
    client = await serve(lookup, health, config, clock)
    try:
        response = await client.get(f"/v1/dossiers/{SAMPLE_CODE}")
        assert response.status == 200
    finally:
        await client.close()
        await lookup.close()


async def test_sources_down_is_503_with_retry_after() -> None:
    clock = ManualClock()
    health = Health(clock)
    lookup = build_service([failing(ScriptedSource([dossier()]))], clock=clock, health=health)
    client = await serve(lookup, health, settings(), clock)
    try:
        response = await client.get(f"/v1/dossiers/{CODE}", headers=auth())
        body = await response.json(content_type=None)
        ready = await client.get("/readyz")
        readiness = await ready.json()
    finally:
        await client.close()
        await lookup.close()

    assert response.status == 503
    assert body["error_id"] == "lookup.unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    # The source is optional for readiness: stale answers and "try later" still work.
    assert ready.status == 200
    assert readiness["status"] == "degraded"
    assert readiness["components"]["source:scripted"]["ok"] is False


async def test_health_and_readiness(api: TestClient[Any, Any]) -> None:
    live = await api.get("/healthz")
    ready = await api.get("/readyz")
    body = await ready.json()

    assert live.status == 200
    assert ready.status == 200
    assert body["status"] == "ok"
    assert set(body["components"]) == {"cache", "source:file"}
    assert body["components"]["cache"]["ok"] is True


async def test_a_required_component_down_makes_the_gateway_unready() -> None:
    clock = ManualClock()
    health = Health(clock)
    config = settings()
    lookup = build_lookup(config, health, clock)
    health.register("smpp", required=True)
    client = await serve(lookup, health, config, clock)
    try:
        before = await client.get("/readyz")
        before_body = await before.json()
        health.report("smpp", True, "bound transceiver")
        after = await client.get("/readyz")
    finally:
        await client.close()
        await lookup.close()

    assert before.status == 503
    assert before_body["status"] == "unavailable"
    assert before_body["components"]["smpp"] == {
        "ok": False,
        "detail": "starting",
        "since": "2025-03-01T01:00:00+00:00",
        "required": True,
    }
    assert after.status == 200


async def test_openapi_document_is_valid(api: TestClient[Any, Any]) -> None:
    response = await api.get("/openapi.json")
    document = await response.json()

    validate(document)
    assert "/v1/dossiers/{code}" in document["paths"]
