"""The month-to-date cost in the console: the overview's card and chart, an instance's line."""

from __future__ import annotations

from decimal import Decimal

from sws.web.console import charts
from tests.unit.console.conftest import Console
from tests.unit.console.test_billing import with_catalog
from tests.unit.console.test_monitoring import launch


def test_stacked_bars_stack_each_day_bottom_up_in_the_series_order() -> None:
    columns = [("1", {"instance": Decimal("3"), "bandwidth": Decimal("1")}),
               ("2", {}), ("3", {"bandwidth": Decimal("2"), "instance": Decimal("-1")})]
    chart = charts.stacked_bars(columns, ["instance", "bandwidth"], lambda v: f"{v:g}")
    first, empty, third = chart.columns
    assert [s.series for s in first.segments] == ["instance", "bandwidth"]
    # The top is 5 (the tallest day, 4, rounded up): 3 is 120 of the 200 units, 1 is 40.
    assert [s.height for s in first.segments] == [120.0, 40.0]
    assert first.segments[0].y == charts.PAD_T + charts.CHART_H - 120
    assert first.segments[1].y == first.segments[0].y - 40  # on top of the first
    assert empty.segments == () and not chart.empty
    assert [s.series for s in third.segments] == ["bandwidth"]  # a refund is not drawn
    assert [t.label for t in chart.y_ticks] == ["0", "1.25", "2.5", "3.75", "5"]
    assert [c.tick for c in chart.columns] == [True, False, False]


def test_the_overview_shows_the_month_to_date_and_the_instance_its_own(console: Console) -> None:
    with_catalog(console)
    browser = console.browser("alice")
    page = browser.get("/console/").text
    assert 'id="month-to-date">CN¥0.00<' in page and 'id="cost-nothing"' in page
    server_id = launch(console, name="web-1")  # m1.small, 0.42 per started hour
    console.settle(20 * 60)
    page = browser.get("/console/").text
    assert 'id="month-to-date">CN¥0.42<' in page
    assert "CN¥0.00 charged, CN¥0.42 not charged yet" in page
    assert 'data-item="instance"' in page and 'id="cost-legend"' in page
    assert "An estimate, not a charge" in page
    instance = browser.get(f"/console/instances/{server_id}").text
    assert 'id="instance-month-to-date">CN¥0.42<' in instance
    zh = console.browser("alice", **{"accept-language": "zh-CN"}).get("/console/").text
    assert "本月至今" in zh and "本月预计" in zh and "以账单为准" in zh
