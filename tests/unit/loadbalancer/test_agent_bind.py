"""Where an LB node listens: its own shared address from SWS_LB_NODES, which the desired
state carries, unless `--bind` says otherwise; never every address of the host by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sws.loadbalancer.model import DesiredState
from sws.loadbalancer.renderer import RenderOptions, render
from sws.loadbalancer.service import LBConfig, desired_state
from sws_agent.lb import AgentError, listen_addresses
from tests.api.conftest import Cloud

NODES = (("lb-1", "203.0.113.10"), ("lb-2", "198.51.100.10"))


def test_a_node_listens_on_its_own_shared_address() -> None:
    state = DesiredState(1, 80, 11000, 11009, (), NODES)
    assert listen_addresses(state, "lb-2") == ("198.51.100.10",)
    config = render(
        state, RenderOptions(run_dir=Path("/run/lb"), bind=listen_addresses(state, "lb-1"))
    ).config
    assert "bind 203.0.113.10:80" in config and "bind 203.0.113.10:11000-11009" in config
    assert "0.0.0.0" not in config


def test_a_node_that_sws_lb_nodes_does_not_name_is_told_why() -> None:
    state = DesiredState(1, 80, 11000, 11009, (), NODES)
    with pytest.raises(AgentError, match="SWS_LB_NODES gives no address for node 'lb-3'"):
        listen_addresses(state, "lb-3")


def test_the_api_hands_every_node_its_address_in_the_desired_state(cloud: Cloud) -> None:
    config = LBConfig(
        nodes=(("lb-1", "203.0.113.10", "telecom"), ("lb-2", "198.51.100.10", "unicom"))
    )
    state = desired_state(db=cloud.container.db, config=config)
    again = DesiredState.from_json(state.to_json())
    assert again.address_of("lb-1") == "203.0.113.10"
    assert again.address_of("lb-2") == "198.51.100.10"
    reply = cloud.client.get("/v1/admin/lb-nodes/lb-1/desired-state", headers=cloud.admin)
    assert reply.status_code == 200 and reply.json()["nodes"] == {"lb-1": "127.0.0.1"}
