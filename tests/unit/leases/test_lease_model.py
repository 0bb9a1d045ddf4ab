"""Leader leases as values: who may lead when, and epochs that only grow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sws.errors import Invalid
from sws.leases.model import Lease, LeaseTerms, admits, claim, released
from tests.budget import examples

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TTL = timedelta(seconds=6)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_first_claim_starts_epoch_one() -> None:
    lease = claim(None, name="alarm-evaluator", holder="a", now=T0, ttl=TTL)
    assert lease == Lease("alarm-evaluator", "a", 1, _at(6))


def test_a_live_lease_is_renewed_by_its_holder_only() -> None:
    lease = claim(None, name="r", holder="a", now=T0, ttl=TTL)
    assert claim(lease, name="r", holder="b", now=_at(5.9), ttl=TTL) is None
    renewed = claim(lease, name="r", holder="a", now=_at(2), ttl=TTL)
    assert renewed == Lease("r", "a", 1, _at(8))  # same term, later expiry


def test_an_expired_lease_goes_to_the_next_claimant_with_the_next_epoch() -> None:
    lease = claim(None, name="r", holder="a", now=T0, ttl=TTL)
    taken = claim(lease, name="r", holder="b", now=_at(6), ttl=TTL)
    assert taken == Lease("r", "b", 2, _at(12))


def test_a_holder_back_after_a_lapse_starts_a_new_term() -> None:
    lease = claim(None, name="r", holder="a", now=T0, ttl=TTL)
    again = claim(lease, name="r", holder="a", now=_at(30), ttl=TTL)
    assert again is not None and again.epoch == 2


def test_a_fence_is_admitted_only_in_its_own_live_term() -> None:
    first = claim(None, name="r", holder="a", now=T0, ttl=TTL)
    assert first is not None
    assert admits(first, first.fence, _at(5))
    assert not admits(first, first.fence, _at(6))  # expired: not even its holder may write
    second = claim(first, name="r", holder="b", now=_at(7), ttl=TTL)
    assert second is not None
    assert not admits(second, first.fence, _at(8))  # the paused old leader wakes up: refused
    assert admits(second, second.fence, _at(8))
    assert not admits(None, first.fence, T0)


def test_stepping_down_frees_the_lease_at_once_but_only_for_its_holder() -> None:
    lease = claim(None, name="r", holder="a", now=T0, ttl=TTL)
    assert lease is not None
    other = Lease("r", "b", 1, _at(6)).fence
    assert released(lease, other, _at(1)) is None
    freed = released(lease, lease.fence, _at(1))
    assert freed is not None and not freed.live(_at(1))
    assert claim(freed, name="r", holder="b", now=_at(1), ttl=TTL) is not None


def test_terms_need_a_renew_interval_shorter_than_the_ttl() -> None:
    with pytest.raises(Invalid):
        LeaseTerms.of_seconds(ttl=2, renew=2)
    with pytest.raises(Invalid):
        LeaseTerms.of_seconds(ttl=2, renew=0)
    assert LeaseTerms.of_seconds(ttl=6, renew=2).ttl == TTL


claims = st.lists(
    st.tuples(st.sampled_from("abc"), st.floats(min_value=0, max_value=10)), max_size=40
)


@settings(max_examples=examples(300))
@given(claims)
def test_one_leader_at_a_time_and_epochs_only_grow(steps: list[tuple[str, float]]) -> None:
    """Any sequence of claims: never two live holders of one term, and a new holder (or a
    lapse) always means a higher epoch."""
    lease: Lease | None = None
    now = T0
    for holder, wait in steps:
        now += timedelta(seconds=wait)
        before = lease
        after = claim(before, name="r", holder=holder, now=now, ttl=TTL)
        if after is None:
            assert before is not None and before.live(now) and before.holder != holder
            continue
        assert after.holder == holder and after.live(now)
        if before is not None:
            new_term = before.holder != holder or not before.live(now)
            assert after.epoch == before.epoch + (1 if new_term else 0)
            assert not admits(after, before.fence, now) or not new_term
        lease = after
