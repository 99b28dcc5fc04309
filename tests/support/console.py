"""A running gateway with the operator console on loopback, and escalations to publish.

The gateway is the real one (``start_gateway``) on the embedded sample data; the hotline's
escalations are published on its bus as the dispatcher would publish them, so the console
is tested without Asterisk (the hotline's own tests prove the publishing).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from gateway.app import Gateway, start_gateway
from gateway.console.auth import hash_password
from gateway.dossier import Status
from gateway.settings import build_settings
from ivr.commands import EscalationReason
from ivr.escalation import Escalation, QueueProgress, QueueStage

PASSWORD = "mat-khau-thu-nghiem"
OPERATOR, SUPERVISOR = "lan", "minh"
DESK = "Desk 1"
API_KEY = "kiosk=a-key-long-enough-for-tests"
METRICS_TOKEN = "a-token-long-enough-for-tests"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ConsoleGateway:
    gateway: Gateway
    base: str  # http://127.0.0.1:PORT
    published: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def escalate(
        self,
        call_id: str,
        *,
        caller: str | None = "0912345678",
        waited: float = 42.0,
        ring_at: str | None = DESK,
        dossier: str | None = "000.00.22.H29-240101-0001",
    ) -> Escalation:
        """A caller who pressed 0 after hearing the dossier's status, queued, ringing."""
        now = datetime.now(UTC)
        escalation = Escalation(
            call_id=call_id,
            channel=f"Local/s@caller-{call_id};1",
            caller=caller,
            reason=EscalationReason.REQUESTED,
            dossier=dossier,
            status=Status.PROCESSING if dossier else None,
            entered="0000022292401010001",
            said="Hồ sơ đang được giải quyết, hẹn trả ngày 05/03/2025.",
            path=("chao", "nhap_ma", "doc_trang_thai", "bam_0"),
            at=now - timedelta(seconds=waited),
        )
        bus = self.gateway.escalations
        bus.publish(escalation)
        bus.publish(QueueProgress(call_id, QueueStage.JOINED, "operators", now, position=1))
        if ring_at:
            bus.publish(
                QueueProgress(call_id, QueueStage.RINGING, "operators", now, operator=ring_at)
            )
        self.published.append(call_id)
        return escalation


@contextlib.asynccontextmanager
async def console_gateway(
    sections: dict[str, dict[str, Any]] | None = None, **console: Any
) -> AsyncIterator[ConsoleGateway]:
    """The gateway with HTTP and the console; ``sections`` adds others (e.g. ``smpp``)."""
    port = free_port()
    settings = build_settings(
        (sections or {})
        | {
            "http": {"enabled": True, "listen": f"127.0.0.1:{port}", "api_keys": [API_KEY]},
            "metrics": {"token": METRICS_TOKEN},
            "console": {
                "enabled": True,
                "users": [
                    f"{OPERATOR}:operator:{password_hash()}",
                    f"{SUPERVISOR}:supervisor:{password_hash()}",
                ],
                "members": {OPERATOR: DESK},
                "lockout_after": 3,
            }
            | console,
            "log": {"level": "warning"},
        }
    )
    gateway = await start_gateway(settings)
    try:
        yield ConsoleGateway(gateway, f"http://127.0.0.1:{port}")
    finally:
        await gateway.stop()
