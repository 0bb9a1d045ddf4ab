"""Instance Monitoring: SVG graphs from metering over a chosen range, and alarms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sws.drivers.base import MAX_SERVERS_PER_LAUNCH, Quota, ServerCreate
from sws.metering import alarms as alarm_service
from sws.web.console import charts, pages
from tests.unit.console.conftest import Console


def launch(console: Console, tenant: str = "acme", name: str = "web-1") -> str:
    driver = console.container.driver()
    tenant_id = console.tenants[tenant]
    flavor = next(f.id for f in driver.list_flavors() if f.name == "m1.small")
    image = next(i.id for i in driver.list_images(tenant_id) if i.status == "active")
    server = driver.create_servers(tenant_id, "someone", ServerCreate(
        name=name, flavor_id=flavor, image_id=image))[0]
    console.settle()
    return server.id


def run_for(console: Console, minutes: int) -> None:
    """Let the collector poll and seal: one tick every 10 simulated seconds."""
    for _ in range(minutes * 6):
        console.settle(10)


def points(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-points="(\d+)"', html)]


def test_the_graphs_are_svg_with_points_after_the_collector_ran(console: Console) -> None:
    server_id = launch(console)
    run_for(console, 12)
    browser = console.browser("alice")
    html = browser.get(f"/console/monitoring/{server_id}?range=1h").text
    assert html.count('class="chart-svg"') == 5
    assert "CPU utilisation" in html and "Disk read" in html and "Disk write" in html
    assert "Network in" in html and "Network out" in html
    assert all(n >= 8 for n in points(html)), points(html)  # 1-minute points over 12 minutes
    # one unit per axis: said once in the caption, the ticks are plain numbers in it
    units = re.findall(r'data-unit="([^"]*)"', html)
    assert units[0] == "%" and all(u.endswith("B/s") for u in units[1:]), units
    for unit in units:
        assert f'<span class="axis-unit" data-field="unit">({unit})</span>' in html
    ticks = re.findall(r'class="axis-label y-label"[^>]*>([^<]*)<', html)
    assert ticks and all(re.fullmatch(r"\d+(\.\d+)?", t) for t in ticks), ticks
    assert '<path class="line" d="M' in html and "%" in html
    day = browser.get(f"/console/monitoring/{server_id}?range=1d").text
    assert 'aria-current="true" data-range="1d"' in day
    assert 1 <= points(day)[0] <= 4  # 5-minute windows


def test_every_range_answers_and_an_unknown_one_falls_back_to_an_hour(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    for key in ("1h", "6h", "1d", "1w", "1m", "bogus"):
        page = browser.get(f"/console/monitoring/{server_id}?range={key}")
        assert page.status_code == 200
        assert "No data in this range yet." in page.text  # no poll has run yet: said, not faked


def test_another_tenants_instance_is_not_found(console: Console) -> None:
    server_id = launch(console, "globex")
    assert console.browser("alice").get(f"/console/monitoring/{server_id}").status_code == 404


def test_create_list_and_delete_an_alarm(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    page = f"/console/monitoring/{server_id}"
    made = browser.post(f"{page}/alarms", {
        "name": "web-hot", "meter": "cpu_util", "aggregate": "mean", "comparison": "gt",
        "threshold": "100", "granularity": "60", "evaluation_periods": "3",
        "action": "webhook", "url": "https://ops.example.com/hook",
        "secret": "at-least-16-characters"}, page=page, follow=True)
    assert made.status_code == 200 and "Alarm web-hot created." in made.text
    assert "0 of 1 in OK" in made.text and "Insufficient data" in made.text
    found = alarm_service.list_alarms(db=console.container.db, project_id=console.tenants["acme"])
    assert found[0].actions["alarm"][0]["url"] == "https://ops.example.com/hook"
    # The rule's windows fill; a simulated server may run hot, but never above 100 % CPU.
    run_for(console, 6)
    index = browser.get("/console/monitoring").text
    assert "1 of 1 in OK" in index and "web-hot" in index
    gone = browser.post(f"/console/monitoring/alarms/{found[0].id}/delete",
                        {"back": "/console/monitoring"}, page=page, follow=True)
    assert "Alarm web-hot deleted." in gone.text and "0 of 0 in OK" in gone.text


def test_errors_from_the_service_come_back_on_the_form(console: Console) -> None:
    server_id = launch(console)
    browser = console.browser("alice")
    page = f"/console/monitoring/{server_id}"
    form = {"name": "dup", "meter": "cpu_util", "aggregate": "mean", "comparison": "gt",
            "threshold": "80", "granularity": "60", "evaluation_periods": "3"}
    assert browser.post(f"{page}/alarms", form, page=page).status_code == 303
    again = browser.post(f"{page}/alarms", form, page=page)
    assert again.status_code == 409 and "already exists" in again.text
    assert 'value="dup"' in again.text  # what was typed is kept
    bad = browser.post(f"{page}/alarms", {**form, "name": "x", "threshold": "hot"}, page=page)
    assert bad.status_code == 422 and "threshold must be a number" in bad.text
    meter = browser.post(f"{page}/alarms", {**form, "name": "y", "meter": "nope"}, page=page)
    assert meter.status_code == 422 and "unknown meter" in meter.text
    hook = browser.post(f"{page}/alarms", {**form, "name": "z", "action": "webhook",
                                           "url": "ftp://x", "secret": "s"}, page=page)
    assert hook.status_code == 422 and "http:// or https://" in hook.text
    expired = browser.post(f"{page}/alarms", form, page=page, csrf="forged")
    assert expired.status_code == 403


def test_line_chart_geometry() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    data = [(start + timedelta(minutes=i), float(i * 10)) for i in range(7)]
    chart = charts.line_chart("CPU", "%", data, start, start + timedelta(hours=1),
                              max_value=100.0)
    assert len(chart.points) == 7 and chart.points[0].x == charts.PAD_L
    assert chart.points[0].y == charts.PAD_T + charts.CHART_H  # 0 % on the x axis
    assert chart.points[-1].y == charts.PAD_T + charts.CHART_H * 0.4  # 60 %
    assert [t.label for t in chart.y_ticks] == ["0", "25", "50", "75", "100"]
    assert chart.axis is not None and chart.axis.unit == "%"
    assert chart.value_text(60.0) == "60 %"
    assert chart.x_ticks[0].label == "10:00" and chart.x_ticks[-1].label == "11:00"
    assert chart.line.startswith("M64") and chart.area.endswith("Z")
    assert chart.latest == 60.0 and chart.peak == 60.0
    empty = charts.line_chart("Disk", "B/s", [], start, start + timedelta(days=7))
    assert empty.line == "" and empty.x_ticks[1].label == "03-03 14:00"


def test_nice_ceilings_and_short_numbers() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 0.3, 1, 1.2, 2.2, 4, 7, 10, 11)] == [
        1, 0.5, 1, 2, 2.5, 5, 10, 10, 20]
    assert charts.short_number(1536, "B/s") == "1.5 KiB/s"
    assert charts.short_number(3 * 1024**2, "B") == "3 MiB"
    assert charts.short_number(12500, "") == "12.5 K"


def test_one_unit_per_axis_worked_examples() -> None:
    """The issue saw "1000 B/s" next to "1.5 KiB/s" on one axis: now the axis picks one unit
    from its top and every tick is a plain number in it."""
    def ticks(peak: float, unit: str) -> tuple[str, list[str]]:
        axis = charts.value_axis(peak, unit)
        steps = round(axis.top / axis.step)
        return axis.unit, [axis.label(axis.step * i) for i in range(steps + 1)]

    assert ticks(1500, "B/s") == ("KiB/s", ["0", "0.5", "1", "1.5"])
    assert ticks(999, "B/s") == ("B/s", ["0", "250", "500", "750", "1000"])
    assert ticks(1000, "B/s") == ("KiB/s", ["0", "0.25", "0.5", "0.75", "1"])
    assert ticks(3 * 1024**2, "B") == ("MiB", ["0", "1", "2", "3"])
    assert ticks(12500, "") == ("K", ["0", "5", "10", "15"])
    assert ticks(0.3, "%") == ("%", ["0", "0.1", "0.2", "0.3"])
    assert ticks(0, "B/s") == ("B/s", ["0", "0.25", "0.5", "0.75", "1"])  # nothing yet
    assert charts.value_axis(1536, "B/s").text(1536) == "1.5 KiB/s"
    fixed = charts.value_axis(7, "%", max_value=100.0)
    assert (fixed.top, fixed.step, fixed.unit) == (100.0, 25.0, "%")


def test_a_network_chart_keeps_its_points_and_its_unit() -> None:
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    data = [(start + timedelta(minutes=i), v) for i, v in enumerate((1000.0, 1536.0, 512.0))]
    chart = charts.line_chart("Network in", "B/s", data, start, start + timedelta(hours=1))
    assert chart.axis is not None and chart.axis.unit == "KiB/s"
    assert [t.label for t in chart.y_ticks] == ["0", "0.5", "1", "1.5"]
    assert chart.value_text(chart.peak or 0) == "1.5 KiB/s"
    assert chart.points[1].y == charts.PAD_T  # 1.5 KiB/s is the top


def launch_many(console: Console, tenant: str, count: int) -> list[str]:
    """`count` tiny instances for `tenant` (its quota raised to hold them), oldest first."""
    driver = console.container.driver()
    tenant_id = console.tenants[tenant]
    driver.set_quota(tenant_id, Quota(instances=count, cores=count, ram_mb=512 * count))
    image = next(i.id for i in driver.list_images(tenant_id) if i.status == "active")
    made: list[str] = []
    for start in range(0, count, MAX_SERVERS_PER_LAUNCH):
        spec = ServerCreate(name=f"{tenant}{start:02d}", flavor_id="1", image_id=image,
                            count=min(MAX_SERVERS_PER_LAUNCH, count - start))
        made.extend(s.id for s in driver.create_servers(tenant_id, "someone", spec))
    console.settle()
    return made


def listed(html: str) -> list[str]:
    """The instance ids of the page's instance table, in order."""
    table = html.split('id="monitored"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr><td><a href="/console/monitoring/([0-9a-f-]{36})"', table)


