"""The firewall API refuses, as 422 problems naming the field, what it would otherwise change
silently: repeated entries, an IPv6 zone id, a limit past the documented maximum."""

from __future__ import annotations

from tests.api.conftest import Cloud
from tests.api.test_storage import C, make_container, set_firewall


def test_silent_changes_are_refused_and_nothing_is_written(cloud: Cloud) -> None:
    make_container(cloud)
    assert set_firewall(cloud, {"deny": ["192.0.2.1"]}).status_code == 200
    cases = [
        ({"allow": ["198.51.100.7"] * 101}, "allow", "at most 100 entries, got 101"),
        ({"deny": ["10.0.0.0/8", "10.1.2.3/8"]}, "deny[1]", "already listed as deny[0]"),
        ({"allow": ["fe80::1%eth0"]}, "allow[0]", "zone id"),
        (
            {"limits": [{"kind": "mb", "window": 300, "amount": 10**39}]},
            "limits.mb/300",
            "at most 1,000,000,000",
        ),
    ]
    for body, field, words in cases:
        response = set_firewall(cloud, body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == field, response.json()
        assert words in response.json()["detail"]
    stored = cloud.client.get(f"{C}/photos/firewall", headers=cloud.acme.headers).json()
    assert stored["deny"] == ["192.0.2.1/32"]
