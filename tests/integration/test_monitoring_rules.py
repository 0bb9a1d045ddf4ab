"""deploy/monitoring: the alert rules pass `promtool check` and their unit tests, and every
SWS metric the rules and the Grafana dashboard name is one a real SWS scrape exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from sws.clock import SimulatedClock
from sws.config import Settings
from tests.api.conftest import open_cloud

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
RULES = MONITORING / "sws-rules.yml"
DASHBOARD = MONITORING / "sws-dashboard.json"
SWS_METRIC = re.compile(r"\bsws_[a-z_]+\b")


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: run scripts/install-system-packages (Debian's prometheus)"
    done = subprocess.run([tool, *args], cwd=MONITORING, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid() -> None:
    assert "SUCCESS: 8 rules found" in promtool("check", "rules", RULES.name)


def test_the_rules_fire_as_their_unit_tests_expect() -> None:
    assert "SUCCESS" in promtool("test", "rules", "sws-rules.test.yml")


def test_every_alert_has_a_runbook_and_a_severity() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    alerts = [rule for rule in rules if "alert" in rule]
    assert {rule["alert"] for rule in alerts} == {
        "SWSFarmerLagging", "SWSEventsQueueLagging", "SWSAlarmEvaluationLagging",
        "SWSDeadLettersGrowing", "SWSAgentStale", "SWSHighServerErrorRatio", "SWSNotReady"}
    for rule in alerts:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["runbook"].startswith("docs/operations.md#"), rule["alert"]


def named_in_rules_and_dashboard() -> set[str]:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    expressions = [rule["expr"] for rule in rules]
    panels = json.loads(DASHBOARD.read_text())["panels"]
    expressions += [target["expr"] for panel in panels for target in panel["targets"]]
    return {name for expr in expressions for name in SWS_METRIC.findall(expr)}


def exported(exposition: str) -> set[str]:
    """Every sample name a scrape can hold: each family, and a histogram's three series."""
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, re.MULTILINE):
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names


def test_every_metric_the_rules_and_dashboard_use_is_exported(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'sws.db'}",
                        demo_data=False)
    with open_cloud(settings, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as cloud:
        cloud.client.get("/v1/servers", headers=cloud.acme.headers)
        scraper = TestClient(cloud.client.app, client=("127.0.0.1", 40000))
        exposition = scraper.get("/metrics").text
    used = named_in_rules_and_dashboard()
    assert len(used) >= 10
    assert used - exported(exposition) == set()


@pytest.mark.parametrize("broken", ["max(sws_farmer_lag_seconds > 900", "rate(sws_up)"])
def test_promtool_refuses_a_broken_rule(tmp_path: Path, broken: str) -> None:
    rules = {"groups": [{"name": "x", "rules": [{"alert": "Broken", "expr": broken}]}]}
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(rules))
    tool = shutil.which("promtool")
    assert tool
    done = subprocess.run([tool, "check", "rules", str(tmp_path / "broken.yml")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
