"""The `sws` command as an operator types it, on an embedded database in a temporary home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws.cli import app
from tests.unit.events.samples import SAMPLES, require_samples

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    return tmp_path


def _capture(tmp_path: Path) -> Path:
    """The real lifecycle capture plus one line that is not JSON."""
    require_samples()
    lines = (SAMPLES / "nova" / "captured-lifecycle" / "all.jsonl").read_text().splitlines()
    path = tmp_path / "capture.jsonl"
    path.write_text("\n".join([*lines, "{this is not json"]) + "\n")
    return path


def test_events_import_counts_then_sees_duplicates(home: Path) -> None:
    capture = _capture(home)
    first = runner.invoke(app, ["events", "import", str(capture)])
    assert first.exit_code == 0, first.output
    assert "duplicate 0" in first.output and "dead-lettered 1" in first.output
    accepted = int(first.output.split("accepted ")[1].split(",")[0])
    assert accepted > 0
    second = runner.invoke(app, ["events", "import", str(capture)])
    assert f"accepted 0, duplicate {80}" in second.output
    assert "dead-lettered 1" in second.output


def test_db_upgrade_then_admin_tenant_and_user(home: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(
        app, ["admin", "tenant", "create", "initech", "--timezone", "America/Chicago",
              "--currency", "USD"],
    )
    assert made.exit_code == 0, made.output
    tenant_id = json.loads(made.output)["id"]
    user = runner.invoke(
        app, ["admin", "user", "create", "peter", "--tenant", tenant_id,
              "--password", "tps-reports-1"],
    )
    assert user.exit_code == 0 and json.loads(user.output)["role"] == "member"
    listed = runner.invoke(app, ["admin", "user", "list", "--tenant", tenant_id])
    assert "peter" in listed.output


def test_bad_input_is_a_clear_message_and_exit_2(home: Path) -> None:
    bad = runner.invoke(app, ["admin", "tenant", "create", "initech", "--timezone", "Mars/Base"])
    assert bad.exit_code == 2
    assert "billing_timezone" in bad.output and "Traceback" not in bad.output


def test_demo_fast_forwards_and_summarises(home: Path) -> None:
    result = runner.invoke(app, ["demo", "--tenants", "3", "--days", "2", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "instances created" in result.output and "events applied" in result.output
    again = runner.invoke(app, ["demo", "--tenants", "3", "--days", "2", "--seed", "7"])
    assert _table(again.output) == _table(result.output)


def _table(output: str) -> list[str]:
    return [line for line in output.splitlines() if "│" in line]


@pytest.mark.parametrize(
    ("swift", "said"),
    [
        ('{"RegionOne": {"proxy_url": "swift.example.com"}}', "internal_client_conf"),
        ('{"RegionTwo": {"proxy_url": "https://swift.example.com", '
         '"internal_client_conf": "/etc/swift/internal-client.conf"}}',
         "swift settings name regions SWS does not have: ['RegionTwo']"),
        ('{"RegionOne": {"proxy_url": "https://swift.example.com", "auth": "tempauth", '
         '"internal_client_conf": "/etc/swift/internal-client.conf"}}',
         "needs tempauth_user and tempauth_key"),
        ('{"RegionOne": {"proxy_url": "https://swift.example.com", "auth": "tempauth", '
         '"tempauth_user": "sws:storage", "tempauth_key": "k", '
         '"internal_client_conf": "/nonexistent/internal-client.conf"}}',
         "Swift's InternalClient for RegionOne cannot start from /nonexistent"),
        ('{"RegionOne": {"proxy_url": "https://swift.example.com"', 'field "swift"'),
        ('{"RegionOne": {"proxy_url": "https://swift.example.com/v1", '
         '"internal_client_conf": "/etc/swift/internal-client.conf"}}', "without /v1"),
        ('{"RegionOne": {"proxy_url": "https://swift.example.com", '
         '"usage_redis_url": "rediss://redis.example.com", '
         '"internal_client_conf": "/etc/swift/internal-client.conf"}}',
         "swift.RegionOne.usage_redis_url"),
    ],
)
def test_swift_settings_that_cannot_work_stop_the_start_with_why(
    monkeypatch: pytest.MonkeyPatch, swift: str, said: str
) -> None:
    monkeypatch.setenv("SWS_SWIFT", swift)
    result = runner.invoke(app, ["billing", "check"])
    assert result.exit_code == 2
    assert said in " ".join(result.output.split()) and "Traceback" not in result.output


def test_a_refused_setting_is_named_without_echoing_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWS_SWIFT", '{"RegionOne": {"proxy_url": "https://swift.example.com", '
                       '"auth": "tempauth", "tempauth_key": "hunter2-reseller-key", '
                       '"internal_client_conf": "/etc/swift/internal-client.conf"}}')
    result = runner.invoke(app, ["billing", "check"])
    assert result.exit_code == 2
    assert "needs tempauth_user and tempauth_key" in " ".join(result.output.split())
    assert "hunter2" not in result.output