def link(html: str, link_id: str) -> str | None:
    found = re.search(rf'<a href="([^"]*)" id="{link_id}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_instance_list_is_paged_and_the_links_walk_it(console: Console) -> None:
    ours = launch_many(console, "acme", 55)
    theirs = launch_many(console, "globex", 3)
    browser = console.browser("alice")
    first = browser.get("/console/monitoring").text
    assert listed(first) == ours[::-1][:50]  # newest first, 50 a page
    assert link(first, "previous") is None and "Previous page" not in first
    assert link(first, "next") == f"/console/monitoring?marker={ours[5]}"
    second = browser.get(link(first, "next") or "").text
    assert listed(second) == ours[4::-1]
    assert link(second, "next") is None
    assert link(second, "previous") == "/console/monitoring"  # back to the first page
    assert not set(theirs) & {*listed(first), *listed(second)}
    assert "globex" not in first + second
    # another tenant's instance is no place in this list: refused, nothing of it shown
    refused = browser.get(f"/console/monitoring?marker={theirs[0]}")
    assert refused.status_code == 422 and "globex" not in refused.text


def test_the_previous_link_goes_back_a_page_and_names_every_alarmed_instance(
    console: Console,
) -> None:
    ours = launch_many(console, "acme", 120)
    oldest = console.container.driver().get_server(console.tenants["acme"], ours[0])
    alarm_service.create_alarm(
        db=console.container.db, clock=console.clock, project_id=console.tenants["acme"],
        name="oldest-hot", rule={"type": "threshold", "resource_id": oldest.id,
                                 "meter": "cpu_util", "aggregate": "mean", "comparison": "gt",
                                 "threshold": 90.0, "granularity": 60, "evaluation_periods": 3},
        actions={}, targets=console.container.webhook_targets)
    browser = console.browser("alice", **{"Accept-Language": "zh-CN"})
    third = browser.get(f"/console/monitoring?marker={ours[20]}").text
    assert listed(third) == ours[19::-1] and "上一页" in third and "下一页" not in third
    second = browser.get(link(third, "previous") or "").text
    assert listed(second) == ours[69:19:-1] and "上一页" in second and "下一页" in second
    assert link(second, "next") == f"/console/monitoring?marker={ours[20]}"
    first = browser.get(link(second, "previous") or "").text
    assert listed(first) == ours[:69:-1] and "上一页" not in first
    # the alarm's instance is on the last page, yet named on the first
    alarms = first.split('id="alarm-list"', 1)[1]
    assert "oldest-hot" in alarms and oldest.name in alarms


def test_previous_markers() -> None:
    ids = [f"i{n}" for n in range(120)]
    assert pages.previous_marker(ids, "") is None  # the first page has none
    assert pages.previous_marker(ids, "i49") == ""  # the second page: back to the first
    assert pages.previous_marker(ids, "i99") == "i49"
    assert pages.previous_marker(ids, "i9", size=10) == ""
    assert pages.previous_marker(ids, "i60") == "i10"  # a page that starts past a boundary
    assert pages.previous_marker(ids, "i30") == ""
    assert pages.previous_marker(ids, "gone") == ""  # beyond the ids known: the first page
