"""deploy/ansible onto the three simulated nodes, with the commands docs/operations.md gives.

Run by `make test`'s `nodes` stage (`make nodes-test` alone: SWS_TEST_NODES=1, as root), on the
deployment it shares with tests/chaos and test_rolling_upgrade.py. The commands are read from
docs/operations.md's "Deploying the three nodes" block and run as
written, so the document cannot drift from what works. Then, through HAProxy on sws-n1:
/healthz answered by both API nodes, a login and a server launch on the simulated region,
`sws billing check` clean on a node, and requests still answered while sws-n1's API is killed.
The nodes are removed at the end (`scripts/nodes destroy`; the Debian base stays cached).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.nodes.deployment import ADMIN, API_NODES, OPT_IN, login, node

pytestmark = OPT_IN


def test_haproxy_answers_healthz_through_both_api_nodes(front: httpx.Client) -> None:
    served: Counter[str] = Counter()
    for _ in range(8):
        answer = front.get("/healthz")
        assert answer.status_code == 200
        assert answer.json()["status"] == "ok"
        served[answer.headers["X-SWS-Backend"]] += 1
    assert set(served) == API_NODES, served
    assert front.get("/readyz").json()["checks"] == {"database": "ok", "billing": "ok"}


@pytest.fixture(scope="module")
def launched(front: httpx.Client) -> tuple[dict[str, str], str]:
    """A new tenant's member logs in through HAProxy and launches a server: (headers, id)."""
    admin = login(front, ADMIN["name"], ADMIN["password"])
    name = f"deploy-{uuid.uuid4().hex[:8]}"
    tenant = front.post("/v1/admin/tenants", json={"name": name}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    tenant_id = tenant.json()["id"]
    user = {"tenant_id": tenant_id, "name": f"{name}-user", "password": "launch-through-haproxy"}
    assert front.post("/v1/admin/users", json=user, headers=admin).status_code == 201
    top_up = {"amount": "100.00", "currency": "CNY", "idempotency_key": f"{name}-start"}
    answer = front.post(f"/v1/admin/billing/{tenant_id}/topups", json=top_up, headers=admin)
    assert answer.status_code == 201, answer.text

    member = login(front, user["name"], user["password"])
    flavor = next(f for f in front.get("/v1/flavors", headers=member).json()["items"]
                  if f["name"] == "m1.small")
    image = front.get("/v1/images", headers=member).json()["items"][0]
    launch = {"name": "web-1", "flavor_id": flavor["id"], "image_id": image["id"]}
    answer = front.post("/v1/servers", json=launch, headers=member)
    assert answer.status_code == 202, answer.text
    return member, answer.json()[0]["id"]


def test_a_login_and_a_server_launch_through_haproxy(
    front: httpx.Client, launched: tuple[dict[str, str], str]
) -> None:
    member, server_id = launched
    seen: dict[str, list[str]] = {}
    for _ in range(6):  # round robin: each API node lists the server from the shared database
        answer = front.get("/v1/servers", headers=member)
        seen[answer.headers["X-SWS-Backend"]] = [s["id"] for s in answer.json()["items"]]
    assert seen == {backend: [server_id] for backend in API_NODES}


def test_the_launched_server_becomes_active(
    front: httpx.Client, launched: tuple[dict[str, str], str]
) -> None:
    member, server_id = launched
    # The simulated build takes SWS_SIM_TASK_SECONDS (3 s); the tickers on sws-n1 and
    # sws-n2 complete it.
    deadline, status = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        status = front.get(f"/v1/servers/{server_id}", headers=member).json()["status"]
        if status == "ACTIVE":
            break
        time.sleep(1)
    assert status == "ACTIVE"


def test_billing_check_is_clean_on_a_node(front: httpx.Client) -> None:
    assert front.get("/healthz").status_code == 200  # deployed
    done = node("sws-n2", "/usr/local/sbin/sws", "billing", "check")
    assert re.search(r"\b0 mismatches, 0 double charges", done.stdout), done.stdout


def test_killing_the_api_on_n1_keeps_requests_answered_through_n2(front: httpx.Client) -> None:
    admin = login(front, ADMIN["name"], ADMIN["password"])
    node("sws-n1", "systemctl", "kill", "--signal=KILL", "sws-api@8001")
    answered, failed, served = 0, [], Counter[str]()
    until = time.monotonic() + 6
    while time.monotonic() < until:
        try:
            answer = front.get("/v1/admin/tenants", headers=admin, timeout=10)
        except httpx.HTTPError as error:
            failed.append(repr(error))
            continue
        if answer.status_code == 200:
            answered += 1
            served[answer.headers["X-SWS-Backend"]] += 1
        else:
            failed.append(f"{answer.status_code} {answer.text[:200]}")
    print(f"\nwhile sws-n1's API was killed: {answered} answered, {len(failed)} failed, {served}")
    assert not failed, failed[:5]
    assert served["sws-n2-8001"] > 0
    # systemd restarts the killed API (Restart=on-failure, 2 s) and HAProxy takes it back.
    deadline, backends = time.monotonic() + 60, set()
    while time.monotonic() < deadline and backends != API_NODES:
        backends.add(front.get("/healthz").headers["X-SWS-Backend"])
        time.sleep(0.2)
    assert backends == API_NODES
    restarts = node("sws-n1", "systemctl", "show", "-P", "NRestarts", "sws-api@8001").stdout
    assert int(restarts) >= 1
