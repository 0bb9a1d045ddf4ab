"""Hypothesis: random event sequences, duplicated, shuffled and delivered late, on a database.

Checks after every example: balance == sum(journal) (`billing.check`); no (subscription,
period) charged twice; and what each resource costs in the end (charges + adjustments) equals
what the ordered, on-time sequence costs. (A bill's total is the sum of its lines by
construction, `Bill.total`, so there is nothing to check there.)
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sws.billing import service as billing
from sws.billing.tables import billing_adjustments, billing_charges
from sws.events.model import ResourceEvent
from tests.budget import examples
from tests.unit.billing.conftest import Books
from tests.unit.billing.helpers import at, event

START = at("2026-03-31 18:00")
FLAVORS = ("m1.small", "m1.medium", "ssd.tiny")
ACTIONS = ("power_off", "power_on", "resize_finish", "shelve_offload", "unshelve")
_runs = itertools.count()


@st.composite
def lifecycles(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    """(action, minutes after START, flavor) for one instance: a create, steps, maybe a delete."""
    created = draw(st.integers(0, 180))
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(ACTIONS), st.integers(1, 600), st.sampled_from(FLAVORS)),
            max_size=5,
        )
    )
    life = [("create", created, draw(st.sampled_from(FLAVORS)))]
    life += [(a, created + m, f) for a, m, f in steps]
    if draw(st.booleans()):
        life.append(("delete", created + draw(st.integers(1, 900)), "m1.small"))
    return life


def _events(
    books: Books, run: str, resource: str, life: list[tuple[str, int, str]]
) -> list[ResourceEvent]:
    return [
        event(
            f"{run}-{resource}-{n}",
            action,
            START + timedelta(minutes=m),
            resource_id=f"{run}-{resource}",
            flavor=flavor,
            project_id=books.tenant,
        )
        for n, (action, m, flavor) in enumerate(life)
    ]


def _net(books: Books, resource: str) -> Decimal:
    total = Decimal(0)
    with books.db.read() as conn:
        for table in (billing_charges, billing_adjustments):
            query = select(func.coalesce(func.sum(table.c.amount), 0)).where(
                table.c.resource_id == resource
            )
            total += Decimal(conn.execute(query).scalar_one())
    return total


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lives=st.lists(lifecycles(), min_size=1, max_size=3),
    data=st.data(),
)
def test_random_histories_keep_the_books_and_converge(
    books: Books, lives: list[list[tuple[str, int, str]]], data: st.DataObject
) -> None:
    run = f"r{next(_runs)}"
    late, ordered = f"{run}l", f"{run}o"
    books.clock.warp_to(max(books.clock.now(), START))
    arrivals: list[ResourceEvent] = []
    for index, life in enumerate(lives):
        books.journal(_events(books, ordered, str(index), life))
        arrivals += _events(books, late, str(index), life)
    shuffled = data.draw(
        st.permutations(arrivals + data.draw(st.lists(st.sampled_from(arrivals), max_size=4)))
    )
    cut = data.draw(st.integers(0, len(shuffled)))
    books.farm(books.clock.now() + timedelta(hours=data.draw(st.integers(0, 12))))
    books.journal(shuffled[:cut])
    books.farm(books.clock.now() + timedelta(hours=data.draw(st.integers(0, 12))))
    books.journal(shuffled[cut:])
    books.farm(books.clock.now() + timedelta(hours=30))
    report = billing.check(db=books.db)
    assert report.ok, report.mismatches
    for index in range(len(lives)):
        assert _net(books, f"{late}-{index}") == _net(books, f"{ordered}-{index}"), lives[index]
