"""The HTTP lookup API for kiosks, web pages and operators' screens (aiohttp).

    GET /v1/dossiers/{code}[?verifier=5678]   the dossier, same disclosure rules as SMS
    GET /healthz                               the process answers (liveness)
    GET /readyz                                sources, cache, SMSC, AMI (readiness)
    GET /openapi.json                          this API, described
    GET /v1/reports?from=&to=[&format=csv]     lookups, calls, queue figures (gateway.reports)
    GET /metrics                               Prometheus text ([metrics] token, if set)
    /console/                                  the operator console, when enabled

``/v1`` needs an API key (``X-API-Key`` or ``Authorization: Bearer``) unless
``[http] anonymous`` is set; each key has its own per-minute budget. An HTTP client is never
a dossier's owner by its network identity, so only the verifier (last 4 digits or the whole
phone number of the dossier) raises the disclosure level. Bad input gets 400 with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from gateway.clock import Clock, SystemClock
from gateway.codes import MAX_CODE_TEXT, CodeGrammar, DossierCode, is_procedure_code
from gateway.console.web import render_report
from gateway.errors import (
    AuthRequiredError,
    InvalidApiKeyError,
    InvalidCodeError,
    InvalidFactorError,
    InvalidInputError,
    LookupUnavailableError,
    ProcedureCodeGivenError,
    RateLimitedError,
)
from gateway.health import Health, Readiness
from gateway.http.openapi import openapi_document
from gateway.http.problems import from_error, problem, problem_middleware
from gateway.lookup import Channel, DossierView, LookupRequest, LookupResult, LookupService, Outcome
from gateway.metrics import CONTENT_TYPE, Metrics
from gateway.privacy import Disclosure, is_valid_factor
from gateway.reports import PeriodError, ReportData, build_report, parse_period
from gateway.settings import HttpSettings, Settings

VIETNAM_OFFSET_S = 7 * 3600
MAX_REQUEST_BYTES = 4096
MAX_CONSOLE_BYTES = 16384

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str  # what logs and budgets call the client
    digest: bytes  # sha256 of the key


class ApiKeys:
    """The keys allowed to call /v1, held as SHA-256 digests and compared in constant time."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self._keys = tuple(_parse_key(entry, index) for index, entry in enumerate(entries))

    def identify(self, presented: str) -> ApiKey | None:
        digest = hashlib.sha256(presented.encode()).digest()
        match = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.digest):
                match = key
        return match


def _parse_key(entry: str, index: int) -> ApiKey:
    name, sep, secret = entry.partition("=")
    if not sep:
        name, secret = "", entry
    if secret.startswith("sha256:"):
        digest = bytes.fromhex(secret.removeprefix("sha256:"))
    else:
        digest = hashlib.sha256(secret.encode()).digest()
    return ApiKey(name or f"key{index + 1}-{digest.hex()[:8]}", digest)


