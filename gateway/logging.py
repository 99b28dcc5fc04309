"""One structlog pipeline for the whole process, configured once by the composition root.

Processors run in order: context bound per SMS or call, level, UTC timestamp, then the
redaction step, so no renderer ever sees a full phone number, then JSON lines (production) or
a readable console (a terminal).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

from gateway.phone import mask_msisdn

# Field names whose values are phone numbers wherever they appear.
PHONE_FIELDS = frozenset(
    {"phone", "msisdn", "sender", "caller", "callerid", "source_addr", "destination_addr", "to"}
)
# A run of 9 to 13 digits (with an optional +) inside free text is treated as a phone number.
_PHONE_IN_TEXT = re.compile(r"(?<![\d.])\+?\d{9,13}(?![\d.])")


def redact_phones(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask phone numbers in known fields and in any free text of the event."""
    for key, value in list(event.items()):
        if key in PHONE_FIELDS and isinstance(value, str):
            event[key] = mask_msisdn(value)
        elif isinstance(value, str) and key != "timestamp":
            event[key] = _PHONE_IN_TEXT.sub(lambda m: mask_msisdn(m.group()), value)
    return event


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if console
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_phones,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
