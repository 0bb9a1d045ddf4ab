"""The console header: global search, the notices bell and the Activity feed, and Help.

Worked examples on a simulated region: alice (acme) launches shop-db and gives it a floating
IP; bob (globex) must never find or read any of it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sws.billing import service as billing
from sws.compute import service as compute
from sws.money import Money
from tests.unit.console.conftest import Console
from tests.unit.console.test_monitoring import launch, run_for

ALWAYS = {"name": "cpu-any", "meter": "cpu_util", "aggregate": "mean", "comparison": "ge",
          "threshold": "0", "granularity": "60", "evaluation_periods": "1"}


def floating_ip(console: Console, server_id: str) -> str:
    driver, tenant_id = console.container.driver(), console.tenants["acme"]
    ip = driver.allocate_floating_ip(tenant_id)
    driver.associate_floating_ip(tenant_id, ip.id, server_id)
    console.settle()
    return ip.address


def hits(html: str) -> list[str]:
    """The links of the search results (none when there are no results)."""
    start = html.find('id="search-results"')
    return re.findall(r'<li><a href="([^"]+)">', html[start:]) if start >= 0 else []


def test_search_finds_an_instance_by_name_id_fixed_and_floating_ip(console: Console) -> None:
    server_id = launch(console, name="shop-db")
    address = floating_ip(console, server_id)
    fixed = console.container.driver().get_server(console.tenants["acme"], server_id).fixed_ips[0]
    alice = console.browser("alice")
    for query in ("SHOP", server_id[:8], fixed, address):
        found = alice.get("/console/search", params={"q": query})
        assert found.status_code == 200
        assert f"/console/instances/{server_id}" in hits(found.text), query
    by_ip = alice.get("/console/search", params={"q": address}).text
    assert f"/console/floating-ips?address={address}" in hits(by_ip)  # the IP itself too


def test_search_never_shows_another_tenants_resources(console: Console) -> None:
    server_id = launch(console, name="shop-db")
    address = floating_ip(console, server_id)
    bob = console.browser("bob")
    for query in ("shop-db", server_id, address):
        found = bob.get("/console/search", params={"q": query}).text
        assert 'id="search-none"' in found and hits(found) == []
        assert f"/console/instances/{server_id}" not in found


def test_a_short_query_asks_for_more_and_a_long_one_is_refused(console: Console) -> None:
    alice = console.browser("alice")
    assert 'id="search-hint"' in alice.get("/console/search", params={"q": "s"}).text
    assert alice.get("/console/search", params={"q": "x" * 101}).status_code == 422
    header = alice.get("/console/").text
    assert 'action="/console/search"' in header and 'name="q"' in header  # works without JS


def test_the_feed_lists_what_happened_newest_first_and_only_the_tenants(console: Console) -> None:
    server_id = launch(console, name="shop-db")
    console.clock.advance(timedelta(minutes=1))
    console.container.driver().server_action(console.tenants["acme"], server_id, "stop")
    console.settle()
    feed = console.browser("alice").get("/console/activity").text
    stopped = feed.index("Instance shop-db was shut down.")
    created = feed.index("Instance shop-db was created.")
    assert stopped < created  # newest first
    assert f'href="/console/instances/{server_id}"' in feed
    assert "shop-db" not in console.browser("bob").get("/console/activity").text


def test_the_feed_is_translated_and_money_is_formatted(console: Console) -> None:
    fund(console)
    alice = console.browser("alice", **{"accept-language": "zh-CN"})
    feed = alice.get("/console/activity").text
    assert "充值 ¥1,250.00。" in feed or "充值 CN¥1,250.00。" in feed, feed[-3000:]


def fund(console: Console, tenant: str = "acme") -> None:
    billing.top_up(db=console.container.db, clock=console.clock,
                   tenant_id=console.tenants[tenant], amount=Money.of("1250", "CNY"),
                   idempotency_key=f"feed-topup-{tenant}")


def test_an_alarm_that_fires_rings_the_bell_until_the_notices_are_read(console: Console) -> None:
    fund(console)  # funded: no grace notice of its own
    server_id = launch(console, name="shop-db")
    alice = console.browser("alice")
    assert 'id="bell-count"' not in alice.get("/console/").text
    alice.post("/console/alarms", {**ALWAYS, "server_id": server_id}, page="/console/alarms")
    run_for(console, 3)
    page = alice.get("/console/").text
    assert re.search(r'id="bell-count">1<', page), page[:3000]
    assert 'id="bell-count"' not in console.browser("bob").get("/console/").text
    notices = alice.get("/console/activity", params={"show": "notices"}).text
    assert "Alarm cpu-any fired." in notices and "Instance shop-db was created." not in notices
    assert 'id="bell-count"' not in notices  # visiting marks them read
    assert 'id="bell-count"' not in alice.get("/console/").text
    assert "cpu-any" not in console.browser("bob").get("/console/activity?show=notices").text


def test_an_unfunded_launch_is_a_grace_notice(console: Console) -> None:
    launch(console, name="shop-db")  # no funds at all: billing starts the grace period
    alice = console.browser("alice")
    assert re.search(r'id="bell-count">1<', alice.get("/console/").text)
    notices = alice.get("/console/activity", params={"show": "notices"}).text
    assert "No funds left: running instances will be stopped unless funds arrive." in notices
    assert 'href="/console/billing/account"' in notices


def test_a_bad_page_or_filter_is_a_422_page(console: Console) -> None:
    alice = console.browser("alice")
    assert alice.get("/console/activity", params={"before": "yesterday"}).status_code == 422
    assert alice.get("/console/activity", params={"after": "x" * 161}).status_code == 422
    assert alice.get("/console/activity", params={"show": "everything"}).status_code == 422
    place = "2026-03-02T10:00:00+00:00~resource~000000000001"
    assert alice.get("/console/activity", params={"before": place}).status_code == 200
    assert alice.get("/console/activity", params={"after": place}).status_code == 200


def test_an_instance_snapshot_and_a_rename_are_in_the_feed_in_both_languages(
    console: Console,
) -> None:
    """Nova's instance.snapshot.end is journaled: the finished snapshot is a notice; a rename
    is there too, under the new name."""
    fund(console)
    server_id = launch(console, name="shop-db")
    driver, tenant_id = console.container.driver(), console.tenants["acme"]
    driver.create_snapshot(tenant_id, server_id, "before-upgrade")
    console.settle()
    alice = console.browser("alice")
    feed = alice.get("/console/activity").text
    assert "A snapshot of instance shop-db was taken." in feed
    assert re.search(r'id="bell-count">1<', feed)
    notices = alice.get("/console/activity", params={"show": "notices"}).text
    assert "A snapshot of instance shop-db was taken." in notices
    compute.rename(driver, tenant_id, server_id, "shop-db-2", db=console.container.db,
                   clock=console.clock)
    chinese = console.browser("alice", **{"accept-language": "zh-CN"})
    feed = chinese.get("/console/activity").text
    assert "云主机 shop-db 的快照已完成。" in feed
    assert "云主机已重命名为 shop-db-2。" in feed


def test_help_links_the_api_reference_served_offline(console: Console) -> None:
    alice = console.browser("alice")
    assert 'href="/console/help"' in alice.get("/console/").text
    page = alice.get("/console/help").text
    assert 'href="/v1/docs"' in page and 'href="/v1/openapi.json"' in page
    assert alice.get("/v1/docs").status_code == 200
    chinese = console.browser("alice", **{"accept-language": "zh-CN"}).get("/console/help").text
    assert "API 参考" in chinese and "创建云主机" in chinese
