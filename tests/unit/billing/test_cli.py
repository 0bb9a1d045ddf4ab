"""`sws catalog load` and `sws billing settle|bill|close-month|check` as an operator types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sws import bootstrap
from sws.cli import app
from sws.config import Settings
from sws.identity import service as identity
from tests.unit.billing.conftest import CATALOG
from tests.unit.billing.helpers import at, event

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SWS_HOME", str(tmp_path))
    monkeypatch.delenv("SWS_DATABASE_URL", raising=False)
    return tmp_path


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _journal_one_instance() -> None:
    from sws.db.migrate import upgrade
    from sws.events import repository as events_repo

    container = bootstrap.build(Settings())
    upgrade(container.db.engine)
    tenant = identity.create_tenant(db=container.db, clock=container.clock, name="acme")
    events = [
        event("c", "create", at("2026-03-02 10:27"), project_id=tenant.id),
        event("d", "delete", at("2026-03-02 14:53"), project_id=tenant.id),
    ]
    with container.db.begin() as conn:
        events_repo.insert_events(
            conn, events, region="RegionOne", received_at=at("2026-03-02 15:00")
        )
    container.db.engine.dispose()


def test_load_settle_bill_close_and_check() -> None:
    assert "39 new price(s)" in _invoke("catalog", "load", str(CATALOG))
    assert "0 new price(s)" in _invoke("catalog", "load", str(CATALOG))  # idempotent
    _journal_one_instance()
    assert "charges 5" in _invoke("billing", "settle", "--until", "2026-03-03T00:00:00+00:00")
    bill = json.loads(_invoke("billing", "bill", "acme", "2026-03", "--json"))
    assert (bill["total"], bill["instance"], len(bill["lines"])) == ("2.10", "2.10", 1)
    assert "closed 2026-03 for 1 account(s)" in _invoke("billing", "close-month", "2026-03")
    assert "0 mismatches, 0 double charges" in _invoke("billing", "check")


def test_bad_input_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "prices:\n  - {item: instance, item_type: m1.small, payment_type: per_started_hour,"
        " price: {CNY: 0.42}}\n"
    )
    result = runner.invoke(app, ["catalog", "load", str(bad)])
    assert result.exit_code == 2 and "prices[0].price.CNY" in result.output
    result = runner.invoke(app, ["billing", "bill", "acme", "2026-13"])
    assert result.exit_code == 2 and "month" in result.output
