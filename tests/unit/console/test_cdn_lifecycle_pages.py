"""CDN pages: the allowed methods in the settings, and a distribution whose origin was deleted
shown disabled with the reason, re-enabling refused on the page."""

from __future__ import annotations

from sws.cdn import service as cdn
from tests.unit.console.conftest import Console
from tests.unit.console.test_cdn_pages import CDN, create


def test_allowed_methods_are_ticked_in_the_settings(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    page = f"{CDN}/{dist}"

    saved = alice.post(
        f"{page}/settings",
        {
            "name": "site",
            "default_ttl": "60",
            "enabled": "1",
            "allowed_methods": ["OPTIONS", "POST"],
        },
        page=page,
        follow=True,
    )

    assert "Settings saved." in saved.text
    assert 'id="allowed-methods">GET, HEAD, OPTIONS, POST<' in saved.text
    row = cdn.get_distribution(
        db=console.container.db, project_id=console.tenants["acme"], distribution_id=dist
    )
    assert row.settings.allowed_methods == ("GET", "HEAD", "OPTIONS", "POST")
    refused = alice.post(
        f"{page}/settings",
        {"name": "site", "default_ttl": "60", "allowed_methods": ["TRACE"]},
        page=page,
        follow=True,
    )
    assert "unknown method" in refused.text


def test_a_deleted_origin_shows_and_re_enabling_is_refused(console: Console) -> None:
    alice = console.browser("alice")
    dist = create(console, alice)
    page = f"{CDN}/{dist}"
    row = cdn.get_distribution(
        db=console.container.db, project_id=console.tenants["acme"], distribution_id=dist
    )
    deleted = alice.post(
        f"/console/loadbalancers/{row.origin_ref}/delete",
        {},
        page=f"/console/loadbalancers/{row.origin_ref}",
        follow=True,
    )
    assert deleted.status_code == 200

    shown = alice.get(page).text
    refused = alice.post(
        f"{page}/settings",
        {"name": "site", "default_ttl": "60", "enabled": "1"},
        page=page,
        follow=True,
    )

    assert 'id="origin-missing"' in shown
    assert 'name="enabled" value="1">' in shown  # unticked: SWS disabled it
    assert "was deleted: this distribution cannot be enabled" in refused.text
    assert "origin deleted" in alice.get(CDN).text
