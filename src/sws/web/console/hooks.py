"""Where billing plugs into the console (round 2): prices on the launch form, the balance.

Until `sws.billing` lands these return nothing, and the pages show no price and no balance
rather than invented ones.
"""

from __future__ import annotations

from collections.abc import Mapping

from sws.money import Money
from sws.web.console.context import Session


def flavor_prices(_session: Session) -> Mapping[str, Money]:
    """Price per hour of each flavor id for the session's tenant and region."""
    return {}


def balance(_session: Session) -> Money | None:
    """The tenant's cash balance for the header."""
    return None
