"""pytest fixture for the real Asterisk: ``def test_x(asterisk: Asterisk) -> None``.

One Asterisk serves the whole session (it boots in about a second, but the root it runs
from takes a minute to build the first time; ``scripts/asterisk-root`` builds it up front).
Tests that place calls end them with ``asterisk.hangup_all()`` so calls do not pile up at
the operator desk.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.asterisk import Asterisk, ensure_root


@pytest.fixture(scope="session")
def asterisk() -> Iterator[Asterisk]:
    """Asterisk 22 with config/asterisk/*, AMI on 127.0.0.1:5038 (user statusgw)."""
    instance = Asterisk(ensure_root())
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
