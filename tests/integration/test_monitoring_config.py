"""The sample Prometheus rules and Grafana dashboard in config/: promtool accepts the rules
and passes their unit tests, and every metric they use is one the gateway exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.clock import ManualClock
from gateway.health import Health
from gateway.metrics import Metrics
from sms.pipeline import PipelineStats
from sms.transport import SmppStats

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = CONFIG / "prometheus" / "statusgw-rules.yml"
RULES_TEST = CONFIG / "prometheus" / "statusgw-rules.test.yml"
DASHBOARD = CONFIG / "grafana" / "statusgw-dashboard.json"
_METRIC = re.compile(r"\b(statusgw_[a-z_]+|statusgw:[a-z_:0-9]+)")
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: scripts/setup --dev installs Debian's prometheus")
    return found


def test_promtool_accepts_the_rules_and_their_tests_pass() -> None:
    for command in (["check", "rules", str(RULES)], ["test", "rules", str(RULES_TEST)]):
        done = subprocess.run(
            [promtool(), *command], capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def exported_names() -> set[str]:
    """Every sample name a gateway with all its parts watched exports."""
    metrics = Metrics()
    health = Health(ManualClock())
    health.register("smpp", required=True)
    health.report("ami", True)
    stats = PipelineStats()
    stats.receipt_states["delivered"] = 1
    metrics.watch_sms(stats, SmppStats())
    metrics.watch_health(health)
    metrics.watch_calls(lambda: 0)
    metrics.watch_queue(lambda: 0)
    metrics.watch_console(lambda: 0)
    metrics.watch_recorder(object())
    names: set[str] = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES)
    return names


def recorded_names() -> set[str]:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def used_names(text: str) -> set[str]:
    return set(_METRIC.findall(text))


def test_the_rules_use_only_exported_metrics() -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    expressions = " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    unknown = used_names(expressions) - exported_names() - recorded_names()
    assert not unknown, unknown


def test_the_dashboard_uses_only_exported_metrics_and_recorded_rules() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    targets = [t for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(targets) >= 15
    unknown = used_names(" ".join(t["expr"] for t in targets)) - exported_names()
    unknown -= recorded_names()
    assert not unknown, unknown
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
