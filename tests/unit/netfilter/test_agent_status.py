"""When a node agent is stale or behind: one rule (`sws.agents.model`) for the filter agents
and the LB agents, and the LB nodes' status in the admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sws.agents.model import Freshness, agent_status
from sws.errors import NotFound
from sws.netfilter import service as nf
from sws.netfilter.model import AgentReport, Instance
from tests.api.conftest import Cloud

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVERY_30S = Freshness(interval=timedelta(seconds=30), intervals=3)


def judge(silent_for: float | None, applied: object = "d1", expected: object = "d1") -> str:
    reported = None if silent_for is None else NOON - timedelta(seconds=silent_for)
    return agent_status(reported_at=reported, applied=applied, expected=expected, now=NOON,
                        freshness=EVERY_30S).state


def test_an_agent_is_stale_only_after_n_silent_intervals() -> None:
    assert judge(0) == "current"
    assert judge(90) == "current"  # three intervals exactly
    assert judge(90.001) == "stale"
    assert judge(None) == "stale"  # never reported


def test_an_agent_is_behind_when_what_it_applied_is_not_what_is_expected_now() -> None:
    assert judge(5, applied="d1", expected="d2") == "behind"
    assert judge(5, applied=None, expected="d2") == "behind"
    assert judge(5, applied="d1", expected=None) == "behind"  # nothing known to expect
    assert judge(5, applied=7, expected=7) == "current"  # versions compare as well


def test_stale_wins_the_badge_but_both_are_told() -> None:
    status = agent_status(reported_at=NOON - timedelta(hours=1), applied=3, expected=4,
                          now=NOON, freshness=EVERY_30S)
    assert (status.state, status.stale, status.behind, status.healthy) == (
        "stale", True, True, False)


def _nodes(cloud: Cloud) -> dict[str, dict[str, object]]:
    found = cloud.client.get("/v1/admin/lb-nodes", headers=cloud.admin).json()["items"]
    return {n["name"]: n for n in found}


def _version(cloud: Cloud) -> int:
    state = cloud.client.get("/v1/admin/lb-nodes/lb-1/desired-state", headers=cloud.admin)
    return int(state.json()["version"])


def test_lb_nodes_are_stale_when_silent_and_behind_when_a_change_lands_while_down(
    cloud: Cloud,
) -> None:
    assert _nodes(cloud)["lb-1"]["state"] == "stale"  # never reported
    applied = _version(cloud)
    heartbeat = cloud.client.post("/v1/admin/lb-nodes/lb-1/report", json={"version": applied},
                                  headers=cloud.admin)
    assert heartbeat.status_code == 204
    node = _nodes(cloud)["lb-1"]
    assert (node["state"], node["alive"], node["applied_version"]) == ("current", True, applied)
    created = cloud.client.post("/v1/loadbalancers", json={"name": "web", "type": "http"},
                                headers=cloud.acme.headers)
    assert created.status_code == 201, created.text
    node = _nodes(cloud)["lb-1"]
    assert (node["state"], node["behind"], node["expected_version"]) == (
        "behind", True, _version(cloud))
    cloud.clock.advance(timedelta(seconds=11))  # SWS_LB_NODE_TIMEOUT_SECONDS is 10
    node = _nodes(cloud)["lb-1"]
    assert (node["state"], node["stale"], node["alive"]) == ("stale", True, False)


@dataclass(frozen=True)
class Region:
    """A Directory that knows some hosts and no instances."""

    known: frozenset[str]

    def tenant_exists(self, tenant_id: str) -> bool:
        return False

    def instance(self, instance_id: str) -> Instance | None:
        return None

    def tenant_instance(self, tenant_id: str, instance_id: str) -> Instance:
        raise NotFound(instance_id)

    def instances_on(self, host: str) -> list[Instance]:
        return []

    def hosts(self) -> set[str]:
        return set(self.known)


def test_an_agent_is_judged_in_whichever_region_knows_its_host(cloud: Cloud) -> None:
    one, two = Region(frozenset({"compute-01"})), Region(frozenset({"compute-b1"}))
    db, clock = cloud.container.db, cloud.clock
    nf.record_report(db=db, clock=clock, directory=two, report=AgentReport(
        host="compute-b1", target="nft", digest="", in_sync=True, elements=0, mode="full",
        drift={}))
    window = nf.freshness(cloud.container.settings)
    (seen_from_one,) = nf.host_statuses(db=db, clock=clock, directories=[one], window=window)
    (seen_from_all,) = nf.host_statuses(db=db, clock=clock, directories=[one, two],
                                        window=window)
    assert (seen_from_one.state, seen_from_all.state) == ("unknown_host", "behind")
    assert seen_from_all.known_host and seen_from_all.expected_digest is not None
