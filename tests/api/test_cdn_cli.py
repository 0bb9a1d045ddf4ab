"""Distributions from the operator's command line (issue 19 §1: API, CLI, console): `sws cdn list`
shows every tenant's distributions with their hosts, origin and state, and `sws cdn purge`
makes the same job a tenant's purge makes, audited with the operator as its actor."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws.cli import app
from tests.api.conftest import Cloud
from tests.api.test_cdn import D, _distribution


@pytest.fixture
def cli(cloud: Cloud, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_DATABASE_URL", database_url)
    return CliRunner()


def test_the_operator_lists_every_tenants_distributions(cloud: Cloud, cli: CliRunner) -> None:
    acme, globex = _distribution(cloud, cloud.acme), _distribution(cloud, cloud.globex)
    cloud.client.patch(f"{D}/{globex['id']}", json={"enabled": False},
                       headers=cloud.globex.headers)

    listed = cli.invoke(app, ["cdn", "list"])

    assert listed.exit_code == 0, listed.output
    header, *lines = listed.output.splitlines()
    rows = {line.split()[0]: line.split() for line in lines}
    assert header.split() == ["id", "project", "origin", "state", "hosts"]
    assert rows[acme["id"]][1:2] + rows[acme["id"]][3:] == [cloud.acme.id, "enabled", acme["host"]]
    assert rows[acme["id"]][2].startswith("loadbalancer:")
    assert rows[globex["id"]][1] == cloud.globex.id and rows[globex["id"]][3] == "disabled"


def test_the_operators_purge_is_the_tenants_job_and_audited(
    cloud: Cloud, cli: CliRunner
) -> None:
    made = _distribution(cloud, cloud.acme)

    done = cli.invoke(app, ["cdn", "purge", made["id"], "--kind", "prefix", "--value", "/img/"])

    assert done.exit_code == 0, done.output
    purge_id, state, edges = done.output.split()
    assert (state, edges) == ("accepted", "edge-1=pending")
    job = cloud.client.get(f"{D}/{made['id']}/purges/{purge_id}", headers=cloud.acme.headers)
    assert job.status_code == 200  # the tenant sees it among its own purges
    assert (job.json()["kind"], job.json()["value"], job.json()["mode"]) == (
        "prefix", "/img/", "soft")
    audit = cloud.client.get("/v1/admin/audit?action=cdn.purge", headers=cloud.admin).json()
    assert [(e["actor_name"], e["source"]) for e in audit["items"]] == [("sws cdn purge", "cli")]


def test_a_bad_purge_or_an_unknown_distribution_is_refused_naming_why(
    cloud: Cloud, cli: CliRunner
) -> None:
    made = _distribution(cloud, cloud.acme)

    not_a_path = cli.invoke(app, ["cdn", "purge", made["id"], "--value", "img"])
    unknown = cli.invoke(app, ["cdn", "purge", "000000000000", "--value", "/a"])
    unreported = cli.invoke(app, ["cdn", "purge", made["id"], "--value", "/a", "--wait", "0.3"])

    assert not_a_path.exit_code == 2 and "/" in not_a_path.output
    assert unknown.exit_code == 2 and "could not be found" in unknown.output
    assert unreported.exit_code == 1 and "accepted" in unreported.output  # no edge reported