class _Api:
    def __init__(
        self,
        lookup: LookupService,
        health: Health,
        http: HttpSettings,
        grammar: CodeGrammar,
        clock: Clock,
    ) -> None:
        self._lookup = lookup
        self._health = health
        self._anonymous = http.anonymous
        self._keys = ApiKeys(http.api_keys)
        self._grammar = grammar
        self._clock = clock
        self._log = structlog.get_logger("statusgw.http")

    async def dossier(self, request: web.Request) -> web.Response:
        started = self._clock.monotonic()
        client = await self._client(request)
        code = self._code(request.match_info["code"])
        verifier = _verifier(request)
        result = await self._lookup.lookup(
            LookupRequest(code, Channel.HTTP, requester=None, factor=verifier, actor=client)
        )
        self._log.info(
            "http.lookup",
            client=client,
            code=code.canonical,
            outcome=result.outcome.value,
            cache=result.cache,
            source=result.source,
            ms=round((self._clock.monotonic() - started) * 1000, 1),
        )
        return _answer(result, request.path)

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, _request: web.Request) -> web.Response:
        await self._lookup.cache.probe()
        readiness = self._health.readiness()
        return web.json_response(_readiness(readiness), status=200 if readiness.ready else 503)

    async def openapi(self, _request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def _client(self, request: web.Request) -> str:
        presented = _presented_key(request)
        if presented is None:
            if not self._anonymous:
                raise AuthRequiredError()
            name = "anonymous"
        else:
            key = self._keys.identify(presented)
            if key is None:
                raise InvalidApiKeyError()
            name = key.name
        admission = await self._lookup.admit_client(name)
        if not admission.allowed:
            raise RateLimitedError(admission.retry_after)
        return name

    def _code(self, text: str) -> DossierCode:
        if len(text) > MAX_CODE_TEXT:
            raise InvalidCodeError(f"a dossier code has at most {MAX_CODE_TEXT} characters")
        if is_procedure_code(text):
            raise ProcedureCodeGivenError(
                "this is the code of a procedure (thủ tục); the dossier code is on the receipt"
            )
        today = datetime.fromtimestamp(self._clock.now().timestamp() + VIETNAM_OFFSET_S).date()
        code = self._grammar.parse(text, today=today)
        if code is None:
            raise InvalidCodeError(
                "expected a code such as 000.00.22.H29-240101-0001 (agency, yymmdd, number)"
            )
        return code


def build_http_app(
    lookup: LookupService,
    health: Health,
    settings: Settings,
    *,
    grammar: CodeGrammar | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    reports: ReportData | None = None,
    console: web.Application | None = None,
) -> web.Application:
    """The aiohttp application; the caller runs it (``web.AppRunner``) and closes ``lookup``."""
    clock = clock or SystemClock()
    api = _Api(lookup, health, settings.http, grammar or CodeGrammar(), clock)
    # The console's forms (notes) are larger than any API request.
    limit = MAX_CONSOLE_BYTES if console is not None else MAX_REQUEST_BYTES
    app = web.Application(middlewares=[problem_middleware], client_max_size=limit)
    app.router.add_get("/v1/dossiers/{code}", api.dossier, allow_head=False)
    app.router.add_get("/healthz", api.healthz, allow_head=False)
    app.router.add_get("/readyz", api.readyz, allow_head=False)
    app.router.add_get("/openapi.json", api.openapi, allow_head=False)
    if reports is not None:
        app.router.add_get("/v1/reports", _report_handler(api, reports, settings, clock))
    if metrics is not None and settings.metrics.enabled:
        app.router.add_get("/metrics", _metrics_handler(metrics, settings.metrics.token))
    if console is not None:
        app.add_subapp("/console", console)
        app.router.add_get("/console", _to_console, allow_head=False)
    return app


def _report_handler(api: _Api, reports: ReportData, settings: Settings, clock: Clock) -> Handler:
    async def report(request: web.Request) -> web.Response:
        await api._client(request)
        try:
            start, end = parse_period(
                request.query.get("from", ""),
                request.query.get("to") or None,
                settings.console.timezone,
                clock.now(),
            )
        except PeriodError as exc:
            raise InvalidInputError(str(exc)) from None
        report = build_report(await reports.tallies(start, end), start, end)
        return render_report(report, request.query.get("format", "json"))

    return report


def _metrics_handler(metrics: Metrics, token: str) -> Handler:
    expected = _parse_key(token, 0).digest if token else None

    async def scrape(request: web.Request) -> web.Response:
        if expected is not None:
            presented = _presented_key(request) or ""
            digest = hashlib.sha256(presented.encode()).digest()
            if not hmac.compare_digest(digest, expected):
                raise InvalidApiKeyError()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return scrape


async def _to_console(_request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/console/")


def _presented_key(request: web.Request) -> str | None:
    key = request.headers.get("X-API-Key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _verifier(request: web.Request) -> str | None:
    values = request.query.getall("verifier", [])
    if not values:
        return None
    if len(values) > 1 or not is_valid_factor(values[0]):
        raise InvalidFactorError()
    return values[0]


def _answer(result: LookupResult, path: str) -> web.Response:
    if result.outcome is Outcome.FOUND and result.view is not None:
        body = {**view_json(result.view), "source": result.source, "cache": result.cache}
        return web.Response(
            body=json.dumps(body, ensure_ascii=False).encode(),
            content_type="application/json",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )
    if result.outcome is Outcome.RATE_LIMITED:
        return from_error(RateLimitedError(result.retry_after or 60.0), path)
    if result.outcome is Outcome.UNAVAILABLE:
        retry = str(max(1, round(result.retry_after or 30)))
        response = from_error(LookupUnavailableError(), path)
        response.headers["Retry-After"] = retry
        return response
    error_id = result.error_id
    assert error_id is not None
    return problem(error_id, instance=path)


def view_json(view: DossierView) -> dict[str, Any]:
    """The JSON form of a view; verified fields appear only at the verified level."""
    body: dict[str, Any] = {
        "code": view.code,
        "status": {
            "id": view.status.value,
            "label": view.status.label,
            "label_unaccented": view.status.sms_label,
            "national_code": view.status.national_code,
            "final": view.status.is_final,
        },
        "due_at": view.due_at.isoformat() if view.due_at else None,
        "overdue": view.overdue,
        "agency": view.agency,
        "disclosure": view.disclosure.value,
    }
    if view.disclosure is Disclosure.VERIFIED:
        body["procedure"] = view.procedure
        body["initials"] = view.initials
    return body


def _readiness(readiness: Readiness) -> dict[str, Any]:
    return {
        "status": readiness.status,
        "components": {
            s.name: {
                "ok": s.ok,
                "detail": s.detail,
                "since": s.since.isoformat(),
                "required": s.required,
            }
            for s in readiness.components
        },
    }
