"""The simulated region: an in-process OpenStack lookalike for `sws up`, demos and tests."""

from sws.drivers.simulated.region import SimulatedRegion

__all__ = ["SimulatedRegion"]
