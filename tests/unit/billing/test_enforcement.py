"""Safe account defaults: a project first seen in a real OpenStack is observed, not enforced.

Bills accrue and the notices are recorded, but nothing is stopped until the operator turns
enforcement on for the account or for all; the dry run lists who would be suspended next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from sws.billing import farmer, standing
from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.model import (
    GRACE,
    OVERDUE,
    SUSPENDED,
    AccountStanding,
    next_standing,
)
from sws.clock import SimulatedClock
from sws.commands import common
from sws.config import Settings
from sws.db.engine import Database
from sws.identity.tables import tenants, users
from sws.mail.tables import mail_outbox
from tests.unit.billing.conftest import CATALOG
from tests.unit.billing.helpers import at, event

PROJECT = "9f1c0ffee0000000000000000000keys"  # a Keystone project SWS has no tenant record of


@dataclass
class Server:
    id: str


@dataclass
class FakeNova:
    """The cloud port as suspension uses it: one running server, and the actions asked for."""

    actions: list[tuple[str, str]] = field(default_factory=list)

    def list_servers(self, project_id: str, filters: Any, limit: int, marker: Any) -> list[Server]:
        running = not any(action == "stop" for action, _ in self.actions)
        return [Server("vm-1")] if project_id == PROJECT and running else []

    def list_server_briefs(self, project_id: str, limit: int, *_: Any) -> list[Server]:
        return self.list_servers(project_id, None, limit, None)

    def count_servers(self, project_id: str) -> dict[str, int]:
        found = self.list_servers(project_id, None, 1, None)
        return {"ACTIVE": len(found)} if found else {}

    def server_action(self, project_id: str, server_id: str, action: str, **_: Any) -> None:
        self.actions.append((action, server_id))


@pytest.fixture(autouse=True)
def no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWS_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("SWS_DRIVER", "SWS_BILLING_ENFORCEMENT", "SWS_BILLING_PAYMENT_MODE"):
        monkeypatch.delenv(name, raising=False)


def _cloud(database: Database, settings: Settings) -> SimulatedClock:
    """SWS on a real OpenStack as `sws up` starts it: catalog loaded, defaults from settings."""
    clock = SimulatedClock(at("2026-03-02 00:00"))
    billing.load_catalog_text(db=database, clock=clock, text=CATALOG.read_text())
    billing.save_account_defaults(db=database, values=common.billing_defaults(settings))
    with database.begin() as conn:
        from sws.events import repository as events_repo

        events_repo.insert_events(
            conn,
            [event("c", "create", at("2026-03-02 00:10"), project_id=PROJECT)],
            region="RegionOne",
            received_at=clock.now(),
        )
    return clock


def _with_a_mailbox(database: Database, clock: SimulatedClock) -> None:
    """The project is known to SWS as tenant acme, in Shanghai, with one user who has an
    address (a project with no user with an address is mailed nothing)."""
    with database.begin() as conn:
        conn.execute(
            insert(tenants),
            {
                "id": PROJECT,
                "name": "acme",
                "currency": "CNY",
                "billing_timezone": "Asia/Shanghai",
                "enabled": True,
                "created_at": clock.now(),
            },
        )
        conn.execute(
            insert(users),
            {
                "id": "u-ann",
                "tenant_id": PROJECT,
                "name": "ann",
                "email": "ann@acme.test",
                "password_hash": "x",
                "role": "member",
                "enabled": True,
                "created_at": clock.now(),
            },
        )


def _outbox(database: Database) -> list[tuple[datetime, str, str, str]]:
    """(queued at, key, subject, text) of every mail in the outbox, oldest first."""
    with database.read() as conn:
        rows = conn.execute(select(mail_outbox).order_by(mail_outbox.c.id)).all()
    return [
        (r.created_at, r.key, json.loads(r.payload)["subject"], json.loads(r.payload)["text"])
        for r in rows
    ]


def _audited_at(database: Database, action: str) -> datetime:
    with database.read() as conn:
        return next(r["at"] for r in repo.audit_of(conn, PROJECT) if r["action"] == action)


def _farm(database: Database, clock: SimulatedClock, nova: FakeNova, hours: int) -> None:
    for _ in range(hours):
        clock.advance(timedelta(hours=1))
        farmer.farm_pass(
            db=database,
            clock=clock,
            drivers={"RegionOne": nova},  # type: ignore[dict-item]
            close_months=False,
        )


def _actions(database: Database) -> list[str]:
    with database.read() as conn:
        return [r["action"] for r in repo.audit_of(conn, PROJECT)]


def test_a_first_seen_keystone_project_is_never_stopped_until_enforcement_is_on(
    database: Database,
) -> None:
    clock = _cloud(database, Settings(driver="openstack"))
    nova = FakeNova()
    _farm(database, clock, nova, 80)  # zero balance: grace at the first charge, 72 h pass
    account = billing.peek_account(db=database, clock=clock, tenant_id=PROJECT)
    assert account is not None and account.enforcement == "observe"
    assert account.status == OVERDUE and account.balance.amount == Decimal("-33.60")  # 80 h
    assert nova.actions == []  # nothing stopped, and new servers are not refused either
    billing.ensure_can_create(db=database, tenant_id=PROJECT)
    assert _actions(database) == ["grace_started", "notice", "suspension_withheld"]
    _farm(database, clock, nova, 5)
    assert _actions(database).count("suspension_withheld") == 1  # said once, not every pass

    dry_run = standing.next_suspensions(db=database, clock=clock)
    assert [(s.account_id, s.status, s.stops_servers) for s in dry_run] == [
        (PROJECT, OVERDUE, False)
    ]
    assert nova.actions == []  # the dry run changes nothing

    changed = standing.set_enforcement(
        db=database,
        clock=clock,
        drivers={"RegionOne": nova},  # type: ignore[dict-item]
        tenant_id=PROJECT,
        enforcement="enforce",
        actor="ops",
    )
    assert changed == [PROJECT] and nova.actions == [("stop", "vm-1")]
    assert _actions(database)[-3:] == ["enforcement_enforce", "suspended", "server_stopped"]


def test_with_the_simulated_region_accounts_are_enforced_as_before(database: Database) -> None:
    clock = _cloud(database, Settings())
    nova = FakeNova()
    _farm(database, clock, nova, 80)
    assert nova.actions == [("stop", "vm-1")]
    assert _actions(database)[:2] == ["grace_started", "notice"]  # the notice comes first


def test_the_settings_choose_how_a_first_seen_project_pays(database: Database) -> None:
    settings = Settings(
        driver="openstack",
        billing_payment_mode="postpaid",
        billing_credit_limit=Decimal("500"),
        billing_currency="EUR",
        billing_timezone="Europe/Berlin",
        billing_enforcement="enforce",
    )
    clock = _cloud(database, settings)
    _farm(database, clock, FakeNova(), 2)
    account = billing.peek_account(db=database, clock=clock, tenant_id=PROJECT)
    assert account is not None
    assert (
        account.payment_mode,
        account.credit_limit.amount,
        account.currency,
        account.timezone,
        account.enforcement,
    ) == ("postpaid", Decimal("500"), "EUR", "Europe/Berlin", "enforce")
    assert account.status == "ok"  # 500 of credit left


def test_grace_then_overdue_while_observed_then_suspended_once_enforced() -> None:
    owing = AccountStanding(
        "prepaid",
        Decimal("-1"),
        Decimal(0),
        Decimal(0),
        Decimal("10"),
        GRACE,
        at("2026-03-05 00:00"),
        enforced=False,
    )
    after = next_standing(owing, now=at("2026-03-05 01:00"), grace=timedelta(hours=72))
    assert (after.status, after.steps, after.suspend) == (OVERDUE, ("suspension_withheld",), False)
    overdue = AccountStanding(
        "prepaid",
        Decimal("-1"),
        Decimal(0),
        Decimal(0),
        Decimal("10"),
        OVERDUE,
        at("2026-03-05 00:00"),
        enforced=True,
    )
    step = next_standing(overdue, now=at("2026-03-05 02:00"), grace=timedelta(hours=72))
    assert (step.status, step.suspend) == (SUSPENDED, True)
    funded = AccountStanding(
        "prepaid",
        Decimal("50"),
        Decimal(0),
        Decimal(0),
        Decimal("10"),
        OVERDUE,
        at("2026-03-05 00:00"),
        enforced=False,
    )
    assert next_standing(funded, now=at("2026-03-05 02:00"), grace=timedelta(hours=72)).steps == (
        "recovered",
    )


# --- Mail before suspension -------------------------------------------------------------------


def test_an_enforced_account_is_mailed_when_its_servers_stop_before_they_stop(
    database: Database,
) -> None:
    clock = _cloud(database, Settings(driver="openstack", billing_enforcement="enforce"))
    _with_a_mailbox(database, clock)
    nova = FakeNova()
    _farm(database, clock, nova, 1)  # the first charge takes a zero balance straight to grace

    mails = _outbox(database)
    grace_until = _audited_at(database, "grace_started") + timedelta(hours=72)
    assert [key for _, key, _, _ in mails] == [
        f"grace_started:{PROJECT}:{grace_until.isoformat()}:ann@acme.test"
    ]
    _, _, subject, text = mails[0]
    assert subject.startswith("SWS: the servers of acme stop at 2026-03-05 09:00 (Asia/Shanghai)")
    assert "云主机" not in subject  # one language per mail: ann chose none, so English
    assert "-0.42 CNY available" in text and "Nothing is deleted" in text

    _farm(database, clock, nova, 79)
    assert nova.actions == [("stop", "vm-1")]
    queued = [(when, key.split(":")[0]) for when, key, _, _ in _outbox(database)]
    assert [name for _, name in queued] == ["grace_started", "suspended"]  # said once, then done
    assert queued[0][0] < _audited_at(database, "server_stopped")


def test_an_observed_account_is_told_its_balance_ran_out_but_not_that_anything_stops(
    database: Database,
) -> None:
    clock = _cloud(database, Settings(driver="openstack"))
    _with_a_mailbox(database, clock)
    nova = FakeNova()
    _farm(database, clock, nova, 80)

    mails = _outbox(database)
    assert [key.split(":")[0] for _, key, _, _ in mails] == ["low_balance"]  # once, at grace
    assert mails[0][0] == _audited_at(database, "grace_started")
    assert "stop" not in mails[0][2] and "-0.42 CNY available" in mails[0][3]
    assert nova.actions == [] and _actions(database)[-1] == "suspension_withheld"
