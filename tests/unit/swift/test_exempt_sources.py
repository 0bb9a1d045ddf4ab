"""`exempt_sources`: the operator's CDN edges read a container origin whatever its tenant's
firewall says, while the tenant's rules still judge every other address."""

from __future__ import annotations

from sws_swift.rules import Limit
from tests.unit.swift.test_middleware import call, make, rules

EDGES = "203.0.113.20, 198.51.100.20/32"


def test_an_edge_passes_an_exclusive_whitelist_and_a_blacklist_that_refuse_others() -> None:
    firewall, app, _ = make(exempt_sources=EDGES)
    exclusive = rules(allow=("192.0.2.0/24",), exclusive=True)
    blacklist = rules(deny=("203.0.113.0/24", "198.51.100.0/24"))

    assert call(firewall, exclusive, ip="203.0.113.20")[0] == 200
    assert call(firewall, blacklist, ip="198.51.100.20")[0] == 200
    assert call(firewall, exclusive, ip="198.51.100.7")[0] == 403  # not an edge
    assert call(firewall, blacklist, ip="203.0.113.21")[0] == 403  # the edge's neighbour
    assert app.calls == 2


def test_an_edge_is_not_counted_against_a_per_address_limit() -> None:
    firewall, _, _ = make(exempt_sources=EDGES)
    limited = rules(limits=(Limit("requests", 300, 1),))

    assert [call(firewall, limited, ip="203.0.113.20")[0] for _ in range(3)] == [200] * 3
    assert [call(firewall, limited, ip="192.0.2.9")[0] for _ in range(2)] == [200, 429]


def test_behind_a_trusted_balancer_the_edge_is_the_forwarded_client() -> None:
    firewall, _, _ = make(exempt_sources=EDGES, trusted_proxies="10.0.0.1")
    exclusive = rules(allow=("192.0.2.0/24",), exclusive=True)

    assert call(firewall, exclusive, ip="10.0.0.1",
                **{"X-Forwarded-For": "203.0.113.20"})[0] == 200
    assert call(firewall, exclusive, ip="10.0.0.1",
                **{"X-Forwarded-For": "198.51.100.9"})[0] == 403
    # a visitor cannot pose as an edge: the balancer appends the real peer
    assert call(firewall, exclusive, ip="10.0.0.1",
                **{"X-Forwarded-For": "203.0.113.20, 198.51.100.9"})[0] == 403


def test_without_the_option_nobody_is_exempt() -> None:
    firewall, _, _ = make()
    assert call(firewall, rules(deny=("203.0.113.0/24",)), ip="203.0.113.20")[0] == 403
