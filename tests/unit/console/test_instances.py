"""Launching and driving instances from the console, and the errors the API answers with."""

from __future__ import annotations

import re

from tests.unit.console.conftest import Browser, Console


def _launch(browser: Browser, name: str = "web-1", flavor: str = "m1.small",
            count: str = "1", **extra: str) -> tuple[int, str]:
    form = browser.get("/console/instances/launch").text
    flavor_id = re.search(rf'value="([^"]+)" id="flavor-{re.escape(flavor)}"', form)
    image_id = re.search(r'name="image_id" required>\s*<option value="([^"]+)"', form)
    assert flavor_id and image_id
    data = {"name": name, "flavor_id": flavor_id.group(1), "image_id": image_id.group(1),
            "count": count, "security_groups": "default", **extra}
    response = browser.post("/console/instances/launch", data, page="/console/instances/launch",
                            follow=True)
    return response.status_code, response.text


def _ids(html: str) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', html)


def test_launch_then_see_it_go_active_then_shut_it_off(console: Console) -> None:
    browser = console.browser("alice")
    status, html = _launch(browser)
    assert status == 200 and "Launching 1 instance." in html and "Building" in html
    console.settle()
    html = browser.get("/console/instances").text
    assert "Active" in html and "Running" in html
    (server_id,) = _ids(html)
    after = browser.post("/console/instances/action", {"action": "stop", "ids": server_id},
                         page="/console/instances", follow=True).text
    assert "Shutting off web-1." in after
    console.settle()
    assert "Shut off" in browser.get("/console/instances?status=SHUTOFF").text


def test_actions_apply_to_a_selection_and_report_each_outcome(console: Console) -> None:
    browser = console.browser("alice")
    _launch(browser, count="2")
    console.settle()
    ids = _ids(browser.get("/console/instances").text)
    assert len(ids) == 2
    html = browser.post("/console/instances/action", {"action": "start", "ids": ids},
                        page="/console/instances", follow=True).text
    assert html.count("Start does not apply to an instance that is running.") == 2
    html = browser.post("/console/instances/action", {"action": "reboot", "ids": ids},
                        page="/console/instances", follow=True).text
    assert html.count("Rebooting web-1") == 2


def test_connect_and_system_log_need_exactly_one_instance(console: Console) -> None:
    browser = console.browser("alice")
    _launch(browser, count="2")
    console.settle()
    ids = _ids(browser.get("/console/instances").text)
    refused = browser.post("/console/instances/action", {"action": "connect", "ids": ids},
                           page="/console/instances", follow=True)
    assert "Select exactly one instance." in refused.text
    one = browser.post("/console/instances/action", {"action": "connect", "ids": ids[0]},
                       page="/console/instances")
    assert one.headers["location"] == f"/console/instances/{ids[0]}#connect"
    detail = browser.get(f"/console/instances/{ids[0]}").text
    assert re.search(r"ssh ubuntu@10\.\d+\.\d+\.\d+", detail)
    assert 'id="system-log-lines"' in detail and 'id="open-console"' in detail


def test_the_state_endpoint_feeds_the_page_script(console: Console) -> None:
    browser = console.browser("alice")
    _launch(browser)
    (server_id,) = _ids(browser.get("/console/instances").text)
    moving = browser.get(f"/console/instances/states?id={server_id}").json()["servers"][0]
    assert moving["moving"] is True and moving["status"] == "Building"
    console.settle()
    settled = browser.get(f"/console/instances/states?id={server_id}&id=gone").json()["servers"]
    assert settled[0]["moving"] is False and settled[0]["status"] == "Active"
    assert settled[0]["code"] == "active"
    assert settled[1] == {"id": "gone", "gone": True, "moving": False}


def test_another_tenant_cannot_see_or_touch_the_instance(console: Console) -> None:
    alice = console.browser("alice")
    _launch(alice)
    (server_id,) = _ids(alice.get("/console/instances").text)
    bob = console.browser("bob")
    assert bob.get(f"/console/instances/{server_id}").status_code == 404
    html = bob.post("/console/instances/action", {"action": "terminate", "ids": server_id},
                    page="/console/instances", follow=True).text
    assert "could not be found" in html
    assert server_id in alice.get("/console/instances").text


def test_a_quota_error_comes_back_on_the_form(console: Console) -> None:
    status, html = _launch(console.browser("alice"), count="11")
    assert status == 403
    assert "Quota exceeded" in html and 'id="form-error"' in html
    assert 'value="11"' in html  # the form keeps what was typed


def test_no_valid_host_comes_back_on_the_form(small_console: Console) -> None:
    status, html = _launch(small_console.browser("alice"), flavor="m1.large")
    assert status == 409
    assert "No valid host" in html


def test_a_bad_count_is_refused_on_the_form(console: Console) -> None:
    status, html = _launch(console.browser("alice"), count="many")
    assert status == 422 and "count must be a whole number" in html
