"""How much of a long check a run affords: the bounded form in `make test`, more in `make soak`.

`make test` (and CI) runs every property and kill loop at its stated size; `make soak` sets
HYPOTHESIS_PROFILE=soak and SWS_SOAK_FACTOR (default 10), and each count here grows by it.
"""

from __future__ import annotations

import os


def _factor() -> int:
    if os.environ.get("HYPOTHESIS_PROFILE") != "soak":
        return 1
    return max(1, int(os.environ.get("SWS_SOAK_FACTOR", "10")))


def examples(count: int) -> int:
    """Hypothesis examples for a property whose bounded form runs `count`."""
    return count * _factor()


def repeats(count: int) -> int:
    """Kills, restarts or rounds for a loop whose bounded form runs `count`."""
    return count * _factor()
