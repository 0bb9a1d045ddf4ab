"""The operator's auto-approval rules in worked examples: size steps, the 30-day interval,
good standing, and what a request may ask for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sws.drivers.base import Quota
from sws.errors import Conflict, Invalid
from sws.quotas.model import (
    DEFAULT_SIZES,
    QuotaRequest,
    Rules,
    Sizes,
    Standing,
    auto_decision,
    check_larger,
    quota_of,
)

SIZES = Sizes.from_mapping(DEFAULT_SIZES)
S, M, L, XL = (SIZES.quota(name) for name in ("S", "M", "L", "XL"))
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GOOD = Standing(tenant_enabled=True, account_status="ok", balance_negative=False)


def _request(current: Quota, wanted: Quota) -> QuotaRequest:
    return QuotaRequest(id="r1", tenant_id="t1", region="RegionOne", requested_by="ann",
                        size=None, current=current, wanted=wanted, reason="launch",
                        state="pending", created_at=NOW)


@pytest.mark.parametrize(("current", "wanted", "steps"), [
    (S, M, 1), (S, L, 2), (M, L, 1), (S, XL, 3), (M, replace(M, cores=41), 1),
    (S, replace(S, instances=11), 1), (XL, replace(XL, cores=201), 2),
    # OpenStack's defaults: Nova's are S, Neutron's 50 floating IPs are L's; M keeps the 50.
    (replace(S, floating_ips=50), replace(M, floating_ips=50), 1),
    (replace(S, floating_ips=50), replace(S, floating_ips=60), 3),
])
def test_a_size_step_is_one_preset_up(current: Quota, wanted: Quota, steps: int) -> None:
    assert SIZES.steps(current, wanted) == steps


def test_one_step_in_good_standing_is_approved_by_the_rules() -> None:
    assert auto_decision(Rules(), SIZES, _request(S, M), GOOD, None) is None


def test_two_steps_wait_for_an_admin() -> None:
    assert auto_decision(Rules(), SIZES, _request(S, L), GOOD, None) == (
        "more than 1 size step(s) up")
    assert auto_decision(Rules(max_steps=2), SIZES, _request(S, L), GOOD, None) is None


def test_one_approval_per_30_days() -> None:
    recent = NOW - timedelta(days=29, hours=23)
    assert "within 30 days" in str(auto_decision(Rules(), SIZES, _request(M, L), GOOD, recent))
    assert auto_decision(Rules(), SIZES, _request(M, L), GOOD, NOW - timedelta(days=30)) is None


@pytest.mark.parametrize("standing", [
    Standing(tenant_enabled=False, account_status="ok", balance_negative=False),
    Standing(tenant_enabled=True, account_status="suspended", balance_negative=False),
    Standing(tenant_enabled=True, account_status="grace", balance_negative=False),
    Standing(tenant_enabled=True, account_status="ok", balance_negative=True),
])
def test_an_account_not_in_good_standing_waits(standing: Standing) -> None:
    assert auto_decision(Rules(), SIZES, _request(S, M), standing, None) == (
        "the account is not in good standing")


def test_a_low_balance_is_still_good_standing_and_rules_can_be_off() -> None:
    low = Standing(tenant_enabled=True, account_status="low", balance_negative=False)
    assert auto_decision(Rules(), SIZES, _request(S, M), low, None) is None
    assert auto_decision(Rules(enabled=False), SIZES, _request(S, M), GOOD, None) == (
        "auto-approval is off")


def test_a_request_asks_for_more_and_never_less() -> None:
    check_larger(S, M)
    with pytest.raises(Invalid, match="nothing above"):
        check_larger(M, S)
    with pytest.raises(Invalid, match="may not lower"):
        check_larger(M, replace(M, cores=80, instances=5))
    with pytest.raises(Invalid, match="unknown resource 'gpus'"):
        quota_of({"gpus": 2}, S)
    assert quota_of({"cores": 64}, S) == replace(S, cores=64)


def test_a_decision_is_taken_once() -> None:
    decided = _request(S, M).decided("denied", "root", "no", NOW)
    assert (decided.state, decided.decided_by, decided.note) == ("denied", "root", "no")
    with pytest.raises(Conflict):
        decided.decided("approved", "root", "", NOW)
