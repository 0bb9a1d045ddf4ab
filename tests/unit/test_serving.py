"""`sws up` and `sws api` freeze the start-up heap, so full collections skip it."""

from __future__ import annotations

import gc
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
    dropped = Node()
    gone = weakref.ref(dropped)
    del dropped  # unreachable, but a cycle: only the collector frees it
    serving.freeze_start_up_heap()
    assert gone() is None


def test_serving_freezes_the_heap_before_uvicorn_runs(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def run(app: FastAPI, **options: Any) -> None:
        seen.update(options, frozen=gc.get_freeze_count())

    monkeypatch.setattr(uvicorn, "run", run)
    serving.serve(FastAPI(), host="127.0.0.1", port=8080, log_format="text")
    assert seen["frozen"] > 0
    assert seen["proxy_headers"] is False and seen["port"] == 8080
