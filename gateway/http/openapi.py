"""The OpenAPI 3.1 description of the HTTP API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from gateway.dossier import Status
from gateway.errors import ErrorId

API_VERSION = "1.0.0"


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "statusgw dossier lookup",
            "version": API_VERSION,
            "description": (
                "Where an administrative dossier (hồ sơ) is, by its code. The code alone "
                "gives status, due date and where to collect; the verifier (last 4 digits "
                "or the whole phone number on the dossier) adds the procedure's name and "
                "the applicant's initials. Errors are RFC 9457 problem documents."
            ),
        },
        "paths": {
            "/v1/dossiers/{code}": {"get": _dossier_operation()},
            "/v1/reports": {"get": _report_operation()},
            "/healthz": {
                "get": {
                    "summary": "The process answers",
                    "operationId": "liveness",
                    "responses": {"200": _json_response("Alive", {"type": "object"})},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Sources, cache, SMSC and AMI states",
                    "operationId": "readiness",
                    "responses": {
                        "200": _json_response("Ready", _ref("Readiness")),
                        "503": _json_response("A required component is down", _ref("Readiness")),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": _json_response("OpenAPI", {"type": "object"})},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": _schemas(),
        },
    }


def _report_operation() -> dict[str, Any]:
    day = "YYYY-MM-DD (a local day) or an ISO 8601 time"
    return {
        "summary": "Lookups, hotline calls and the operators' queue over a period",
        "description": (
            "Lookups per channel, outcome, status and agency; the not-found rate; calls by "
            "outcome, containment (answered by the IVR itself) and escalations by reason; "
            "answered and abandoned queue calls, abandonment, waits; the senders refused most "
            "by the rate limits, masked. At most 366 days."
        ),
        "operationId": "getReport",
        "security": [{"apiKey": []}, {"bearer": []}],
        "parameters": [
            {
                "name": "from",
                "in": "query",
                "required": True,
                "description": day,
                "schema": {"type": "string"},
            },
            {
                "name": "to",
                "in": "query",
                "required": False,
                "description": f"{day}; a day is included; default: now",
                "schema": {"type": "string"},
            },
            {
                "name": "format",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
            },
        ],
        "responses": {
            "200": {
                "description": "The report (CSV: one figure a row, section,key,value)",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "400": _problem("The period is not valid"),
            "401": _problem("No API key, or an unknown one"),
        },
    }


def _dossier_operation() -> dict[str, Any]:
    return {
        "summary": "The status of one dossier",
        "operationId": "getDossier",
        "security": [{"apiKey": []}, {"bearer": []}],
        "parameters": [
            {
                "name": "code",
                "in": "path",
                "required": True,
                "description": "Dossier code, e.g. 000.00.22.H29-240101-0001 (separators optional)",
                "schema": {"type": "string", "maxLength": 120},
            },
            {
                "name": "verifier",
                "in": "query",
                "required": False,
                "description": "Last 4 digits of the dossier's phone, or the whole number",
                "schema": {"type": "string", "pattern": r"^\+?[0-9 ]{4,16}$"},
            },
        ],
        "responses": {
            "200": {
                "description": "Found",
                "content": {"application/json": {"schema": _ref("Dossier")}},
            },
            "400": _problem("Not a dossier code, a procedure code, or a bad verifier"),
            "401": _problem("No API key, or an unknown one"),
            "404": _problem("No dossier has this code"),
            "429": _problem("Budget spent; see Retry-After"),
            "503": _problem("The dossier systems cannot answer now; see Retry-After"),
        },
    }


def _schemas() -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    return {
        "Dossier": {
            "type": "object",
            "required": ["code", "status", "due_at", "overdue", "agency", "disclosure"],
            "properties": {
                "code": {"type": "string"},
                "status": _ref("Status"),
                "due_at": {"type": ["string", "null"], "format": "date-time"},
                "overdue": {"type": "boolean"},
                "agency": {"type": "string", "description": "Where to ask and collect"},
                "disclosure": {"type": "string", "enum": ["basic", "verified"]},
                "procedure": {**nullable_string, "description": "Only when verified"},
                "initials": {**nullable_string, "description": "Only when verified"},
                "source": nullable_string,
                "cache": {"type": "string", "enum": ["hit", "miss", "stale", "none"]},
            },
        },
        "Status": {
            "type": "object",
            "required": ["id", "label", "label_unaccented", "national_code", "final"],
            "properties": {
                "id": {"type": "string", "enum": [s.value for s in Status]},
                "label": {"type": "string"},
                "label_unaccented": {"type": "string"},
                "national_code": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
                "final": {"type": "boolean"},
            },
        },
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "error_id"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "error_id": {"type": "string", "enum": [e.value for e in ErrorId]},
                "retry_after": {"type": "integer"},
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["status", "components"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
                "components": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "ok": {"type": "boolean"},
                            "detail": {"type": "string"},
                            "since": {"type": "string", "format": "date-time"},
                            "required": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }
