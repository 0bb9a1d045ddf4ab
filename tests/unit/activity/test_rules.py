"""The feed's merge and paging, the bell's lookback, and global search's matching rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sws.activity import model
from sws.activity.model import PAGE_SIZE, Entry, merge, unread_since
from sws.search.model import PER_KIND, find, first_match, needle

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: int, source: str = "resource", key: str = "1") -> Entry:
    return Entry(at=T0 + timedelta(minutes=minutes), source=source, kind="x.y", key=key)


def test_sources_merge_newest_first_and_ties_keep_one_order() -> None:
    events = [at(9), at(5), at(1)]  # each source is newest first
    alarms = [at(7, "alarm"), at(5, "alarm")]
    bills = [at(8, "billing")]
    found = merge([events, alarms, bills], page=0)
    assert [(e.at.minute, e.source) for e in found.entries] == [
        (9, "resource"), (8, "billing"), (7, "alarm"), (5, "resource"), (5, "alarm"),
        (1, "resource")]
    assert not found.has_next


def test_pages_of_fifty_continue_where_the_last_stopped() -> None:
    # 120 events and 30 alarm changes, interleaved in time: 150 entries, three pages
    events = [at(-2 * i, key=f"{i:03d}") for i in range(120)]
    alarms = [at(-2 * i - 1, "alarm", f"{i:03d}") for i in range(30)]
    pages = [merge([events[:model.wanted(p)], alarms[:model.wanted(p)]], p) for p in range(3)]
    assert [len(p.entries) for p in pages] == [PAGE_SIZE, PAGE_SIZE, PAGE_SIZE]
    assert [p.has_next for p in pages] == [True, True, False]
    times = [e.at for p in pages for e in p.entries]
    assert times == sorted(times, reverse=True) and len(set(times)) == 150
    assert pages[1].entries[0].at == T0 - timedelta(minutes=50)  # the 51st newest


def test_page_numbers_are_kept_inside_what_the_feed_serves() -> None:
    assert model.check_page(-3) == 0 and model.check_page(500) == model.MAX_PAGES - 1


def test_the_bell_counts_from_the_mark_but_never_more_than_thirty_days_back() -> None:
    now = T0
    assert unread_since(None, now) == now - timedelta(days=30)  # never opened the notices
    assert unread_since(now - timedelta(days=90), now) == now - timedelta(days=30)
    assert unread_since(now - timedelta(hours=2), now) == now - timedelta(hours=2)


def test_notices_are_finished_snapshots_and_failed_builds_not_every_change() -> None:
    assert model.is_resource_notice("volume_snapshot", "create")
    assert model.is_resource_notice("instance", "create_error")
    assert not model.is_resource_notice("instance", "power_off")


def test_a_query_needs_two_characters_and_is_case_insensitive() -> None:
    assert needle(" a ") is None and needle("") is None
    assert needle("  Web ") == "web"
    assert needle("x" * 300) == "x" * 100  # cut, not refused


def test_first_match_looks_at_names_ids_and_addresses() -> None:
    assert first_match("203.0", ["shop-db", "5a7a0c", "10.0.0.5", "203.0.113.7"]) == "203.0.113.7"
    assert first_match("shop", ["Shop-DB", None]) == "Shop-DB"
    assert first_match("zzz", ["shop-db", None]) is None


def test_find_gives_each_hit_what_it_matched_and_says_when_there_are_more() -> None:
    servers = [(f"id-{n:02d}", f"web-{n}", f"10.0.0.{n}") for n in range(25)]
    found = find("instance", servers, "web", ident=lambda s: s[0], name=lambda s: s[1],
                 texts=lambda s: (s[2],))
    assert len(found.hits) == PER_KIND and found.more
    by_ip = find("instance", servers, "10.0.0.7", ident=lambda s: s[0], name=lambda s: s[1],
                 texts=lambda s: (s[2],))
    assert [(h.id, h.name, h.matched) for h in by_ip.hits] == [("id-07", "web-7", "10.0.0.7")]
    assert not by_ip.more
