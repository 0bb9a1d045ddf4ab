"""The ASGI guards on their own: which forwarded address is believed, and how much of an
oversized body is ever read."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from sws.web.guards import BodyLimit, BodyLimits, forwarded_client, networks

PROXIES = networks(["10.0.0.0/24", "fd00::/64"])
CHUNK = 65536


def test_forwarded_for_is_believed_only_from_a_trusted_peer() -> None:
    assert forwarded_client("127.0.0.1", "198.51.100.7", PROXIES) == "127.0.0.1"
    assert forwarded_client("10.0.0.5", "198.51.100.7", PROXIES) == "198.51.100.7"
    # Walks right to left past trusted hops; a client's own prefix is never reached.
    assert forwarded_client("10.0.0.5", "1.2.3.4, 198.51.100.7, 10.0.0.9", PROXIES) == (
        "198.51.100.7"
    )
    assert forwarded_client("fd00::1", "2001:db8::5", PROXIES) == "2001:db8::5"
    assert forwarded_client("10.0.0.5", "", PROXIES) == "10.0.0.5"
    assert forwarded_client("10.0.0.5", "not-an-ip", PROXIES) == "10.0.0.5"


class _Endless:
    """A client that would send 64 KiB chunks forever; counts what the server took."""

    def __init__(self) -> None:
        self.taken = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.taken += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def _reads_everything(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()  # as a JSON route would
    await PlainTextResponse(f"read {len(body)}")(scope, receive, send)


def test_an_endless_body_is_read_only_up_to_the_limit() -> None:
    client = _Endless()
    guard = BodyLimit(_reads_everything, limits=BodyLimits(default=4 * CHUNK, objects=8 * CHUNK))
    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/alarms", "headers": []}
    asyncio.run(guard(scope, client.receive, client.send))
    assert client.taken == 5  # four chunks fit, the fifth passes the limit: no sixth
    assert client.sent[0]["status"] == 413
    assert len([m for m in client.sent if m["type"] == "http.response.start"]) == 1
