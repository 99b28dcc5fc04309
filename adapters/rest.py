"""Dossiers from an HTTP/JSON service (aiohttp client): a provincial one-stop system or a
national-portal style API.

``url`` is a template with ``{code}`` (``digits_url`` with ``{digits}``, ``phone_url`` with
``{phone}``, both optional). ``headers`` carry the authentication. ``mapping`` says where each
canonical field sits in a record (a dotted path); it is laid over the national portal's names
(``MaHoSo``, ``TrangThaiHoSo``, ``NgayTiepNhan``, ``NgayHenTra`` as ``yyyyMMddHHmmss``, …).
``record_path`` says where the record, or the list of records, sits in the reply.

Answers: 404, an empty body, ``null`` or an empty list mean "not known here". A 5xx, a 429 or
a timeout is retried ``retries`` times with exponential backoff and full jitter, so that many
gateways do not retry in step; the whole call, retries included, stays within ``timeout``.
Any other status is a configuration problem (wrong key, wrong URL) and fails at once.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.records import FIELDS, dossier_from_fields
from gateway.dossier import Dossier
from gateway.phone import normalize_msisdn
from gateway.ports import SourceError
from gateway.settings import SourceSettings

# The national portal's field names (HoSoDongBoDVC); a deployment's mapping overrides them.
NATIONAL_MAPPING: Mapping[str, str] = {
    "code": "MaHoSo",
    "status": "TrangThaiHoSo",
    "received_at": "NgayTiepNhan",
    "due_at": "NgayHenTra",
    "agency": "DonViXuLy",
    "procedure": "TenTTHC",
    "phone": "SoDienThoai",
    "updated_at": "NgayCapNhat",
    "applicant": "ChuHoSo",
    "alt_codes": "MaHoSoKhac",
}
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MIN_ATTEMPT = 0.05


class _RetryableError(Exception):
    """One attempt failed in a way worth trying again."""


class RestSource:
    def __init__(
        self,
        url: str,
        *,
        name: str = "rest",
        digits_url: str = "",
        phone_url: str = "",
        headers: Mapping[str, str] | None = None,
        mapping: Mapping[str, str] | None = None,
        record_path: str = "",
        timeout: float = 2.0,
        retries: int = 2,
        retry_backoff: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        unknown = sorted(set(mapping or {}) - set(FIELDS))
        if unknown:
            raise ValueError(f"source.mapping: unknown field {unknown[0]!r}")
        self.name = name
        self._urls = {"code": url, "digits": digits_url, "phone": phone_url}
        self._headers = dict(headers or {})
        self._mapping = {**NATIONAL_MAPPING, **(mapping or {})}
        self._record_path = record_path
        self._timeout = timeout
        self._retries = retries
        self._backoff = retry_backoff
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: SourceSettings) -> RestSource:
        return cls(
            settings.url,
            name=settings.display_name,
            digits_url=settings.digits_url,
            phone_url=settings.phone_url,
            headers=settings.headers,
            mapping=settings.mapping,
            record_path=settings.record_path,
            timeout=settings.timeout,
            retries=settings.retries,
            retry_backoff=settings.retry_backoff,
        )

    async def fetch(self, code: str) -> Dossier | None:
        found = await self._dossiers("code", code=code)
        for dossier in found:
            if dossier.code == code or code in dossier.alt_codes:
                return dossier
        return found[0] if len(found) == 1 else None

    async def fetch_by_digits(self, digits: str) -> list[Dossier]:
        if not self._urls["digits"]:
            return []
        return await self._dossiers("digits", digits=digits)

    async def fetch_by_phone(self, phone: str) -> list[Dossier]:
        if not self._urls["phone"]:
            return []
        national = normalize_msisdn(phone)
        found = await self._dossiers("phone", phone=national)
        return [d for d in found if d.phone == national and not d.status.is_final]

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _dossiers(self, kind: str, **values: str) -> list[Dossier]:
        url = self._urls[kind].format(**{k: quote(v, safe="") for k, v in values.items()})
        body = await self._get(url)
        if body is None:
            return []
        try:
            return [
                dossier_from_fields(self._canonical(r), strict=False) for r in self._records(body)
            ]
        except (ValueError, TypeError) as exc:
            raise SourceError(f"{self.name}: unusable record: {exc}") from exc

    async def _get(self, url: str) -> Any:
        attempts = self._retries + 1
        per_attempt = max(_MIN_ATTEMPT, self._timeout / attempts)
        last = "no attempt"
        try:
            async with asyncio.timeout(self._timeout):
                for attempt in range(attempts):
                    if attempt:
                        await asyncio.sleep(self._delay(attempt))
                    try:
                        return await self._attempt(url, per_attempt)
                    except _RetryableError as exc:
                        last = str(exc)
        except TimeoutError:
            last = f"{last}; gave up after {self._timeout:g} s"
        raise SourceError(f"{self.name}: {last}")

    async def _attempt(self, url: str, timeout: float) -> Any:
        session = self._client()
        try:
            async with (
                asyncio.timeout(timeout),
                session.get(url, headers=self._headers, allow_redirects=False) as response,
            ):
                if response.status == 404:
                    return None
                if response.status in _RETRY_STATUSES:
                    raise _RetryableError(f"HTTP {response.status}")
                if response.status != 200:
                    raise SourceError(f"{self.name}: HTTP {response.status} (not retried)")
                text = await response.text()
        except TimeoutError:
            raise _RetryableError(f"no answer within {timeout:.2f} s") from None
        except aiohttp.ClientError as exc:
            raise _RetryableError(f"{type(exc).__name__}: {exc}") from None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise SourceError(f"{self.name}: reply is not JSON") from None

    def _delay(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and the exponential step."""
        return self._rng.uniform(0, self._backoff * 2 ** (attempt - 1))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
                headers={"Accept": "application/json", "User-Agent": "statusgw"},
            )
        return self._session

    def _records(self, body: Any) -> list[Mapping[str, Any]]:
        node = _at(body, self._record_path) if self._record_path else body
        if node is None:
            return []
        items = node if isinstance(node, list) else [node]
        records = [item for item in items if isinstance(item, Mapping) and item]
        if len(records) != len([i for i in items if i]):
            raise SourceError(f"{self.name}: a record is not a JSON object")
        return records

    def _canonical(self, record: Mapping[str, Any]) -> dict[str, object]:
        return {field: _at(record, path) for field, path in self._mapping.items() if path}


def _at(node: Any, path: str) -> Any:
    """The value at a dotted path (``data.items.0.MaHoSo``), ``None`` when absent."""
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
