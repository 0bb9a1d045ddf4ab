"""`/readyz` says when billing runs with an empty catalog or holds unrated usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sws import bootstrap
from sws.billing import service as billing
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.web.app import create_app
from tests.unit.billing.conftest import CATALOG


@pytest.fixture
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bootstrap.Container:
    monkeypatch.setenv("SWS_CONFIG", str(tmp_path / "absent.toml"))
    built = bootstrap.build(Settings(home=tmp_path, demo_data=False,
                                     database_url=f"sqlite:///{tmp_path / 'sws.db'}"))
    upgrade(built.db.engine)
    return built


def test_readyz_warns_of_an_empty_catalog_until_one_is_loaded(
    container: bootstrap.Container,
) -> None:
    client = TestClient(create_app(container))
    answer = client.get("/readyz")
    assert answer.status_code == 200  # the API works; the bills need the operator
    body = answer.json()
    assert body["status"] == "warning" and body["checks"]["database"] == "ok"
    assert "empty price catalog" in body["checks"]["billing"][0]
    billing.load_catalog_text(db=container.db, clock=container.clock, text=CATALOG.read_text())
    body = client.get("/readyz").json()
    assert (body["status"], body["checks"]["billing"]) == ("ok", "ok")
