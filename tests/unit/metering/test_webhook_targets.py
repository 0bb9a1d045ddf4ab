"""Alarm webhooks cannot reach into the operator's networks: refused at creation, and again
at delivery after DNS, where the connection goes to the address that was checked."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid
from sws.events.tables import dead_letters
from sws.metering import alarms
from sws.metering.notifiers import Notifiers, SmtpSettings
from sws.metering.targets import TargetRefused, WebhookTargets
from tests.api.conftest import Cloud, cloud, database_url
from tests.fake_dns import FakeAddresses
from tests.unit.metering.test_alarms import SECRET, Receiver, _minutes, webhook

__all__ = ["cloud", "database_url", "webhook"]  # fixtures: the API cloud, the local receiver

RULE = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "gt",
        "threshold": 80.0, "granularity": 60, "evaluation_periods": 2}


def _create(db: Database, clock: SimulatedClock, url: str, targets: WebhookTargets) -> Any:
    actions = {"alarm": [{"type": "webhook", "url": url, "secret": SECRET}]}
    return alarms.create_alarm(db=db, clock=clock, project_id="proj", name="hot", rule=RULE,
                               actions=actions, targets=targets)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/hook", "http://192.168.1.1/", "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/", "http://0.0.0.0/",
    "http://localhost:9000/", "http://api.localhost/", "ftp://example.org/", "http:///nohost",
])
def test_creation_refuses_local_and_private_targets(
    database: Database, clock: SimulatedClock, url: str
) -> None:
    with pytest.raises(Invalid) as refused:
        _create(database, clock, url, WebhookTargets(resolver=FakeAddresses()))
    assert refused.value.field == "url"


def test_the_operator_may_allow_private_targets_but_never_its_internal_networks(
    database: Database, clock: SimulatedClock
) -> None:
    internal = (ipaddress.ip_network("10.20.0.0/16"),)
    allowed = WebhookTargets(allow_private=True, blocked=internal, resolver=FakeAddresses())
    _create(database, clock, "http://10.0.0.7/hook", allowed)
    with pytest.raises(Invalid):
        _create(database, clock, "http://10.20.3.4/hook", allowed)


def test_a_name_is_checked_after_dns_at_each_delivery() -> None:
    rebinding = FakeAddresses({"hooks.example.net": ["93.184.216.34", "127.0.0.1"]})
    targets = WebhookTargets(resolver=rebinding)
    targets.check_url("https://hooks.example.net/sws")  # nothing to see before DNS
    with pytest.raises(TargetRefused, match="loopback"):
        targets.resolve("https://hooks.example.net/sws")
    public = WebhookTargets(resolver=FakeAddresses({"hooks.example.net": ["93.184.216.34"]}))
    assert public.resolve("https://hooks.example.net/sws").address == "93.184.216.34"


def test_delivery_to_a_name_that_resolves_inside_is_refused_and_dead_lettered(
    database: Database, clock: SimulatedClock, webhook: str
) -> None:
    port = webhook.split(":")[2].split("/")[0]
    inside = FakeAddresses({"hooks.example.net": ["127.0.0.1"]})
    targets = WebhookTargets(resolver=inside)
    _create(database, clock, f"http://hooks.example.net:{port}/hook", targets)
    _minutes(database, clock, [90, 90])
    notifiers = Notifiers(clock=clock, smtp=SmtpSettings(), timeout=2, targets=lambda: targets)
    policy = alarms.DeliveryPolicy(attempts=1, backoff=timedelta(seconds=1))
    outcome = alarms.deliver_due(db=database, clock=clock, notifiers=notifiers, policy=policy)
    assert outcome["dead"] == 1 and Receiver.received == []
    with database.read() as conn:
        assert "target refused" in conn.execute(select(dead_letters.c.reason)).scalar_one()


def test_delivery_connects_to_the_checked_address_with_the_names_host(
    database: Database, clock: SimulatedClock, webhook: str
) -> None:
    port = webhook.split(":")[2].split("/")[0]
    allowed = WebhookTargets(
        allow_private=True, resolver=FakeAddresses({"hooks.example.net": ["127.0.0.1"]})
    )
    _create(database, clock, f"http://hooks.example.net:{port}/hook?team=ops", allowed)
    _minutes(database, clock, [90, 90])
    notifiers = Notifiers(clock=clock, smtp=SmtpSettings(), timeout=2, targets=lambda: allowed)
    assert alarms.deliver_due(db=database, clock=clock, notifiers=notifiers)["delivered"] == 1
    (headers, _), = Receiver.received
    assert headers["host"] == f"hooks.example.net:{port}"


def test_the_api_refuses_a_metadata_service_webhook(cloud: Cloud) -> None:
    server = cloud.boot(cloud.acme)
    rule = {**RULE, "resource_id": server["id"]}
    hook = {"type": "webhook", "url": "http://169.254.169.254/latest/meta-data/",
            "secret": "0123456789abcdef"}
    refused = cloud.client.post("/v1/alarms", headers=cloud.acme.headers, json={
        "name": "steal", "rule": rule, "alarm_actions": [hook]})
    assert refused.status_code == 422 and refused.json()["field"] == "url"
