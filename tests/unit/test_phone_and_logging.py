"""Phone numbers: one comparable form, and never a full number in a log line."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from gateway.logging import configure_logging
from gateway.phone import mask_msisdn, normalize_msisdn, to_international


@pytest.mark.parametrize(
    ("raw", "national"),
    [
        ("+84912345678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0912345678", "0912345678"),
        ("912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("+84 (91) 234-5678", "0912345678"),
        ("8283", "8283"),
        ("", ""),
    ],
)
def test_normalize(raw: str, national: str) -> None:
    assert normalize_msisdn(raw) == national


def test_international() -> None:
    assert to_international("0912345678") == "84912345678"
    assert to_international("+84912345678") == "84912345678"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("84912345678", "8491****678"),
        ("0912345678", "0912***678"),
        ("+84912345678", "8491****678"),
        ("VNPT", "****"),
        ("8283", "****"),
        (None, "-"),
    ],
)
def test_mask(raw: str | None, masked: str) -> None:
    assert mask_msisdn(raw) == masked


def test_log_lines_never_carry_a_full_number() -> None:
    out = io.StringIO()
    configure_logging("info", "json", out)
    try:
        log = structlog.get_logger()
        log.info(
            "sms", sender="84912345678", note="caller 0987654321 asked", code="H29-240101-0001"
        )
    finally:
        structlog.reset_defaults()
    line = json.loads(out.getvalue())
    assert line["sender"] == "8491****678"
    assert "0987654321" not in out.getvalue()
    assert line["note"] == "caller 0987***321 asked"
    assert line["code"] == "H29-240101-0001"
    assert line["level"] == "info"


def test_debug_is_filtered_at_info() -> None:
    out = io.StringIO()
    configure_logging("info", "json", out)
    try:
        structlog.get_logger().debug("hidden")
    finally:
        structlog.reset_defaults()
    assert out.getvalue() == ""


async def test_an_embedded_gateway_masks_numbers_without_being_told(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gateway.app import start_gateway
    from gateway.settings import build_settings

    structlog.reset_defaults()
    gateway = await start_gateway(build_settings({"log": {"format": "json"}}))
    try:
        structlog.get_logger().info("sms", sender="84912345678")
    finally:
        await gateway.stop()
        structlog.reset_defaults()
    err = capsys.readouterr().err
    assert "8491****678" in err
    assert "84912345678" not in err
