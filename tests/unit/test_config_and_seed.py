"""Settings precedence (env over TOML over defaults) and the first-start demo data."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from sws import bootstrap
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.drivers.base import ServerFilter
from sws.seed import Credential, seed_first_start


def test_defaults_are_the_embedded_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    settings = Settings()
    assert settings.db_url == f"sqlite:///{(tmp_path / 'sws.db').resolve()}"
    assert settings.regions == ["RegionOne"]


def test_toml_file_then_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sws.toml"
    config.write_text('port = 9100\nregions = ["north", "south"]\nsim_task_seconds = 7\n')
    monkeypatch.setenv("SWS_CONFIG", str(config))
    monkeypatch.setenv("SWS_PORT", "9200")
    monkeypatch.setenv("SWS_DATABASE_URL", "postgresql://sws@db.internal/sws")
    settings = Settings()
    assert settings.port == 9200
    assert settings.regions == ["north", "south"]
    assert settings.sim_task_seconds == 7
    assert settings.db_url == "postgresql://sws@db.internal/sws"


def test_unknown_settings_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sws.toml"
    config.write_text("prot = 9100\n")
    monkeypatch.setenv("SWS_CONFIG", str(config))
    with pytest.raises(ValueError, match="prot"):
        Settings()


def test_first_start_seeds_once_and_saves_private_credentials(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=None, sim_task_seconds=0)
    container = bootstrap.build(settings)
    upgrade(container.db.engine)
    credentials = seed_first_start(container)
    assert credentials is not None
    assert {(c.name, c.role) for c in credentials} >= {("admin", "admin"), ("alice", "member")}
    saved = tmp_path / "credentials" / "alice.json"
    assert json.loads(saved.read_text())["name"] == "alice"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert seed_first_start(container) is None
    login = container.auth.issue_token(name="alice", password=_password(credentials, "alice"))
    servers = container.driver().list_servers(login.principal.tenant_id, ServerFilter(), 10, None)
    assert {s.name for s in servers} == {"web-1", "db-1"}
    container.db.engine.dispose()


def _password(credentials: list[Credential], name: str) -> str:
    return next(c.password for c in credentials if c.name == name)
