"""Connect and System Log on the instance page: a single-use token opens the simulated shell."""

from __future__ import annotations

import re

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.unit.console.conftest import Browser, Console
from tests.unit.console.test_instances import _ids, _launch

TOKEN = re.compile(r'data-socket="([^"]+)"')


def _running(console: Console, browser: Browser, name: str = "web-1") -> str:
    status, _ = _launch(browser, name=name)
    assert status == 200
    console.settle()
    (server_id,) = _ids(browser.get("/console/instances").text)
    return server_id


def _socket_path(browser: Browser, server_id: str) -> str:
    page = f"/console/instances/{server_id}"
    response = browser.post(f"{page}/connect", page=page)
    assert response.status_code == 200, response.text
    found = TOKEN.search(response.text)
    assert found, "no console socket on the page"
    return found.group(1).replace("&amp;", "&")


def test_connect_opens_a_shell_that_knows_the_instance(console: Console) -> None:
    browser = console.browser("alice")
    server_id = _running(console, browser, "shop-db")
    with browser.client.websocket_connect(_socket_path(browser, server_id)) as socket:
        assert "simulated" in socket.receive_text()
        socket.send_text("hostname\r")
        assert socket.receive_text() == "hostname\r\nshop-db\r\nroot@shop-db:~# "


def test_a_console_token_opens_one_socket_only(console: Console) -> None:
    browser = console.browser("alice")
    server_id = _running(console, browser)
    path = _socket_path(browser, server_id)
    with browser.client.websocket_connect(path) as socket:
        socket.receive_text()
    with pytest.raises(WebSocketDisconnect) as refused, browser.client.websocket_connect(path):
        pass
    assert refused.value.code == 4403


def test_a_token_opens_only_its_own_instance_and_a_made_up_one_nothing(console: Console) -> None:
    browser = console.browser("alice")
    first = _running(console, browser, "web-1")
    path = _socket_path(browser, first)
    for wrong in (path.replace(first, "0" * 36), f"/console/instances/{first}/serial?token=x"):
        with pytest.raises(WebSocketDisconnect), browser.client.websocket_connect(wrong):
            pass
    with pytest.raises(WebSocketDisconnect), browser.client.websocket_connect(path):
        pass  # shown at the wrong instance, the token was spent


def test_another_tenant_cannot_open_a_console_on_my_instance(console: Console) -> None:
    server_id = _running(console, console.browser("alice"))
    bob = console.browser("bob")
    page = "/console/instances"
    response = bob.post(f"/console/instances/{server_id}/connect", page=page)
    assert response.status_code == 404
    assert "data-socket" not in response.text


def test_a_stopped_instance_has_no_console_button_to_press(console: Console) -> None:
    browser = console.browser("alice")
    server_id = _running(console, browser)
    browser.post("/console/instances/action", {"action": "stop", "ids": server_id},
                 page="/console/instances")
    console.settle()
    html = browser.get(f"/console/instances/{server_id}").text
    assert re.search(r'<button type="submit" class="primary" disabled[^>]*>Open console', html)
    assert re.search(r'value="start">Start', html) and re.search(r'value="stop" disabled', html)
    page = f"/console/instances/{server_id}"
    assert browser.post(f"{page}/connect", page=page).status_code == 409


def test_the_instance_page_shows_the_system_log_tail_and_the_full_log(console: Console) -> None:
    browser = console.browser("alice")
    server_id = _running(console, browser, "web-7")
    html = browser.get(f"/console/instances/{server_id}").text
    assert "web-7 login:" in html and "SSH HOST KEY FINGERPRINTS" in html
    assert "Linux version" not in html  # the kernel's first lines are above the tail
    assert f'href="/console/instances/{server_id}/log"' in html
    full = browser.get(f"/console/instances/{server_id}/log").text
    assert "Linux version" in full and "web-7 login:" in full


def test_a_console_token_expires_and_only_its_hash_is_kept() -> None:
    from datetime import UTC, datetime, timedelta

    from sws.clock import SimulatedClock
    from sws.web.console.terminal import TOKEN_SECONDS, ConsoleTokens

    clock = SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))
    tokens = ConsoleTokens(clock)
    late = tokens.mint(tenant_id="t", region="r", server_id="s")
    fresh = tokens.mint(tenant_id="t", region="r", server_id="s")
    assert late not in repr(vars(tokens)) and fresh not in repr(vars(tokens))
    clock.advance(timedelta(seconds=TOKEN_SECONDS - 1))
    grant = tokens.take(fresh, "s")
    assert grant is not None and (grant.tenant_id, grant.region) == ("t", "r")
    clock.advance(timedelta(seconds=2))
    assert tokens.take(late, "s") is None
