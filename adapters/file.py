"""The embedded source: dossiers from a CSV file, held in memory.

It is the default (``[source] kind = "file"``, empty ``path`` = the bundled sample), the demo's
data and the tests' known answers. The header is
``code,status,received_at,due_at,agency,procedure,phone,updated_at`` with optional
``applicant`` and ``alt_codes`` (several codes separated by ``;``). ``status`` is a national
code 1-10 or any name :meth:`Status.parse` knows; times are ISO 8601 (a time without an
offset is Vietnam time). A bad row stops the load with an error naming ``file:line``: a
gateway that silently skipped rows would tell a citizen their dossier does not exist.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from adapters.records import dossier_from_fields
from gateway.codes import digits_key
from gateway.dossier import Dossier
from gateway.phone import normalize_msisdn
from gateway.settings import ConfigError

REQUIRED_COLUMNS = (
    "code",
    "status",
    "received_at",
    "due_at",
    "agency",
    "procedure",
    "phone",
    "updated_at",
)
OPTIONAL_COLUMNS = ("applicant", "alt_codes")
SAMPLE = "sample/dossiers.csv"


class DossierFileError(ConfigError):
    """The dossier file cannot be used; the message starts with ``file:line``."""


class FileSource:
    """An in-memory index of dossiers by code (and alternate codes), digits key and phone."""

    def __init__(self, dossiers: Iterable[Dossier], name: str = "file") -> None:
        self.name = name
        self._by_code: dict[str, Dossier] = {}
        self._by_digits: dict[str, list[Dossier]] = {}
        self._by_phone: dict[str, list[Dossier]] = {}
        for dossier in dossiers:
            self._index(dossier)

    @classmethod
    def load(cls, path: str | Path | None = None, name: str = "file") -> FileSource:
        """Read ``path``, or the bundled sample when it is empty or ``None``."""
        return cls(read_dossiers(path), name)

    def __len__(self) -> int:
        return len({d.code for d in self._by_code.values()})

    async def fetch(self, code: str) -> Dossier | None:
        return self._by_code.get(code)

    async def fetch_by_digits(self, digits: str) -> list[Dossier]:
        return list(self._by_digits.get(digits, ()))

    async def fetch_by_phone(self, phone: str) -> list[Dossier]:
        matches = self._by_phone.get(normalize_msisdn(phone), ())
        return [d for d in matches if not d.status.is_final]

    async def close(self) -> None:
        return None

    def _index(self, dossier: Dossier) -> None:
        for code in (dossier.code, *dossier.alt_codes):
            self._by_code[code] = dossier
            bucket = self._by_digits.setdefault(digits_key(code), [])
            if dossier not in bucket:
                bucket.append(dossier)
        if dossier.phone:
            self._by_phone.setdefault(dossier.phone, []).append(dossier)


def read_dossiers(path: str | Path | None = None) -> list[Dossier]:
    """All dossiers of a CSV file; ``None`` or ``""`` reads the bundled sample."""
    if path is None or str(path) == "":
        text = resources.files("adapters").joinpath(SAMPLE).read_text(encoding="utf-8")
        return parse_dossier_csv(text, origin=f"adapters/{SAMPLE}")
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DossierFileError(f"{path}: dossier file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DossierFileError(f"{path}: cannot read dossier file: {exc}") from None
    return parse_dossier_csv(text, origin=str(path))


def parse_dossier_csv(text: str, origin: str = "<csv>") -> list[Dossier]:
    """Parse CSV text; errors name ``origin:line`` (line 1 is the header)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    _check_header(reader.fieldnames, origin)
    dossiers: list[Dossier] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in row.values()):
            continue
        try:
            dossier = _row_to_dossier(row)
        except ValueError as exc:
            raise DossierFileError(f"{origin}:{line}: {exc}") from None
        for code in (dossier.code, *dossier.alt_codes):
            if code in seen:
                raise DossierFileError(
                    f"{origin}:{line}: code {code} already appears on line {seen[code]}"
                )
            seen[code] = line
        dossiers.append(dossier)
    return dossiers


def _check_header(fieldnames: object, origin: str) -> None:
    names = [str(n).strip() for n in fieldnames] if isinstance(fieldnames, list) else []
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DossierFileError(f"{origin}:1: missing column(s) {', '.join(missing)}")
    unknown = [n for n in names if n not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise DossierFileError(f"{origin}:1: unknown column(s) {', '.join(unknown)}")


def _row_to_dossier(row: dict[str | None, str | None]) -> Dossier:
    if None in row:
        raise ValueError("more fields than columns in the header")
    return dossier_from_fields({str(k).strip(): v for k, v in row.items()}, strict=True)
