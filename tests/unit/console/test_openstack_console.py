"""The OpenStack driver's console calls, against a fake SDK compute proxy shaped like
openstacksdk's: Nova's console log split in lines, the noVNC URL, and another project's
server refused before Nova is asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sws.drivers.openstack.driver import OpenStackDriver
from sws.errors import NotFound
from sws.web.console.terminal import is_internal_url

MINE, THEIRS = "project-a", "project-b"
LOG = "[    0.000000] Linux version 6.1.0\nCloud-init v. 24.1 finished\nweb-1 login: \n"


@dataclass
class _Server:
    id: str
    project_id: str


@dataclass
class _Compute:
    """The SDK's compute proxy, with the calls SWS makes and what they were asked."""

    asked: list[tuple[str, Any]] = field(default_factory=list)

    def get_server(self, server_id: str) -> _Server:
        return _Server(server_id, MINE)

    def get_server_console_output(self, server_id: str, length: int | None = None) -> Any:
        self.asked.append(("output", length))
        return {"output": LOG}

    def create_server_remote_console(self, server_id: str, **attrs: Any) -> Any:
        self.asked.append(("remote", attrs))
        return type("Console", (), {"url": "https://console.example.com/vnc_auto.html?t=1"})()


class _Connections:
    region = "RegionOne"

    def __init__(self) -> None:
        self.compute = _Compute()

    def project(self, project_id: str) -> Any:
        return self

    def admin(self) -> Any:
        return self


def _driver() -> tuple[OpenStackDriver, _Compute]:
    connections = _Connections()
    return OpenStackDriver(connections=connections), connections.compute  # type: ignore[arg-type]


def test_console_output_asks_nova_for_the_tail_and_splits_its_lines() -> None:
    driver, compute = _driver()
    assert driver.console_output(MINE, "s1", 3) == [
        "[    0.000000] Linux version 6.1.0", "Cloud-init v. 24.1 finished", "web-1 login: "]
    assert compute.asked == [("output", 3)]


def test_remote_console_asks_for_novnc_and_gives_its_url() -> None:
    driver, compute = _driver()
    found = driver.remote_console(MINE, "s1")
    assert (found.protocol, found.type) == ("vnc", "novnc")
    assert found.url == "https://console.example.com/vnc_auto.html?t=1"
    assert compute.asked == [("remote", {"protocol": "vnc", "type": "novnc"})]


def test_another_projects_server_is_not_found_and_nova_is_not_asked() -> None:
    driver, compute = _driver()
    with pytest.raises(NotFound):
        driver.console_output(THEIRS, "s1", 3)
    with pytest.raises(NotFound):
        driver.remote_console(THEIRS, "s1")
    assert compute.asked == []


@pytest.mark.parametrize("url", [
    "http://controller:6080/vnc_auto.html?token=x", "http://10.0.0.5:6080/vnc_auto.html",
    "https://nova.internal/vnc", "http://127.0.0.1:6080/", "http://[fd00::1]:6080/",
    "http://novnc.cluster.local/", "not a url",
])
def test_internal_console_urls_are_never_shown(url: str) -> None:
    assert is_internal_url(url)


def test_a_public_console_url_is_shown() -> None:
    assert not is_internal_url("https://console.cloud.example.com/vnc_auto.html?token=x")
    assert not is_internal_url("https://8.8.4.4:6080/vnc_auto.html")
