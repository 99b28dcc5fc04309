"""The small interfaces the domain depends on; adapters implement them."""

from __future__ import annotations

from typing import Protocol

from gateway.dossier import Dossier


class SourceError(Exception):
    """A source could not answer (down, timed out, bad data); the question may be asked again."""


class DossierSource(Protocol):
    """Where dossiers are read from: an embedded file, PostgreSQL, a REST service.

    ``code`` is always a canonical dossier code (see :mod:`gateway.codes`). A source that does
    not know a dossier returns ``None`` or an empty list; a source that cannot answer raises
    :class:`SourceError`.
    """

    name: str

    async def fetch(self, code: str) -> Dossier | None: ...

    async def fetch_by_digits(self, digits: str) -> list[Dossier]:
        """Dossiers whose code's digits, in order, are ``digits`` (keypad entry)."""
        ...

    async def fetch_by_phone(self, phone: str) -> list[Dossier]:
        """Open dossiers whose applicant phone is ``phone`` (normalised national form)."""
        ...

    async def close(self) -> None: ...
