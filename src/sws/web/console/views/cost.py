"""The month-to-date cost: the overview's figures and stacked chart by day; an instance's."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sws.billing import estimate
from sws.billing.model import INSTANCE
from sws.errors import SWSError
from sws.money import Money
from sws.web.console import charts, i18n
from sws.web.console.context import Session
from sws.web.console.views.billing import CATEGORIES


@dataclass(frozen=True, slots=True)
class Legend:
    item: str
    label: str
    index: int  # the colour of its segments (`.stack-<index>`)
    total: Money
    projected: Money


@dataclass(frozen=True, slots=True)
class OverviewCost:
    estimate: estimate.Estimate
    chart: charts.StackedChart
    legend: tuple[Legend, ...]

    def cash(self, amount: Decimal) -> Money:
        """A day's amount (6 places) as a bill line shows it: half-up to the minor unit."""
        return Money(amount, self.estimate.currency).rounded()


def overview_cost(s: Session) -> OverviewCost | None:
    """The overview's card: month to date, the projection, the bill's categories by day."""
    try:
        found = estimate.month_to_date(db=s.container.db, clock=s.container.clock,
                                       tenant_id=s.tenant_id)
    except SWSError:
        return None
    currency, items = found.currency, [item for item, _ in CATEGORIES]

    def tick(value: float) -> str:
        return i18n.money(Money(Decimal(str(round(value, 2))), currency), s.locale)

    columns = [(str(day.day.day), day.amounts) for day in found.days]
    chart = charts.stacked_bars(columns, items, tick)
    legend = tuple(
        Legend(item, label, index, found.category(item).total, found.category(item).projected)
        for index, (item, label) in enumerate(CATEGORIES)
        if found.category(item).total.amount or found.category(item).projected.amount
    )
    return OverviewCost(found, chart, legend)


def instance_cost(s: Session, server_id: str) -> Money | None:
    """This instance's month to date (its VM lines and what it accrued since), or None."""
    try:
        return estimate.resource_to_date(db=s.container.db, clock=s.container.clock,
                                         tenant_id=s.tenant_id, item=INSTANCE,
                                         resource_id=server_id)
    except SWSError:
        return None

