"""The instance list pages both ways, keeping its name and status filters on every link."""

from __future__ import annotations

import re

from tests.unit.console.conftest import Console
from tests.unit.console.test_monitoring import launch_many, link


def rows(html: str) -> list[str]:
    """The instance ids of the instance table, in order."""
    return re.findall(r'<tr data-id="([0-9a-f-]{36})"', html)


def test_next_and_previous_walk_the_list_and_back(console: Console) -> None:
    ours = launch_many(console, "acme", 120)  # names acme00 ... acme100, oldest first
    browser = console.browser("alice")
    first = browser.get("/console/instances").text
    assert rows(first) == ours[:69:-1] and link(first, "previous") is None
    second = browser.get(link(first, "next") or "").text
    assert rows(second) == ours[69:19:-1]
    third = browser.get(link(second, "next") or "").text
    assert rows(third) == ours[19::-1] and link(third, "next") is None
    back = browser.get(link(third, "previous") or "").text
    assert rows(back) == rows(second)
    assert link(back, "previous") == "/console/instances?name=&status="  # the first page


def test_the_links_keep_the_filters_and_page_the_filtered_list(console: Console) -> None:
    ours = launch_many(console, "acme", 120)  # launched 20 at a time as acme00 ... acme100
    driver = console.container.driver()
    driver.rename_server(console.tenants["acme"], ours[0], "web")  # no longer named acme
    driver.server_action(console.tenants["acme"], ours[70], "stop")
    console.settle()
    browser = console.browser("alice", **{"Accept-Language": "zh-CN"})
    first = browser.get("/console/instances?name=acme&status=ACTIVE").text
    assert rows(first) == ours[:70:-1] + ours[69:68:-1]  # newest first, not the stopped one
    assert "下一页" in first and "上一页" not in first
    following = link(first, "next") or ""
    assert following == f"/console/instances?name=acme&status=ACTIVE&marker={ours[69]}"
    second = browser.get(following).text
    assert rows(second) == ours[68:18:-1]
    assert link(second, "previous") == "/console/instances?name=acme&status=ACTIVE"
    third = browser.get(link(second, "next") or "").text
    assert rows(third) == ours[18:0:-1]  # neither the stopped nor the renamed one
    assert "下一页" not in third and link(third, "previous") == following
    narrow = browser.get("/console/instances?name=acme2&status=").text
    assert rows(narrow) == ours[39:19:-1] and link(narrow, "next") is None
