"""The storage-firewall rule model SWS validates and stores in container sysmeta.

The format is owned by `sws_swift.rules`, the pure standard-library module that the Swift proxy
middleware (and the simulated store) reads, so that what SWS writes and what the proxy enforces
cannot drift apart. This module is SWS's name for the part the API and console use; it imports
neither SQLAlchemy nor FastAPI.

`FirewallRules` validates on construction (at most `MAX_ENTRIES` entries per list, valid
IPv4/IPv6 CIDRs, positive limits, windows of 300 s and 86,400 s) and raises `RuleError` naming
the field, which the API turns into a 4xx problem response before anything is written.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from sws_swift.rules import MAX_ENTRIES, FirewallRules, Limit, RuleError

__all__ = ["MAX_ENTRIES", "FirewallRules", "Limit", "RuleError", "check_entries"]


def check_entries(name: str, entries: Sequence[str]) -> None:
    """What a tenant may list, stricter than the proxy's reader: refuse what would be changed
    silently. `RuleError` names the list (`allow`) or the entry (`deny[3]`).

    - more than `MAX_ENTRIES` entries as given, duplicates included;
    - an IPv6 zone id (`fe80::1%eth0`): it names an interface of one host, and a client's
      address carries none;
    - the same network twice (`10.0.0.1` and `10.0.0.1/32`, or `10.0.0.7/24` and
      `10.0.0.0/24` once host bits are cleared).

    Malformed entries are left to `FirewallRules`, which names them.
    """
    if len(entries) > MAX_ENTRIES:
        raise RuleError(name, f"at most {MAX_ENTRIES} entries, got {len(entries)}")
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if "%" in str(entry):
            raise RuleError(
                f"{name}[{index}]",
                f"{entry!r} has a zone id (%...): it names one host's interface, and a "
                "client's address carries none; give the address without it",
            )
        network = _network(str(entry))
        if network is None:
            continue
        if network in seen:
            raise RuleError(
                f"{name}[{index}]",
                f"{entry!r} is {network}, already listed as {name}[{seen[network]}]",
            )
        seen[network] = index


def _network(entry: str) -> str | None:
    try:
        return str(ipaddress.ip_network(entry.strip(), strict=False))
    except ValueError:
        return None
