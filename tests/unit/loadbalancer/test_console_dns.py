"""The console's load-balancer page tells the tenant what DNS needs: the CNAME each custom
name outside the LB zone must point at the automatic name, and that an LB has no members."""

from __future__ import annotations

import re

from tests.unit.console.conftest import Console, console, template
from tests.unit.console.test_loadbalancer_pages import create, launch

__all__ = ["console", "template"]


def _row(html: str, host: str) -> str:
    found = re.search(rf'<tr data-host="{re.escape(host)}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {host}"
    return found.group(1)


def test_a_custom_name_shows_the_cname_to_publish_and_zone_names_need_none(
    console: Console,
) -> None:
    console.txt.prove("www.acme.example", console.tenants["acme"])
    alice = console.browser("alice")
    lb_id = create(console, alice, custom_hosts="www.acme.example\nshop.lb.example.com")
    html = alice.get(f"/console/loadbalancers/{lb_id}").text
    auto = re.search(r'<tr data-host="([a-z0-9]{10}\.lb\.example\.com)">', html)
    assert auto, html
    assert f"www.acme.example. CNAME {auto.group(1)}." in _row(html, "www.acme.example")
    assert "answered by SWS" in _row(html, "shop.lb.example.com")
    assert "answered by SWS" in _row(html, auto.group(1))
    assert "refuses any other" in html


def test_an_lb_without_members_says_so_until_one_is_added(console: Console) -> None:
    alice = console.browser("alice")
    lb_id = create(console, alice)
    page = f"/console/loadbalancers/{lb_id}"
    assert 'id="no-members"' in alice.get(page).text
    server_id = launch(console, "acme", "web-1")
    added = alice.post(
        f"{page}/members", {"server_id": server_id, "port": "80"}, page=page, follow=True
    )
    assert "Member added." in added.text and 'id="no-members"' not in added.text
