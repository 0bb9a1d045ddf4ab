"""The feed's merge and paging, the bell's lookback, and global search's matching rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sws.activity import model
from sws.activity.model import PAGE_SIZE, Entry, unread_since
from sws.errors import Invalid
from sws.search.model import PER_KIND, find, first_match, needle

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: int, source: str = "resource", key: str = "1") -> Entry:
    return Entry(at=T0 + timedelta(minutes=minutes), source=source, kind="x.y", key=key)


def test_sources_merge_newest_first_and_ties_keep_one_order() -> None:
    events = [at(9), at(5), at(1)]  # each source is newest first
    alarms = [at(7, "alarm"), at(5, "alarm")]
    bills = [at(8, "billing")]
    found = model.older_page([events, alarms, bills], None)
    assert [(e.at.minute, e.source) for e in found.entries] == [
        (9, "resource"), (8, "billing"), (7, "alarm"), (5, "resource"), (5, "alarm"),
        (1, "resource")]
    assert found.older is None and found.newer is None


def test_a_page_of_fifty_names_the_cursors_of_its_neighbours() -> None:
    events = [at(-2 * i, key=f"{i:03d}") for i in range(PAGE_SIZE + 1)]  # each source: 51
    alarms = [at(-2 * i - 1, "alarm", f"{i:03d}") for i in range(PAGE_SIZE + 1)]
    first = model.older_page([events, alarms], None)
    assert len(first.entries) == PAGE_SIZE and first.newer is None
    assert first.older == first.entries[-1].cursor
    later = model.older_page([events, alarms], first.older)
    assert later.newer == later.entries[0].cursor  # a page past a cursor has a newer one


def test_a_newer_page_is_the_fifty_just_above_the_cursor_or_none_near_the_top() -> None:
    ascending = [at(i, key=f"{i:03d}") for i in range(1, PAGE_SIZE + 2)]  # oldest first
    cursor = at(0).cursor
    found = model.newer_page([ascending], cursor)
    assert found is not None
    assert [e.at.minute for e in found.entries][:2] == [50, 49]
    assert found.entries[-1].at.minute == 1 and found.older == found.entries[-1].cursor
    assert model.newer_page([ascending[:PAGE_SIZE]], cursor) is None


def test_a_cursor_goes_through_a_link_and_a_forged_one_is_refused() -> None:
    cursor = at(3, "billing", "000000000042").cursor
    assert model.Cursor.parse(cursor.token) == cursor
    for forged in ("", "x~resource~1", f"{T0.isoformat()}~nobody~1",
                   f"{T0.isoformat()}~resource~abc", T0.replace(tzinfo=None).isoformat()
                   + "~resource~1", f"{T0.isoformat()}~resource"):
        with pytest.raises(Invalid):
            model.Cursor.parse(forged)


def test_the_bell_counts_from_the_mark_but_never_more_than_thirty_days_back() -> None:
    now = T0
    assert unread_since(None, now) == now - timedelta(days=30)  # never opened the notices
    assert unread_since(now - timedelta(days=90), now) == now - timedelta(days=30)
    assert unread_since(now - timedelta(hours=2), now) == now - timedelta(hours=2)


def test_notices_are_finished_snapshots_and_failed_builds_not_every_change() -> None:
    assert model.is_resource_notice("volume_snapshot", "create")
    assert model.is_resource_notice("instance", "snapshot")
    assert not model.is_resource_notice("instance", "rename")
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
