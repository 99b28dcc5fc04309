"""What a lookup may disclose, and the sealed form in which dossiers are cached.

A dossier code is a locator, not a secret: codes are sequential per agency and day, so anyone
can guess a neighbour's. The rules (Law 91/2025/QH15 on personal data, domain notes §5):

- **BASIC** (the code alone): status, due date, overdue flag, where to collect. Nothing personal.
- **VERIFIED** (the code plus a second factor): also the procedure's name and the applicant's
  initials. The factor is the sender's or caller's number equal to the dossier's phone (after
  normalising ``+84``/``84``/``0``), or the last 4 digits of that phone added by the citizen.
- **Never**: full names, ID numbers, addresses, phone numbers.

Dossiers are *sealed* as soon as they leave a source: the phone becomes two keyed digests
(the whole number, and the dossier code with the last 4 digits) and the applicant's name becomes
initials. The cache, shared infrastructure, therefore never holds a phone number or a name,
and a verification works the same on a cached dossier as on a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateway.dossier import Dossier, Status
from gateway.phone import normalize_msisdn

TAIL_DIGITS = 4
_MIN_PHONE_DIGITS = 9


class Disclosure(Enum):
    BASIC = "basic"
    VERIFIED = "verified"


@dataclass(frozen=True, slots=True)
class DossierView:
    """What a channel may show or say about one dossier at the given disclosure level."""

    code: str
    status: Status
    due_at: datetime | None
    overdue: bool
    agency: str
    disclosure: Disclosure
    procedure: str | None = None
    initials: str | None = None


@dataclass(frozen=True, slots=True)
class SealedDossier:
    """A dossier without its personal data: safe to cache, enough to verify and disclose."""

    code: str
    status: Status
    received_at: datetime | None
    due_at: datetime | None
    agency: str
    procedure: str
    updated_at: datetime | None
    initials: str | None
    phone_digest: str | None
    tail_digest: str | None
    alt_codes: tuple[str, ...] = ()

    def is_overdue(self, now: datetime) -> bool:
        return _as_dossier(self).is_overdue(now)


class Sealer:
    """Keyed digests of phone numbers; the key makes them useless to whoever reads the cache."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the sealing key must have at least 16 bytes")
        self._key = key

    def digest(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def phone_digest(self, phone: str) -> str:
        return self.digest("phone", normalize_msisdn(phone))

    def seal(self, dossier: Dossier) -> SealedDossier:
        phone = normalize_msisdn(dossier.phone) if dossier.phone else ""
        tail = phone[-TAIL_DIGITS:] if len(phone) >= _MIN_PHONE_DIGITS else ""
        return SealedDossier(
            code=dossier.code,
            status=dossier.status,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            agency=dossier.agency,
            procedure=dossier.procedure,
            updated_at=dossier.updated_at,
            initials=initials(dossier.applicant),
            phone_digest=self.digest("phone", phone) if phone else None,
            tail_digest=self.digest("tail", f"{dossier.code}:{tail}") if tail else None,
            alt_codes=dossier.alt_codes,
        )

    def verifies(self, sealed: SealedDossier, requester: str | None, factor: str | None) -> bool:
        """Does the requester's number, or the factor the citizen added, match the dossier?"""
        if sealed.phone_digest is None:
            return False
        if requester and _compare(self.phone_digest(requester), sealed.phone_digest):
            return True
        if not factor:
            return False
        digits = normalize_msisdn(factor)
        if len(digits) == TAIL_DIGITS and sealed.tail_digest is not None:
            expected = self.digest("tail", f"{sealed.code}:{digits}")
            return _compare(expected, sealed.tail_digest)
        if len(digits) >= _MIN_PHONE_DIGITS:
            return _compare(self.phone_digest(digits), sealed.phone_digest)
        return False


def is_valid_factor(factor: str) -> bool:
    """The last 4 digits of the phone, or a whole phone number (spaces and ``+`` allowed)."""
    stripped = factor.replace(" ", "").removeprefix("+")
    return stripped.isdigit() and (
        len(stripped) == TAIL_DIGITS or _MIN_PHONE_DIGITS <= len(stripped) <= 13
    )


def disclose(sealed: SealedDossier, *, now: datetime, verified: bool) -> DossierView:
    """The view of ``sealed`` at the level the requester has earned."""
    view = DossierView(
        code=sealed.code,
        status=sealed.status,
        due_at=sealed.due_at,
        overdue=sealed.is_overdue(now),
        agency=sealed.agency,
        disclosure=Disclosure.BASIC,
    )
    if not verified:
        return view
    return DossierView(
        code=view.code,
        status=view.status,
        due_at=view.due_at,
        overdue=view.overdue,
        agency=view.agency,
        disclosure=Disclosure.VERIFIED,
        procedure=sealed.procedure or None,
        initials=sealed.initials,
    )


def initials(name: str | None) -> str | None:
    """``"Nguyễn Văn Hùng"`` → ``"N.V.H."``: enough for a citizen to recognise their dossier."""
    if not name:
        return None
    letters = [word[0].upper() for word in name.split() if word[0].isalpha()]
    return "".join(f"{letter}." for letter in letters) or None


def _compare(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _as_dossier(sealed: SealedDossier) -> Dossier:
    return Dossier(code=sealed.code, status=sealed.status, due_at=sealed.due_at)
