"""The storage-firewall rule model SWS validates and stores in container sysmeta.

The format is owned by `sws_swift.rules`, the pure standard-library module that the Swift proxy
middleware reads, so that what SWS writes and what the proxy enforces cannot drift apart. This
module is SWS's name for it; it imports neither SQLAlchemy nor FastAPI.

- `FirewallRules` validates on construction (at most 100 entries per list, valid IPv4/IPv6
  CIDRs, positive limits, windows of 300 s and 86,400 s) and raises `RuleError` naming the
  field, which the API turns into a 4xx problem response before anything is written;
- `to_sysmeta_headers` gives the container POST headers (empty rules remove the firewall);
- `IPSet` / `compile_rules` are the same matcher the proxy uses, for the simulated store.
"""

from __future__ import annotations

from sws_swift.rules import (
    BYTES_PER_MB,
    MAX_ENTRIES,
    WINDOWS,
    CompiledRules,
    FirewallRules,
    IPSet,
    Limit,
    RuleError,
    compile_rules,
    from_sysmeta,
    parse_ip,
    sysmeta_key,
    to_sysmeta_headers,
)

__all__ = [
    "BYTES_PER_MB",
    "MAX_ENTRIES",
    "WINDOWS",
    "CompiledRules",
    "FirewallRules",
    "IPSet",
    "Limit",
    "RuleError",
    "compile_rules",
    "from_sysmeta",
    "parse_ip",
    "sysmeta_key",
    "to_sysmeta_headers",
]
