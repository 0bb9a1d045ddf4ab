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

from sws_swift.rules import MAX_ENTRIES, FirewallRules, Limit, RuleError

__all__ = ["MAX_ENTRIES", "FirewallRules", "Limit", "RuleError"]
