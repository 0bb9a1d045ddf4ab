"""Connect: a browser console to an instance (the simulated serial shell, or Nova's noVNC)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from sws.bootstrap import Container
from sws.drivers.simulated.console import ConsoleSubject, SimulatedShell
from sws.errors import NotFound, SWSError
from sws.web.console.context import Session, Tenant, TenantPost
from sws.web.console.render import SECURITY_HEADERS, page
from sws.web.console.routing import ConsoleRoute
from sws.web.console.terminal import ConsoleGrant, ConsoleTokens, is_internal_url

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
IDLE_SECONDS = 15 * 60
LOG_TAIL = 30  # lines of the system log on the instance page
FULL_LOG = 10_000  # lines of "view full log"
#: xterm.js sizes its rows with a style element, which the console's usual policy forbids.
TERMINAL_CSP = SECURITY_HEADERS["Content-Security-Policy"].replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def tokens(request: Request | WebSocket) -> ConsoleTokens:
    found = request.app.state.console_tokens
    assert isinstance(found, ConsoleTokens)
    return found


@router.post("/instances/{server_id}/connect")
def connect(s: TenantPost, server_id: str) -> Response:
    """Open a console: the simulated region's serial shell, or the URL Nova hands out."""
    server = s.driver.get_server(s.tenant_id, server_id)
    remote = s.driver.remote_console(s.tenant_id, server.id)
    if remote.url is not None:
        shown = None if is_internal_url(remote.url) else remote.url
        return page(s, "terminal.html", server=server, url=shown, token=None)
    token = tokens(s.request).mint(tenant_id=s.tenant_id, region=s.region, server_id=server.id)
    response = page(s, "terminal.html", server=server, url=None, token=token)
    response.headers["Content-Security-Policy"] = TERMINAL_CSP
    return response


@dataclass(frozen=True, slots=True)
class SystemLog:
    """The tail of an instance's console output, as the instance page shows it."""

    lines: list[str]
    truncated: bool


def system_log(s: Session, server_id: str, length: int) -> SystemLog | None:
    """The last `length` lines, or None when the region cannot read this console now."""
    try:
        found = list(s.driver.console_output(s.tenant_id, server_id, length + 1))
    except SWSError:
        return None
    return SystemLog(lines=found[-length:], truncated=len(found) > length)


@router.get("/instances/{server_id}/log")
def full_log(s: Tenant, server_id: str) -> Response:
    """View full log: the whole console output (up to FULL_LOG lines), as plain lines."""
    server = s.driver.get_server(s.tenant_id, server_id)
    return page(s, "system_log.html", server=server, log=system_log(s, server.id, FULL_LOG))


def _subject(container: Container, grant: ConsoleGrant) -> ConsoleSubject:
    driver = container.driver(grant.region)
    server = driver.get_server(grant.tenant_id, grant.server_id)
    driver.remote_console(grant.tenant_id, grant.server_id)  # refuses a stopped instance
    try:
        image = driver.get_image(grant.tenant_id, server.image_id).name
    except NotFound:
        image = "linux"
    return ConsoleSubject(server, image)


SOCKET_PATH = "/console/instances/{server_id}/serial"


async def serial(websocket: WebSocket) -> None:
    """The simulated serial console: a valid token once, then keys in and screen out.

    A plain Starlette route (see `install`): the app's request-only dependencies do not apply.
    """
    server_id = str(websocket.path_params["server_id"])
    grant = tokens(websocket).take(websocket.query_params.get("token", ""), server_id)
    if grant is None:
        await websocket.close(code=4403, reason="console token unknown, used or expired")
        return
    container = websocket.app.state.container
    try:
        subject = await run_in_threadpool(_subject, container, grant)
    except SWSError:  # a stopped or deleted instance has no console
        await websocket.close(code=4409, reason="the instance's console is not available")
        return
    shell = SimulatedShell(subject, container.clock.now())
    await websocket.accept()
    await websocket.send_text(shell.banner() + shell.prompt)
    await _session(websocket, shell)


async def _session(websocket: WebSocket, shell: SimulatedShell) -> None:
    try:
        while not shell.closed:
            keys = await asyncio.wait_for(websocket.receive_text(), timeout=IDLE_SECONDS)
            shown = shell.feed(keys[:4096])
            if shown:
                await websocket.send_text(shown)
    except WebSocketDisconnect:
        return
    except TimeoutError:
        await websocket.send_text("\r\nIdle for too long: the console is closed.\r\n")
    await websocket.close(code=1000)
