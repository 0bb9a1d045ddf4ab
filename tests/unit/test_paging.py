"""Paging a whole list in key order: the pages, followed marker to marker, are the list."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.errors import SWSError
from sws.paging import PageRequest, int_marker, next_marker, window
from tests.budget import examples


def _all_pages(items: list[str], limit: int) -> list[str]:
    seen: list[str] = []
    marker = None
    while True:
        page = window(items, str, PageRequest(limit=limit, marker=marker))
        seen += page
        marker = next_marker(page, str, limit)
        if marker is None:
            return seen


@settings(max_examples=examples(200))
@given(st.sets(st.text(max_size=6), max_size=30), st.integers(min_value=1, max_value=7))
def test_following_the_markers_gives_every_item_once_in_key_order(
    keys: set[str], limit: int
) -> None:
    assert _all_pages(list(keys), limit) == sorted(keys)


def test_a_page_of_key_pairs_starts_after_the_marker() -> None:
    names = ["web", "admin", "db", "ci"]
    assert window(names, str, PageRequest(limit=2)) == ["admin", "ci"]
    assert window(names, str, PageRequest(limit=2, marker="ci")) == ["db", "web"]
    assert window(names, str, PageRequest(limit=2, marker="web")) == []


def test_a_short_page_is_the_last() -> None:
    assert next_marker(["a", "b"], str, 2) == "b"
    assert next_marker(["a"], str, 2) is None
    assert next_marker([], str, 2) is None


@pytest.mark.parametrize("marker", ["x", "-1", "²", "1" * 19, "1.5"])
def test_an_integer_marker_must_be_a_small_decimal_id(marker: str) -> None:
    with pytest.raises(SWSError) as refused:
        int_marker(PageRequest(marker=marker))
    assert refused.value.field == "marker"
    assert int_marker(PageRequest(marker="42")) == 42


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_limit_outside_1_to_1000_is_refused(limit: int) -> None:
    with pytest.raises(SWSError):
        PageRequest(limit=limit)
