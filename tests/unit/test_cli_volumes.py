"""`sws volume`: a volume's life from the operator's shell, on the embedded database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws.cli import app

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.setenv("SWS_DEMO_DATA", "false")
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    return tmp_path


def _json(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["volume", *args])
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.output.splitlines()[-1])
    return found


def test_create_extend_snapshot_schedule_and_delete(home: Path) -> None:
    volume = _json("create", "db", "--size", "1", "--tenant", "acme")
    assert volume["status"] == "available" and volume["project_id"] == "acme"
    assert _json("extend", str(volume["id"]), "--size", "2", "--tenant", "acme")["size_gb"] == 2
    shrink = runner.invoke(app, ["volume", "extend", str(volume["id"]), "--size", "1",
                                 "--tenant", "acme"])
    assert shrink.exit_code == 2 and "larger" in shrink.output
    snap = _json("snapshot", str(volume["id"]), "--tenant", "acme", "--name", "before")
    assert snap["volume_id"] == volume["id"] and snap["content_sha256"]
    assert _json("snapshots", "--tenant", "acme")["id"] == snap["id"]
    assert _json("schedule", str(volume["id"]), "--tenant", "acme", "--daily", "7")[
        "daily_keep"] == 7
    other = runner.invoke(app, ["volume", "show", str(volume["id"]), "--tenant", "globex"])
    assert other.exit_code == 2 and "could not be found" in other.output
    assert _json("delete", str(volume["id"]), "--tenant", "acme") == {"deleted": volume["id"]}
    assert (home / "volumes" / "RegionOne" / "island" / "indexes").is_dir()  # the snapshot stays
