"""The one place where errors become HTTP answers: RFC 9457 problem+json documents.

Every failure, ours (:class:`GatewayError`), aiohttp's (unknown route, wrong method, request
too large) or a defect, leaves as ``application/problem+json`` with the stable ``error_id``.
A defect is logged with its traceback and answered 500 without details.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.errors import HTTP_STATUS, TITLES, ErrorId, GatewayError, RateLimitedError

PROBLEM_TYPE = "application/problem+json"
_FROM_HTTP_STATUS = {404: ErrorId.HTTP_NOT_FOUND, 405: ErrorId.HTTP_METHOD_NOT_ALLOWED}


def problem(
    error_id: ErrorId,
    detail: str | None = None,
    *,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    status: int | None = None,
) -> web.Response:
    code = status or HTTP_STATUS[error_id]
    body: dict[str, Any] = {
        "type": f"urn:statusgw:error:{error_id.value}",
        "title": TITLES[error_id],
        "status": code,
        "error_id": error_id.value,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra or {})
    return web.Response(
        status=code,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=PROBLEM_TYPE,
        charset="utf-8",
        headers=headers,
    )


def from_error(error: GatewayError, instance: str | None = None) -> web.Response:
    headers = None
    if isinstance(error, RateLimitedError):
        headers = {"Retry-After": str(error.retry_after)}
    detail = error.message if error.message != TITLES[error.error_id] else None
    return problem(
        error.error_id, detail, instance=instance, extra=dict(error.details), headers=headers
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as error:
        return from_error(error, request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        fallback = ErrorId.INPUT_INVALID if exc.status < 500 else ErrorId.INTERNAL
        error_id = _FROM_HTTP_STATUS.get(exc.status, fallback)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return problem(
            error_id, exc.reason, instance=request.path, headers=headers, status=exc.status
        )
    except Exception:
        structlog.get_logger("statusgw.http").exception("http.defect", path=request.path)
        return problem(ErrorId.INTERNAL, instance=request.path)
