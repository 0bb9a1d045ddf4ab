"""The admin console's billing page: empty-catalog warning, unrated usage and waiving it,
enforcement, and the dry run of the next suspensions."""

from __future__ import annotations

from datetime import timedelta

from sws.audit import service as audit
from sws.billing import farmer
from sws.billing import service as billing
from sws.events import repository as events_repo
from tests.unit.billing.conftest import CATALOG
from tests.unit.billing.helpers import event
from tests.unit.console.conftest import Console, console, template  # noqa: F401 (fixtures)

PAGE = "/admin/billing/accounts"


def _unpriced_server(console: Console) -> None:  # noqa: F811
    """An instance of acme that ran three hours while SWS had no price catalog."""
    start, acme = console.clock.now(), console.tenants["acme"]
    events = [event("c", "create", start, project_id=acme),
              event("d", "delete", start + timedelta(hours=3), project_id=acme)]
    with console.container.db.begin() as conn:
        events_repo.insert_events(conn, events, region="RegionOne", received_at=start)
    console.clock.advance(timedelta(hours=4))
    farmer.farm_pass(db=console.container.db, clock=console.clock, close_months=False)


def test_the_operator_sees_unrated_usage_and_waives_it_with_a_reason(
    console: Console,  # noqa: F811
) -> None:
    _unpriced_server(console)
    admin = console.browser("root-admin")
    shown = admin.get(PAGE).text
    assert "empty price catalog" in shown
    assert 'id="unrated"' in shown and "m1.small" in shown and "3 hour" in shown
    refused = admin.post("/admin/billing/unrated/waive", {"tenant_id": "", "item": "",
                                                          "reason": ""}, page=PAGE, follow=True)
    assert "say why the usage is waived" in refused.text
    done = admin.post("/admin/billing/unrated/waive",
                      {"tenant_id": console.tenants["acme"], "item": "instance",
                       "reason": "before SWS billed this cloud"}, page=PAGE, follow=True)
    assert "Unrated usage waived." in done.text and "3 hour" not in done.text
    actions = [(e.action, e.outcome) for e in audit.list_entries(
        db=console.container.db, limit=20, offset=0, action=None, actor=None)]
    assert ("billing.unrated_waive", "ok") in actions
    assert ("billing.unrated_waive", "refused") in actions


def test_enforcement_is_set_per_account_and_the_dry_run_lists_who_is_next(
    console: Console,  # noqa: F811
) -> None:
    billing.load_catalog_text(db=console.container.db, clock=console.clock,
                              text=CATALOG.read_text())
    _unpriced_server(console)  # now priced: acme owes 1.26 and is in its grace period
    admin = console.browser("root-admin")
    acme = console.tenants["acme"]
    done = admin.post("/admin/billing/enforcement", {"tenant_id": acme,
                                                     "enforcement": "observe"},
                      page=PAGE, follow=True)
    assert "Enforcement is now observe." in done.text
    account = billing.peek_account(db=console.container.db, clock=console.clock, tenant_id=acme)
    assert account is not None and (account.status, account.enforcement) == ("grace", "observe")
    assert 'id="next-suspensions"' in done.text and "no (observe-only)" in done.text
    bad = admin.post("/admin/billing/enforcement", {"tenant_id": acme, "enforcement": "never"},
                     page=PAGE, follow=True)
    assert "enforcement is one of enforce, observe" in bad.text
