"""The admin's Dead Letters page: refused payment callbacks beside notifications SWS could not
understand, each with its reason, source and time; filtered by kind, source and days; paged;
in English and Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

from sws.events import service as events
from tests.unit.console.conftest import Browser, Console

PAGE = "/admin/dead-letters"
ROWS = re.compile(r'<tr data-kind="(\w+)">')


def _refused_callback(console: Console, provider: str, body: str) -> int:
    """A provider callback through the real route; the status it got."""
    return console.browser().client.post(f"/v1/payments/callbacks/{provider}",
                                         content=body.encode()).status_code


def _bad_notification(console: Console, text: str) -> None:
    events.import_jsonl(db=console.container.db, clock=console.container.clock,
                        region="RegionOne", lines=[text])


def _kinds(html: str) -> list[str]:
    return ROWS.findall(html)


def _admin(console: Console) -> Browser:
    return console.browser("root-admin", **{"Accept-Language": "en"})


def test_a_refused_callback_shows_beside_a_bad_notification_with_its_reason(
    console: Console,
) -> None:
    _bad_notification(console, '{"not": "an oslo envelope"}')
    console.clock.advance(timedelta(minutes=5))
    assert _refused_callback(console, "paypal", '{"id": "evt_1"}') == 404

    html = _admin(console).get(PAGE).text

    assert _kinds(html) == ["payment", "notification"]  # newest first
    assert "payment:paypal" in html and "unknown provider &#39;paypal&#39;" in html
    assert "Payment callback" in html and "evt_1" in html
    assert "an oslo envelope" in html and "Notification" in html


def test_filters_by_kind_and_by_source_prefix(console: Console) -> None:
    _bad_notification(console, '{"not": "an oslo envelope"}')
    _refused_callback(console, "paypal", "{}")
    _refused_callback(console, "worldpay", "{}")
    admin = _admin(console)

    assert _kinds(admin.get(f"{PAGE}?kind=payment").text) == ["payment", "payment"]
    assert _kinds(admin.get(f"{PAGE}?kind=notification").text) == ["notification"]
    only = admin.get(f"{PAGE}?source=payment:world").text
    assert _kinds(only) == ["payment"] and "worldpay" in only and "paypal" not in only
    assert _kinds(admin.get(f"{PAGE}?source=pay%25").text) == []  # % is a character, no wildcard


def test_filters_by_the_days_received_both_included(console: Console) -> None:
    day_one = console.clock.now().date()
    _refused_callback(console, "first-day", "{}")
    console.clock.advance(timedelta(days=1))
    _refused_callback(console, "second-day", "{}")
    console.clock.advance(timedelta(days=1))
    _refused_callback(console, "third-day", "{}")
    day_two = day_one + timedelta(days=1)
    admin = _admin(console)

    middle = admin.get(f"{PAGE}?since={day_two}&until={day_two}").text
    assert "second-day" in middle and "first-day" not in middle and "third-day" not in middle
    assert "first-day" not in admin.get(f"{PAGE}?since={day_two}").text
    up_to = admin.get(f"{PAGE}?until={day_one}&kind=&source=").text
    assert _kinds(up_to) == ["payment"] and "first-day" in up_to


def test_pages_of_fifty_with_older_and_newer_links_that_keep_the_filter(
    console: Console,
) -> None:
    for n in range(53):
        _refused_callback(console, f"p{n:02d}", "{}")
    _bad_notification(console, '{"not": "an oslo envelope"}')
    admin = _admin(console)

    first = admin.get(f"{PAGE}?kind=payment").text
    assert len(_kinds(first)) == 50 and "53" in first
    older = re.search(r'href="(/admin/dead-letters\?[^"]*offset=50)"', first)
    assert older and "kind=payment" in older.group(1)
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    assert _kinds(second) == ["payment"] * 3 and "Newer" in second and "p00" in second


def test_bad_filters_get_a_page_naming_the_field_never_a_500(console: Console) -> None:
    admin = _admin(console)

    for query, field in (("since=2026-13-01", "since"), ("until=yesterday", "until"),
                         ("kind=email", "kind"), ("since=2026-03-05&until=2026-03-01", "since")):
        response = admin.get(f"{PAGE}?{query}")
        assert 400 <= response.status_code < 500, query
        assert field in response.text, query


def test_the_page_speaks_chinese(console: Console) -> None:
    _refused_callback(console, "paypal", "{}")

    admin = _admin(console)
    admin.post("/console/language", {"locale": "zh_CN"})
    html = admin.get(PAGE).text

    assert "死信队列" in html and "支付回调" in html and "全部类型" in html


def test_only_admins_see_it_and_the_admin_menu_links_it(console: Console) -> None:
    _refused_callback(console, "paypal", "{}")

    member = console.browser("alice").get(PAGE)
    assert member.status_code == 403 and "payment:paypal" not in member.text
    assert f'href="{PAGE}"' in _admin(console).get("/admin/").text
