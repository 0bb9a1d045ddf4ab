"""One launch limit for every driver: the spec refuses a count outside 1..MAX_SERVERS_PER_LAUNCH."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.drivers.base import MAX_SERVERS_PER_LAUNCH, ServerCreate
from sws.errors import Invalid


@given(st.integers(min_value=1, max_value=MAX_SERVERS_PER_LAUNCH))
def test_a_count_inside_the_limit_makes_a_spec(count: int) -> None:
    assert ServerCreate(name="web", flavor_id="f", image_id="i", count=count).count == count


@pytest.mark.parametrize("count", [0, -1, MAX_SERVERS_PER_LAUNCH + 1, 10**6])
def test_a_count_outside_the_limit_is_refused_with_the_field_named(count: int) -> None:
    with pytest.raises(Invalid) as refused:
        ServerCreate(name="web", flavor_id="f", image_id="i", count=count)
    assert refused.value.field == "count"
    assert str(MAX_SERVERS_PER_LAUNCH) in str(refused.value)
