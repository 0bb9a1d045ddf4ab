"""`sws catalog load` and `sws billing settle|bill|close-month|check` as an operator types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sws import bootstrap
from sws.billing.tables import billing_ledger
from sws.cli import app
from sws.config import Settings
from sws.identity import service as identity
from tests.unit.billing.conftest import CATALOG
from tests.unit.billing.helpers import at, event

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wide_cli_output: None) -> Path:
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
    assert "51 new price(s)" in _invoke("catalog", "load", str(CATALOG))
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


def test_settle_refuses_a_time_later_than_now_and_says_why() -> None:
    _invoke("catalog", "load", str(CATALOG))
    _journal_one_instance()
    future = (datetime.now(UTC) + timedelta(days=4)).isoformat()
    result = runner.invoke(app, ["billing", "settle", "--until", future])
    assert result.exit_code == 2, result.output
    assert "later than now" in result.output and "until" in result.output
    assert "0 journal entries" in _invoke("billing", "check")  # nothing was charged


def test_settle_dates_each_charge_at_its_period_not_at_until() -> None:
    _invoke("catalog", "load", str(CATALOG))
    _journal_one_instance()  # 10:27 -> 14:53 on 2026-03-02
    _invoke("billing", "settle", "--until", "2026-03-09T00:00:00+00:00")
    container = bootstrap.build(Settings())
    with container.db.read() as conn:
        dates = sorted(conn.execute(select(billing_ledger.c.created_at)).scalars())
    container.db.engine.dispose()
    assert dates == [at(f"2026-03-02 {hour}:00") for hour in (11, 12, 13, 14, 15)]


def test_check_shows_unrated_usage_which_can_be_waived_with_a_reason() -> None:
    _journal_one_instance()  # no catalog loaded: the instance's hours are unrated, not free
    output = _invoke("billing", "settle", "--until", "2026-03-03T00:00:00+00:00")
    assert "charges 0" in output and "unrated 5" in output
    output = _invoke("billing", "check")
    assert "empty price catalog" in output and "Unrated usage" in output
    assert "m1.small" in output and "4.433333" in output  # 10:27 -> 14:53
    result = runner.invoke(app, ["billing", "waive", "--reason", "free trial"])
    assert result.exit_code == 2  # which tenant's, or --all
    assert "waived 1 group(s)" in _invoke(
        "billing", "waive", "--tenant", "acme", "--reason", "free trial"
    )
    assert "no unrated usage" in _invoke("billing", "unrated")


def test_settle_warns_loudly_while_the_price_catalog_is_empty() -> None:
    _journal_one_instance()
    output = _invoke("billing", "settle", "--until", "2026-03-03T00:00:00+00:00")
    assert "WARNING (billing): billing has an empty price catalog" in output
    assert "sws catalog load prices.yaml" in output
    _invoke("catalog", "load", str(CATALOG))
    output = _invoke("billing", "settle", "--until", "2026-03-03T00:00:00+00:00")
    assert "empty price catalog" not in output and "charges 5" in output


def test_enforcement_is_turned_on_for_a_tenant_from_the_command_line() -> None:
    _invoke("catalog", "load", str(CATALOG))
    _journal_one_instance()
    _invoke("billing", "settle", "--until", "2026-03-06T00:00:00+00:00")
    assert "acme" not in _invoke("billing", "next-suspensions")  # enforced: suspended already
    assert "enforcement observe for 1 account(s)" in _invoke("billing", "enforce", "acme", "--off")
    assert "enforcement enforce for 1 account(s)" in _invoke("billing", "enforce", "--all")


def test_the_workers_log_a_warning_at_start_when_the_catalog_is_empty(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sws.commands import workers

    with caplog.at_level("WARNING", logger="sws.billing"):
        workers._setup("ticker").db.engine.dispose()
    assert any("empty price catalog" in r.getMessage() for r in caplog.records)
    _invoke("catalog", "load", str(CATALOG))
    caplog.clear()
    with caplog.at_level("WARNING", logger="sws.billing"):
        workers._setup("ticker").db.engine.dispose()
    assert not caplog.records
