"""The console-output contract on both drivers: Nova's os-getConsoleOutput and the simulated
region's boot log answer the same API, bounded and private to their project."""

from __future__ import annotations

from typing import Any

from .conftest import Contract, wait_for


def _output(cloud: Contract, server_id: str, lines: int, headers: dict[str, str]) -> Any:
    return cloud.client.get(f"/v1/servers/{server_id}/console-output?lines={lines}",
                            headers=headers)


def _has_five_lines(cloud: Contract, server_id: str) -> bool:
    cloud.settle()
    return len(_output(cloud, server_id, 5, cloud.mine).json()["lines"]) == 5


def test_console_output_is_the_tail_of_the_serial_log(cloud: Contract) -> None:
    server_id = str(cloud.boot("contract-console", "m1.small")["id"])
    try:
        # A real guest writes its log while it boots: wait until some of it is there.
        wait_for(lambda: _has_five_lines(cloud, server_id), timeout=180 if cloud.real else 5,
                 what="five lines of console output")
        body = _output(cloud, server_id, 5, cloud.mine).json()
        assert len(body["lines"]) == 5 and body["truncated"] is True
        whole = _output(cloud, server_id, 10_000, cloud.mine).json()
        assert len(whole["lines"]) > 5 and whole["truncated"] is False
        assert _output(cloud, server_id, 5, cloud.theirs).status_code == 404
        assert _output(cloud, server_id, 0, cloud.mine).status_code == 422
    finally:
        cloud.client.delete(f"/v1/servers/{server_id}", headers=cloud.mine)
