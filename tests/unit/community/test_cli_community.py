"""`sws community` as the operator types it: a pass leases a free instance, the lease is
listed, and the operator renews it; without a free region, renew says what to set."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sws.cli import app
from sws.commands import common
from sws.commands import community as community_commands
from sws.drivers.base import ServerCreate
from sws.identity import service as identity

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_MODE", "community")
    monkeypatch.setenv("SWS_DEMO_DATA", "false")
    # The whole table on one line per lease, whatever terminal the tests run in.
    monkeypatch.setattr(community_commands, "console", Console(width=300))
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    return tmp_path


def _launch() -> tuple[str, str]:
    container = common.container()
    tenant = identity.create_tenant(db=container.db, clock=container.clock, name="labs")
    driver = container.driver()
    flavor = min(driver.list_flavors(), key=lambda f: f.ram_mb)
    image = min(driver.list_images(tenant.id), key=lambda i: i.min_disk_gb)
    (server,) = driver.create_servers(tenant.id, "u1", ServerCreate("lab", flavor.id, image.id))
    container.db.engine.dispose()
    return tenant.id, server.id


def test_a_pass_leases_and_the_operator_renews(home: Path) -> None:
    tenant_id, server_id = _launch()
    ran = runner.invoke(app, ["community", "pass"])
    assert ran.exit_code == 0, ran.output
    assert "started=1" in ran.output
    listed = runner.invoke(app, ["community", "leases", tenant_id])
    assert listed.exit_code == 0 and server_id in listed.output
    renewed = runner.invoke(app, ["community", "renew", server_id])
    assert renewed.exit_code == 0, renewed.output
    assert f"{server_id} leased until" in renewed.output
    missing = runner.invoke(app, ["community", "renew", "no-such-instance"])
    assert missing.exit_code == 2 and "no community lease" in missing.output


def test_renew_without_a_free_region_says_what_to_set(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWS_MODE", "standard")
    answer = runner.invoke(app, ["community", "renew", "x"])
    assert answer.exit_code == 2 and "SWS_MODE=community" in answer.output
