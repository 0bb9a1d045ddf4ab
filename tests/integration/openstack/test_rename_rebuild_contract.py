"""Rename and rebuild on both drivers (issue 18): the same API tests over the simulated region
and real Nova (`scripts/openstack-dev`: Nova's PUT /servers/{id} and its rebuild action).

One server serves both tests, as in test_contract. The test cloud has one image (cirros-fake),
so the rebuild there reinstalls the image the server already has, which Nova allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Contract

ABSENT = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def server(cloud: Contract) -> Iterator[Any]:
    made = cloud.boot("contract-changes", "m1.small")
    yield made
    cloud.client.delete(f"/v1/servers/{made['id']}", headers=cloud.mine)


def _rename(cloud: Contract, server_id: str, name: Any, headers: dict[str, str]) -> Any:
    return cloud.client.patch(f"/v1/servers/{server_id}", json={"name": name}, headers=headers)


def test_rename_keeps_the_server_and_is_private_to_its_project(
    cloud: Contract, server: Any
) -> None:
    renamed = _rename(cloud, server["id"], "contract-renamed", cloud.mine)
    assert renamed.status_code == 200, renamed.text
    shown = cloud.wait(server["id"], "ACTIVE")
    assert (shown["name"], shown["id"], shown["flavor"]["name"]) == (
        "contract-renamed", server["id"], "m1.small"
    )
    assert _rename(cloud, server["id"], "theirs", cloud.theirs).status_code == 404
    assert _rename(cloud, ABSENT, "nobody", cloud.mine).status_code == 404
    assert _rename(cloud, server["id"], "", cloud.mine).status_code == 422
    assert cloud.server(server["id"])["name"] == "contract-renamed"


def test_rebuild_keeps_id_addresses_and_flavor(cloud: Contract, server: Any) -> None:
    before = cloud.wait(server["id"], "ACTIVE")
    body = {"action": "rebuild", "image_id": cloud.image_id}
    theirs = cloud.client.post(f"/v1/servers/{server['id']}/action", json=body,
                               headers=cloud.theirs)
    assert theirs.status_code == 404, theirs.text
    started = cloud.act(server["id"], **body)
    assert started["id"] == server["id"]
    after = cloud.wait(server["id"], "ACTIVE", timeout=180 if cloud.real else 90)
    assert (after["image_id"], after["flavor"]["name"]) == (cloud.image_id, "m1.small")
    assert after["fixed_ips"] == before["fixed_ips"]
    missing = cloud.client.post(f"/v1/servers/{server['id']}/action", headers=cloud.mine,
                                json={"action": "rebuild", "image_id": ABSENT})
    assert missing.status_code == 422 and missing.json()["field"] == "image_id"
