"""Writing firewall rules into container sysmeta with Swift's InternalClient.

Clients cannot set sysmeta: every pipeline a proxy server serves gets `gatekeeper`, which
strips it. Swift's own services (container-sync, the expirer) write sysmeta with an
`InternalClient`: an in-process proxy pipeline without gatekeeper that talks to the storage
nodes directly. SWS's OpenStack driver does the same on a host that has the rings, swift.conf
and the cluster's memcache (see docs/storage-firewall.md); the POST clears the container's
info from that memcache, so proxies sharing it apply the new rules on their next request.
"""

from __future__ import annotations

from typing import Any

from sws_swift.rules import FirewallRules, to_sysmeta_headers

USER_AGENT = "sws-storagefw"


def internal_client(conf_path: str, retries: int = 3) -> Any:
    """An InternalClient; its pipeline: catch_errors proxy-logging cache proxy-server."""
    from swift.common.internal_client import InternalClient
    from swift.common.utils import readconf, set_swift_dir

    # InternalClient reads swift.conf from /etc/swift unless told where swift_dir is.
    set_swift_dir(readconf(conf_path, "app:proxy-server").get("swift_dir"))
    return InternalClient(conf_path, USER_AGENT, retries, use_replication_network=False)


def write_rules(client: Any, account: str, container: str, rules: FirewallRules) -> None:
    """Store `rules` on the container (empty rules remove the firewall)."""
    client.set_container_metadata(account, container, to_sysmeta_headers(rules))


def write_raw(client: Any, account: str, container: str, headers: dict[str, str]) -> None:
    """Store raw sysmeta headers as given (tests use it to plant malformed rules)."""
    client.set_container_metadata(account, container, headers)
