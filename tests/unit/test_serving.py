"""`sws up` and `sws api` freeze the start-up heap, so full collections skip it, and drain
before they stop."""

from __future__ import annotations

import gc
import signal
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from sws.web import serving


class Node:
    """A cyclic structure, as routes, templates and the container hold many."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process's heap goes back to the collector afterwards."""
    try:
        yield
    finally:
        gc.unfreeze()


def test_objects_alive_at_start_up_are_no_longer_walked_by_the_collector(
    unfrozen: None,
) -> None:
    routes = [Node() for _ in range(20_000)]
    assert any(obj is routes for obj in gc.get_objects())
    frozen = serving.freeze_start_up_heap()
    assert frozen >= len(routes)
    assert not any(obj is routes for obj in gc.get_objects())


def test_garbage_is_collected_before_the_freeze_not_kept_for_the_process_life(
    unfrozen: None,
) -> None:
    gc.disable()  # no automatic collection in between: only the freeze's own may free it
    try:
        dropped = Node()
        gone = weakref.ref(dropped)
        del dropped  # unreachable, but a cycle: only the collector frees it
        assert gone() is not None
        serving.freeze_start_up_heap()
        assert gone() is None
    finally:
        gc.enable()


def test_serving_freezes_the_heap_before_uvicorn_runs(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def run(server: serving.DrainingServer, sockets: Any = None) -> None:
        seen.update(frozen=gc.get_freeze_count(), config=server.config)

    monkeypatch.setattr(serving.DrainingServer, "run", run)
    serving.serve(create_app_stub(), host="127.0.0.1", port=8080, log_format="text")
    assert seen["frozen"] > 0
    assert seen["config"].proxy_headers is False and seen["config"].port == 8080


def create_app_stub() -> FastAPI:
    app = FastAPI()
    app.state.draining = threading.Event()
    return app


def stopping(seconds: float) -> tuple[serving.DrainingServer, threading.Event]:
    draining = threading.Event()
    config = uvicorn.Config(create_app_stub())
    return serving.DrainingServer(config, draining, seconds), draining


def test_the_first_stop_signal_drains_then_stops() -> None:
    server, draining = stopping(0.3)
    server.handle_exit(signal.SIGTERM, None)
    assert draining.is_set() and not server.should_exit  # still serving, /healthz fails
    deadline = time.monotonic() + 10
    while not server.should_exit and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.should_exit


def test_a_second_signal_stops_at_once_and_no_drain_stops_at_once() -> None:
    server, draining = stopping(60)
    server.handle_exit(signal.SIGTERM, None)
    assert draining.is_set() and not server.should_exit
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    undrained, never = stopping(0)
    undrained.handle_exit(signal.SIGINT, None)
    assert undrained.should_exit and not never.is_set()
