"""The console-output contract on both drivers: Nova's os-getConsoleOutput and the simulated
region's boot log answer the same API, bounded and private to their project."""

from __future__ import annotations

from typing import Any

from .conftest import Contract, wait_for


def _output(cloud: Contract, server_id: str, lines: int, headers: dict[str, str]) -> Any:
    return cloud.client.get(f"/v1/servers/{server_id}/console-output?lines={lines}",
                            headers=headers)


def _has_lines(cloud: Contract, server_id: str, count: int) -> bool:
    cloud.settle()
    return len(_output(cloud, server_id, count, cloud.mine).json()["lines"]) == count


def test_console_output_is_the_tail_of_the_serial_log(cloud: Contract) -> None:
    server_id = str(cloud.boot("contract-console", "m1.small")["id"])
    # The simulated guest logs a whole boot. The test cloud's Nova runs the fake virt driver,
    # whose console output is always its three lines "FAKE CONSOLE OUTPUT", "ANOTHER",
    # "LAST LINE": the same contract, over a shorter log.
    tail = 2 if cloud.real else 5
    try:
        wait_for(lambda: _has_lines(cloud, server_id, tail), timeout=180 if cloud.real else 5,
                 what=f"{tail} lines of console output")
        body = _output(cloud, server_id, tail, cloud.mine).json()
        assert len(body["lines"]) == tail and body["truncated"] is True
        whole = _output(cloud, server_id, 10_000, cloud.mine).json()
        assert len(whole["lines"]) > tail and whole["truncated"] is False
        assert whole["lines"][-tail:] == body["lines"]
        if cloud.real:
            assert whole["lines"] == ["FAKE CONSOLE OUTPUT", "ANOTHER", "LAST LINE"]
        assert _output(cloud, server_id, 5, cloud.theirs).status_code == 404
        assert _output(cloud, server_id, 0, cloud.mine).status_code == 422
    finally:
        cloud.client.delete(f"/v1/servers/{server_id}", headers=cloud.mine)
