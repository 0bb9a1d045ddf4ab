"""The month-to-date estimate, worked like accounting exercises, and its two properties."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.billing import estimate
from sws.billing import service as billing
from sws.billing.model import FLOATING_IP, INSTANCE
from sws.events.model import ResourceEvent
from sws.identity import service as identity
from tests.budget import examples
from tests.unit.billing.conftest import Books
from tests.unit.billing.helpers import at, event


def _estimate(books: Books, tenant: str = "") -> estimate.Estimate:
    return estimate.month_to_date(db=books.db, clock=books.clock, tenant_id=tenant or books.tenant)


def _bill_total(books: Books, month: str, tenant: str = "") -> Decimal:
    return billing.get_bill(db=books.db, tenant_id=tenant or books.tenant, month=month).total


def _run(books: Books, name: str, flavor: str, start: str, end: str | None = None) -> None:
    events = [event(f"{name}-c", "create", at(start), resource_id=name, flavor=flavor,
                    project_id=books.tenant)]
    if end is not None:
        events.append(event(f"{name}-d", "delete", at(end), resource_id=name, flavor=flavor,
                            project_id=books.tenant))
    books.journal(events)


def test_two_instances_for_20_minutes_cost_the_started_hour_before_the_farmer_charges_it(
    books: Books,
) -> None:
    # Two m1.small (0.42/hour, per started hour) from 10:05 to 10:25 on Jan 5.
    _run(books, "web-1", "m1.small", "2026-01-05 10:05", "2026-01-05 10:25")
    _run(books, "web-2", "m1.small", "2026-01-05 10:05", "2026-01-05 10:25")
    books.farm(at("2026-01-05 10:26"))  # synced; the hour falls due at 11:00, so no charge yet
    assert _bill_total(books, "2026-01") == Decimal("0")  # what the tenant saw: CN¥0.00
    found = _estimate(books)
    assert found.charged.amount == Decimal("0")
    assert found.total.amount == Decimal("0.84")  # 2 x one started hour at 0.42
    assert found.accrued.amount == Decimal("0.84")
    assert found.category(INSTANCE).total.amount == Decimal("0.84")
    assert found.days[4].amounts == {INSTANCE: Decimal("0.84")}  # Jan 5
    assert found.projected.amount == Decimal("0.84")  # nothing runs any more
    books.farm(at("2026-01-05 11:00"))  # the farmer charges the started hour
    assert _bill_total(books, "2026-01") == Decimal("0.84")
    after = _estimate(books)
    assert (after.charged.amount, after.total.amount) == (Decimal("0.84"), Decimal("0.84"))


def test_a_per_second_instance_accrues_to_the_second_and_projects_to_the_month_end(
    books: Books,
) -> None:
    # ssd.tiny: 0.30/hour, per second. 20 minutes cost 0.10.
    _run(books, "fast-1", "ssd.tiny", "2026-01-31 22:05")
    books.farm(at("2026-01-31 22:25"))
    found = _estimate(books)
    assert found.total.amount == Decimal("0.10")
    # The rest of January (22:25 to 24:00, 95 minutes) at 0.30/hour: 0.475 more.
    assert found.projected.amount == Decimal("0.58")  # 0.10 + 0.475 = 0.575, half-up
    assert found.category(INSTANCE).projected.amount == Decimal("0.58")


def test_the_projection_runs_what_runs_now_to_the_month_end_at_the_same_prices(
    books: Books,
) -> None:
    # One m1.small from Jan 1 00:00, seen at 00:20: 0.42 so far, 744 hours in January.
    _run(books, "app-1", "m1.small", "2026-01-01 00:00")
    books.farm(at("2026-01-01 00:20"))
    found = _estimate(books)
    assert found.total.amount == Decimal("0.42")
    assert found.projected.amount == Decimal("312.48")  # 744 x 0.42
    # A month later (Feb 1 00:20, a new month: 672 hours), January is on its bill.
    books.farm(at("2026-02-01 00:20"))
    assert _bill_total(books, "2026-01") == Decimal("312.48")
    february = _estimate(books)
    assert (february.month, february.total.amount) == ("2026-02", Decimal("0.42"))
    assert february.projected.amount == Decimal("282.24")  # 672 x 0.42


def test_at_the_instant_it_starts_nothing_is_used_yet_but_its_hour_is_projected(
    books: Books,
) -> None:
    _run(books, "app-1", "m1.small", "2026-01-31 22:10")
    books.farm(at("2026-01-31 22:10"))
    found = _estimate(books)
    assert found.total.amount == Decimal("0")
    assert found.projected.amount == Decimal("0.84")  # 22:00 and 23:00, both begun by midnight


def test_the_projection_respects_a_monthly_cap_as_the_farmer_does(books: Books) -> None:
    # m1.large: 3.33/hour, capped at 2000 a month (744 h x 3.33 would be 2477.52).
    _run(books, "big-1", "m1.large", "2026-01-01 00:00")
    books.farm(at("2026-01-10 00:20"))  # 216 hours charged (719.28), the 217th accrued
    found = _estimate(books)
    assert found.charged.amount == Decimal("719.28")
    assert found.total.amount == Decimal("722.61")
    assert found.projected.amount == Decimal("2000.00")


def test_a_floating_ip_and_a_new_instance_each_count_in_their_category(books: Books) -> None:
    books.journal([ResourceEvent(
        message_id="fip-c", event_type="floatingip.create.end", resource_type=FLOATING_IP,
        resource_id="fip-1", project_id=books.tenant, occurred_at=at("2026-01-05 09:10"),
        action="create", name="203.0.113.7", flavor_name="standard")])
    _run(books, "web-1", "m1.tiny", "2026-01-05 10:05")
    books.farm(at("2026-01-05 10:30"))  # the IP's 09:00 hour is charged, 10:00 accrues
    found = _estimate(books)
    assert found.category(FLOATING_IP).charged.amount == Decimal("0.03")
    assert found.category(FLOATING_IP).total.amount == Decimal("0.06")
    assert found.category(INSTANCE).total.amount == Decimal("0.17")
    assert found.total.amount == Decimal("0.23")


def test_one_instance_month_to_date_is_its_own_lines_and_accrual(books: Books) -> None:
    _run(books, "web-1", "m1.small", "2026-01-05 08:30")
    _run(books, "web-2", "m1.medium", "2026-01-05 08:30")
    books.farm(at("2026-01-05 10:10"))  # 08:00 and 09:00 charged, 10:00 accrues
    cost = estimate.resource_to_date(db=books.db, clock=books.clock, tenant_id=books.tenant,
                                     item=INSTANCE, resource_id="web-1")
    assert cost.amount == Decimal("1.26")  # 3 x 0.42; web-2's 1.67s are not in it


def test_a_tenant_that_never_ran_anything_sees_zero_in_its_currency(books: Books) -> None:
    found = _estimate(books)
    assert (found.currency, found.total.amount, found.projected.amount) == (
        "CNY", Decimal("0"), Decimal("0"))
    assert len(found.days) == 31 and all(not d.amounts for d in found.days)


# --- Properties ---------------------------------------------------------------------------

FLAVORS = ("m1.tiny", "m1.small", "m1.large", "ssd.tiny", "m1.xlarge")
START = at("2026-03-30 18:00")
_runs = itertools.count()


@st.composite
def lives(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    """(action, minutes after the run starts, flavor): a create, maybe a resize, a delete."""
    created = draw(st.integers(0, 300))
    life = [("create", created, draw(st.sampled_from(FLAVORS)))]
    if draw(st.booleans()):
        life.append(("resize_finish", created + draw(st.integers(1, 300)),
                     draw(st.sampled_from(FLAVORS))))
    life.append(("delete", created + draw(st.integers(301, 900)), "m1.small"))
    return life


@settings(max_examples=examples(20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resources=st.lists(lives(), min_size=1, max_size=3), data=st.data())
def test_the_estimate_is_never_below_the_bill_and_is_the_bill_once_farmed(
    books: Books, resources: list[list[tuple[str, int, str]]], data: st.DataObject
) -> None:
    run = f"e{next(_runs)}"
    tenant = identity.create_tenant(db=books.db, clock=books.clock, name=f"tenant-{run}",
                                    billing_timezone="UTC", currency="CNY").id  # its own books
    begin = max(books.clock.now(), START)
    books.clock.warp_to(begin)
    for index, life in enumerate(resources):
        books.journal([
            event(f"{run}-{index}-{n}", action, begin + timedelta(minutes=m),
                  resource_id=f"{run}-{index}", flavor=flavor, project_id=tenant)
            for n, (action, m, flavor) in enumerate(life)
        ])
    for _ in range(data.draw(st.integers(1, 3))):
        books.farm(books.clock.now() + timedelta(minutes=data.draw(st.integers(0, 600))))
        found = _estimate(books, tenant)
        assert found.charged.amount == _bill_total(books, found.month, tenant)  # the bill so far
        assert found.total.amount >= found.charged.amount
        assert found.projected.amount >= found.total.amount
    last = max(begin + timedelta(minutes=m) for life in resources for _, m, _ in life)
    books.farm(max(books.clock.now(), last + timedelta(minutes=1)))  # all gone, maybe not due
    before = _estimate(books, tenant)
    books.farm(books.clock.now() + timedelta(hours=30))  # every period has fallen due
    assert before.total.amount == _bill_total(books, before.month, tenant)
