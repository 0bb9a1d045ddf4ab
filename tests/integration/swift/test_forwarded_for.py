"""X-Forwarded-For as a real Swift proxy (eventlet.wsgi) hands it to sws_firewall.

Proxy B trusts X-Forwarded-For from 127.0.0.1. Requests are written with http.client so that a
header can be sent on two lines, as some balancers do; eventlet joins the lines with ",".
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from sws_swift.rules import FirewallRules

from .conftest import Swift


def get(swift: Swift, *forwarded: str) -> tuple[int, bytes]:
    """GET the test object through proxy B with one X-Forwarded-For line per `forwarded`."""
    url = urlsplit(swift.url("B"))
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        conn.putrequest("GET", f"{url.path}/{swift.container}/o")
        conn.putheader("X-Auth-Token", swift.token)
        for line in forwarded:
            conn.putheader("X-Forwarded-For", line)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_hops_with_ports_are_judged_by_their_address(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("192.0.2.0/24", "2001:db8::/32")))
    assert get(swift, "192.0.2.7:5555")[0] == 403
    assert get(swift, "[2001:db8::7]:443")[0] == 403
    assert get(swift, "198.51.100.9:80, 127.0.0.1:41000")[0] == 200
    assert get(swift, "[2001:db8:1::1]")[0] == 403


def test_a_hop_that_is_not_an_address_is_refused_not_replaced_by_the_balancer(
    swift: Swift,
) -> None:
    swift.set_rules(FirewallRules(deny=("127.0.0.0/8",)))  # the balancer's own address
    status, body = get(swift, "garbage")
    assert status == 400, body
    assert b"X-Forwarded-For" in body
    assert get(swift, "198.51.100.9,,127.0.0.1")[0] == 400  # an empty hop
    assert get(swift, "198.51.100.9")[0] == 200


def test_two_header_lines_are_joined_not_cut_to_the_last(swift: Swift) -> None:
    swift.set_rules(FirewallRules(deny=("192.0.2.0/24",)))
    assert get(swift, "192.0.2.7", "127.0.0.1")[0] == 403  # the client is on the first line
    assert get(swift, "198.51.100.9", "192.0.2.7:1")[0] == 403
    assert get(swift, "192.0.2.7", "198.51.100.9")[0] == 200  # rightmost untrusted wins
