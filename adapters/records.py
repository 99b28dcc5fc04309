"""One conversion from a source's canonical fields to a :class:`Dossier`, for every adapter.

The canonical fields are ``code, status, received_at, due_at, agency, procedure, phone,
updated_at`` and optionally ``applicant`` and ``alt_codes``. Codes are canonicalised with the
national grammar (codes of another scheme are kept, upper-cased), phones normalised, times
read as :mod:`adapters.timeparse` does.

``strict`` decides what an unknown status does: a file checked at load time rejects the row
(:class:`ValueError` naming the column); a live backend that starts using a new status word
answers :attr:`Status.UNKNOWN` ("chưa xác định") rather than making the dossier vanish.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import structlog

from adapters.timeparse import DEFAULT_FORMATS, parse_time
from gateway.codes import parse_dossier_code
from gateway.dossier import Dossier, Status
from gateway.phone import normalize_msisdn

FIELDS = (
    "code",
    "status",
    "received_at",
    "due_at",
    "agency",
    "procedure",
    "phone",
    "updated_at",
    "applicant",
    "alt_codes",
)


def canonical_code(raw: object) -> str:
    """The canonical form of a code from a source; a code of another scheme is kept upper-cased.

    Deployments have codes outside the national grammar (social insurance ``03706/2026/07906``,
    provincial hex ids); they are looked up as written.
    """
    text = _text(raw)
    if not text:
        raise ValueError("code is empty")
    parsed = parse_dossier_code(text)
    return parsed.canonical if parsed is not None else "".join(text.upper().split())


def dossier_from_fields(
    fields: Mapping[str, object],
    *,
    strict: bool = True,
    time_formats: tuple[str, ...] = DEFAULT_FORMATS,
) -> Dossier:
    """A dossier from canonical fields; :class:`ValueError` names the faulty field."""
    code = canonical_code(fields.get("code"))
    phone = _text(fields.get("phone"))
    return Dossier(
        code=code,
        status=_status(fields.get("status"), code, strict),
        received_at=_time(fields, "received_at", time_formats),
        due_at=_time(fields, "due_at", time_formats),
        agency=_text(fields.get("agency")),
        procedure=_text(fields.get("procedure")),
        phone=(normalize_msisdn(phone) or None) if phone else None,
        updated_at=_time(fields, "updated_at", time_formats),
        applicant=_text(fields.get("applicant")) or None,
        alt_codes=_alt_codes(fields.get("alt_codes")),
    )


def _status(raw: object, code: str, strict: bool) -> Status:
    text = _text(raw)
    if not text:
        if strict:
            raise ValueError("status is empty")
        return Status.UNKNOWN
    try:
        return Status.parse(text)
    except ValueError:
        if strict:
            raise
        structlog.get_logger("statusgw.source").warning(
            "source.unknown_status", code=code, status=text[:40]
        )
        return Status.UNKNOWN


def _alt_codes(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    parts = raw if isinstance(raw, list | tuple) else str(raw).split(";")
    return tuple(canonical_code(p) for p in parts if _text(p))


def _time(fields: Mapping[str, object], name: str, formats: tuple[str, ...]) -> datetime | None:
    try:
        return parse_time(fields.get(name), formats=formats)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
