"""Vietnamese phone numbers: one normal form for comparison, one masked form for logs."""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D")


def normalize_msisdn(raw: str) -> str:
    """The national form (``0912345678``) of ``+84912345678``, ``84912345678`` or ``0912345678``.

    Anything that does not look like a Vietnamese number is returned as its digits only, so two
    spellings of one number compare equal and nothing raises on odd input.
    """
    digits = _NON_DIGITS.sub("", raw)
    if digits.startswith("84") and len(digits) in (11, 12):
        return "0" + digits[2:]
    if digits and not digits.startswith("0") and len(digits) == 9:
        return "0" + digits
    return digits


def to_international(raw: str) -> str:
    """``84…`` form, as SMSCs in Vietnam expect destination numbers (TON 1, NPI 1)."""
    national = normalize_msisdn(raw)
    if national.startswith("0") and len(national) in (10, 11):
        return "84" + national[1:]
    return national


def mask_msisdn(raw: str | None) -> str:
    """Keep what an operator needs to tell callers apart, and nothing that identifies them.

    ``84912345678`` → ``8491****678``. Short or alphanumeric senders keep only their length.
    """
    if not raw:
        return "-"
    digits = _NON_DIGITS.sub("", raw)
    if len(digits) < 7 or len(digits) != len(raw.lstrip("+")):
        return "*" * min(len(raw), 12)
    return digits[:4] + "*" * (len(digits) - 7) + digits[-3:]
