"""GET /v1/servers/{id}/console-output: the tail of an instance's serial console, bounded."""

from __future__ import annotations

from tests.api.conftest import Cloud


def test_the_console_output_is_the_boot_log_tail(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme, name="web-1")
    url = f"/v1/servers/{server['id']}/console-output"
    tail = cloud.client.get(f"{url}?lines=3", headers=cloud.acme.headers)
    assert tail.status_code == 200, tail.text
    body = tail.json()
    assert body["truncated"] is True and len(body["lines"]) == 3
    assert body["lines"][-1] == "web-1 login: "
    whole = cloud.client.get(f"{url}?lines=10000", headers=cloud.acme.headers).json()
    assert whole["truncated"] is False
    assert whole["lines"][-3:] == body["lines"]
    assert "Linux version" in whole["lines"][0]


def test_a_building_instance_has_written_nothing_yet(cloud: Cloud) -> None:
    body = {"name": "slow", "flavor_id": cloud.flavor_id("m1.small"), "image_id": cloud.image_id()}
    server = cloud.client.post("/v1/servers", json=body, headers=cloud.acme.headers).json()[0]
    found = cloud.client.get(f"/v1/servers/{server['id']}/console-output",
                             headers=cloud.acme.headers)
    assert found.json() == {"lines": [], "truncated": False}


def test_lines_out_of_bounds_are_refused_with_a_problem(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    for lines in ("0", "-1", "10001", "many"):
        answer = cloud.client.get(f"/v1/servers/{server['id']}/console-output?lines={lines}",
                                  headers=cloud.acme.headers)
        assert answer.status_code == 422, (lines, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_another_tenants_instance_has_no_console_output_for_me(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    found = cloud.client.get(f"/v1/servers/{server['id']}/console-output",
                             headers=cloud.globex.headers)
    assert found.status_code == 404
