"""Every failure a citizen or a client can see, defined once with a stable id.

Each channel turns an :class:`ErrorId` into its own form in exactly one place: the SMS service
into a reply text, the hotline into a prompt or an escalation, the HTTP API into a
problem+json document (:data:`HTTP_STATUS` gives its status code). The ids are part of the
public contract: log them, match on them, never rename them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ErrorId(StrEnum):
    DOSSIER_NOT_FOUND = "dossier.not_found"
    DOSSIER_AMBIGUOUS = "dossier.ambiguous"  # a keypad digits key matches several dossiers
    LOOKUP_UNAVAILABLE = "lookup.unavailable"  # no source answered in time and nothing cached
    RATE_LIMITED = "rate.limited"
    INPUT_INVALID_CODE = "input.invalid_code"
    INPUT_PROCEDURE_CODE = "input.procedure_code"  # a procedure code was given, not a dossier's
    INPUT_INVALID_FACTOR = "input.invalid_factor"
    INPUT_INVALID = "input.invalid"
    AUTH_REQUIRED = "auth.required"
    AUTH_INVALID_KEY = "auth.invalid_key"
    HTTP_NOT_FOUND = "http.not_found"
    HTTP_METHOD_NOT_ALLOWED = "http.method_not_allowed"
    INTERNAL = "internal.error"


TITLES: Mapping[ErrorId, str] = {
    ErrorId.DOSSIER_NOT_FOUND: "No dossier has this code",
    ErrorId.DOSSIER_AMBIGUOUS: "Several dossiers match these digits",
    ErrorId.LOOKUP_UNAVAILABLE: "The dossier systems cannot answer now; try again later",
    ErrorId.RATE_LIMITED: "Too many lookups; try again later",
    ErrorId.INPUT_INVALID_CODE: "This is not a dossier code",
    ErrorId.INPUT_PROCEDURE_CODE: "This is a procedure code, not a dossier code",
    ErrorId.INPUT_INVALID_FACTOR: "The verifier must be the last 4 digits or the full phone number",
    ErrorId.INPUT_INVALID: "The request is not valid",
    ErrorId.AUTH_REQUIRED: "An API key is required",
    ErrorId.AUTH_INVALID_KEY: "The API key is not valid",
    ErrorId.HTTP_NOT_FOUND: "No such resource",
    ErrorId.HTTP_METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorId.INTERNAL: "Internal error",
}

HTTP_STATUS: Mapping[ErrorId, int] = {
    ErrorId.DOSSIER_NOT_FOUND: 404,
    ErrorId.DOSSIER_AMBIGUOUS: 409,
    ErrorId.LOOKUP_UNAVAILABLE: 503,
    ErrorId.RATE_LIMITED: 429,
    ErrorId.INPUT_INVALID_CODE: 400,
    ErrorId.INPUT_PROCEDURE_CODE: 400,
    ErrorId.INPUT_INVALID_FACTOR: 400,
    ErrorId.INPUT_INVALID: 400,
    ErrorId.AUTH_REQUIRED: 401,
    ErrorId.AUTH_INVALID_KEY: 401,
    ErrorId.HTTP_NOT_FOUND: 404,
    ErrorId.HTTP_METHOD_NOT_ALLOWED: 405,
    ErrorId.INTERNAL: 500,
}


class GatewayError(Exception):
    """A failure with a stable id, a human message, and details safe to show a client.

    ``details`` never carries personal data (no phone numbers, names or ID numbers).
    """

    error_id: ErrorId = ErrorId.INTERNAL

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or TITLES[self.error_id]
        self.details: dict[str, Any] = details
        super().__init__(self.message)


class DossierNotFoundError(GatewayError):
    error_id = ErrorId.DOSSIER_NOT_FOUND


class DossierAmbiguousError(GatewayError):
    error_id = ErrorId.DOSSIER_AMBIGUOUS


class LookupUnavailableError(GatewayError):
    error_id = ErrorId.LOOKUP_UNAVAILABLE


class RateLimitedError(GatewayError):
    error_id = ErrorId.RATE_LIMITED

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        super().__init__(message, retry_after=max(1, round(retry_after)))
        self.retry_after = max(1, round(retry_after))


class InvalidCodeError(GatewayError):
    error_id = ErrorId.INPUT_INVALID_CODE


class ProcedureCodeGivenError(GatewayError):
    error_id = ErrorId.INPUT_PROCEDURE_CODE


class InvalidFactorError(GatewayError):
    error_id = ErrorId.INPUT_INVALID_FACTOR


class InvalidInputError(GatewayError):
    error_id = ErrorId.INPUT_INVALID


class AuthRequiredError(GatewayError):
    error_id = ErrorId.AUTH_REQUIRED


class InvalidApiKeyError(GatewayError):
    error_id = ErrorId.AUTH_INVALID_KEY
