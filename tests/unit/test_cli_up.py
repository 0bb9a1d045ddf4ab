"""`sws up` says what it runs and where the users are, in each mode (issue 22, part 7).

The web server and the ticker thread are replaced by fakes that record they were asked to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sws.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wide_cli_output: None) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `sws up` asked the web server to serve, instead of serving it."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("sws.web.serving.serve", lambda asgi, **options: calls.append(options))
    monkeypatch.setattr("sws.cli._start_ticker", lambda container: None)
    return calls


def test_without_demo_data_up_names_no_credentials_directory(
    home: Path, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWS_DEMO_DATA", "false")
    result = runner.invoke(app, ["up", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served and served[0]["port"] == 8123
    assert "credentials" not in result.output
    assert not (home / "credentials").exists()
    assert "SWS_DEMO_DATA is off" in result.output
    assert "sws admin user create" in result.output


def test_with_keystone_and_no_demo_data_up_points_at_keystone_users(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWS_DEMO_DATA", "false")
    monkeypatch.setenv("SWS_AUTH_BACKEND", "keystone")
    monkeypatch.setenv("SWS_KEYSTONE_URL", "http://127.0.0.1:9/v3")  # never called at start
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "log in as your Keystone users" in result.output
    assert "credentials" not in result.output


def test_demo_data_shows_the_credentials_once_then_where_they_are(
    home: Path, served: list[dict[str, Any]]
) -> None:
    first = runner.invoke(app, ["up"])
    assert first.exit_code == 0, first.output
    assert "First-start credentials" in first.output
    assert (home / "credentials").is_dir()
    again = runner.invoke(app, ["up"])
    assert again.exit_code == 0, again.output
    assert f"Credentials from the first start are in {home / 'credentials'}/" in again.output


def test_up_help_describes_each_mode() -> None:
    text = " ".join(runner.invoke(app, ["up", "--help"]).output.split())
    for said in (
        "SWS_DRIVER=simulated",
        "SWS_DRIVER=openstack",
        "SWS_DEMO_DATA",
        "billing farmer",
        "sws worker events",
        "nothing is seeded",
    ):
        assert said in text, said


def test_up_warns_loudly_when_billing_has_an_empty_price_catalog(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWS_DEMO_DATA", "false")  # nothing loads the sample catalog
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "WARNING (billing): billing has an empty price catalog" in result.output
    assert "sws catalog load prices.yaml" in result.output


def test_up_with_the_demo_s_catalog_gives_no_billing_warning(served: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert "WARNING (billing)" not in result.output
