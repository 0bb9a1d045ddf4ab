"""Agents given a user and password log in, and log in again when their token expires; a bare
token that expired stays an error. Against the API served over HTTP on 127.0.0.1."""

from __future__ import annotations

import urllib.error
from datetime import timedelta

import pytest

from sws_agent.credentials import Credentials
from sws_agent.lb import HttpSource
from sws_agent.netfilter import Api, UnknownHost
from tests.api.conftest import PASSWORD, Cloud
from tests.integration.loadbalancer.test_agent_process import api_server

__all__ = ["api_server"]


def _expire_tokens(cloud: Cloud) -> None:
    cloud.clock.advance(timedelta(seconds=cloud.container.settings.token_ttl_seconds + 1))


def test_an_lb_agent_with_a_password_outlives_its_token(cloud: Cloud, api_server: str) -> None:
    credentials = Credentials(api_server, user="root-admin", password=PASSWORD)
    source = HttpSource(api_server, credentials, "lb-1")
    version = source.fetch(after=-1, wait=0).version
    first = credentials.token
    assert first, "logged in on its first request"
    _expire_tokens(cloud)
    source.report(version, {})  # refused with the old token, sent again with a new one
    assert credentials.token not in ("", first)
    assert source.fetch(after=-1, wait=0).version == version


def test_a_bare_token_that_expired_is_refused(cloud: Cloud, api_server: str) -> None:
    token = cloud.admin["Authorization"].removeprefix("Bearer ")
    source = HttpSource(api_server, token, "lb-1")
    source.fetch(after=-1, wait=0)
    _expire_tokens(cloud)
    with pytest.raises(urllib.error.HTTPError) as refused:
        source.fetch(after=-1, wait=0)
    assert refused.value.code == 401


def test_the_filter_agent_logs_in_the_same_way(cloud: Cloud, api_server: str) -> None:
    credentials = Credentials(api_server, user="root-admin", password=PASSWORD)
    api = Api(base=api_server, token=credentials)
    with pytest.raises(UnknownHost):  # past authentication: the API judged the host
        api.ruleset("compute-O1")
    first = credentials.token
    _expire_tokens(cloud)
    with pytest.raises(UnknownHost):
        api.ruleset("compute-O1")
    assert credentials.token not in ("", first)
