"""A project's own quota in the simulated region: set by the admin, in force at once, for that
project only, and used by every check (servers, resizes, key pairs, groups, addresses)."""

from __future__ import annotations

import pytest

from sws.clock import SimulatedClock
from sws.drivers.base import Quota
from sws.drivers.simulated.region import SimulatedRegion
from sws.errors import QuotaExceeded
from tests.unit.drivers.conftest import PROJECT, boot

SMALL = Quota(instances=1, cores=2, ram_mb=4096, floating_ips=1, security_groups=2, key_pairs=1)


def test_a_set_quota_is_in_force_at_once_for_that_project_only(
    region: SimulatedRegion, clock: SimulatedClock
) -> None:
    region.set_quota(PROJECT, SMALL)
    assert region.quota_usage(PROJECT).limits == SMALL
    assert region.quota_usage("another-project").limits == region.quota
    boot(region, clock)
    with pytest.raises(QuotaExceeded, match="Quota exceeded for instances"):
        boot(region, clock, name="second")
    region.allocate_floating_ip(PROJECT)
    with pytest.raises(QuotaExceeded):
        region.allocate_floating_ip(PROJECT)
    region.create_keypair(PROJECT, "one", None)
    with pytest.raises(QuotaExceeded, match="limit 1"):
        region.create_keypair(PROJECT, "two", None)


def test_setting_again_replaces_the_quota(region: SimulatedRegion, clock: SimulatedClock) -> None:
    region.set_quota(PROJECT, SMALL)
    bigger = Quota(instances=3, cores=8, ram_mb=16384)
    region.set_quota(PROJECT, bigger)
    assert region.quota_usage(PROJECT).limits == bigger
    boot(region, clock)
    boot(region, clock, name="second")
    assert region.quota_usage(PROJECT).instances == 2
