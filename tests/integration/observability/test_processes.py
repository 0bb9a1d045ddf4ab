"""Real SWS processes: JSON log lines follow a request id from the API to `sws worker mail`,
a worker's --metrics-port answers /metrics, /healthz and /readyz, and `sws api` told to stop
drains before it stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.loadbalancer.backends import free_port

SWS = str(Path(sys.executable).parent / "sws")
REQUEST_ID = "signup-trace-0001"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items()
              if not k.startswith("SWS_") or k == "SWS_CHROMIUM"}
    values.update(SWS_HOME=str(tmp_path), SWS_DEMO_DATA="false", SWS_SIGNUP="open",
                  SWS_LOG_FORMAT="json")
    return values


def get(url: str, headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None) -> tuple[int, dict[str, str], str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={
        **(headers or {}), **({"Content-Type": "application/json"} if data else {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, _lower(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), error.read().decode()


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def wait_for(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def started(env: dict[str, str]) -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)


def start(started: list[subprocess.Popen[str]], env: dict[str, str],
          *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([SWS, *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started.append(process)
    return process


def stop(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """SIGTERM, then the process's log: one JSON object a line (anything else fails)."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_a_request_id_follows_a_sign_up_from_the_api_to_the_mail_worker(
    env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    api = start(started, env, "api", "--host", "127.0.0.1", "--port", str(port))
    wait_for(f"http://127.0.0.1:{port}/healthz", api)
    status, headers, _ = get(
        f"http://127.0.0.1:{port}/v1/signup", {"X-Request-Id": REQUEST_ID},
        {"email": "ann@example.com", "password": "a long passphrase 9", "tenant_name": "Ann"})
    assert status == 202 and headers["x-request-id"] == REQUEST_ID
    api_lines = stop(api)
    (access,) = [line for line in api_lines if line["request_id"] == REQUEST_ID]
    assert access["logger"] == "sws.http" and access["message"].startswith("POST /v1/signup 202")

    mail = subprocess.run([SWS, "worker", "mail", "--once"], env=env, text=True,
                          capture_output=True, timeout=300, check=True)
    worker_lines = [json.loads(line) for line in mail.stderr.splitlines() if line.strip()]
    sent = [line for line in worker_lines if line["message"].startswith("mail ")]
    assert [(line["logger"], line["request_id"]) for line in sent] == [("sws.mail", REQUEST_ID)]
    assert len(list((Path(env["SWS_HOME"]) / "outbox").glob("*.eml"))) == 1


def test_a_worker_serves_its_metrics_health_and_readiness(
    env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    worker = start(started, env, "worker", "mail", "--metrics-port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", worker)
    assert json.loads(get(f"{base}/healthz")[2])["role"] == "mail"
    ready = get(f"{base}/readyz")
    assert ready[0] == 200 and json.loads(ready[2])["checks"] == {"database": "ok"}
    status, headers, text = get(f"{base}/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'sws_up{role="mail"} 1.0' in text and "sws_farmer_lag_seconds 0.0" in text
    assert get(f"{base}/nothing")[0] == 404
    assert all(line["request_id"] is None for line in stop(worker))


def test_the_api_told_to_stop_fails_its_health_check_while_it_still_serves(
    env: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    """A load balancer takes the process out of its pool before it closes its connections."""
    port = free_port()
    api = start(started, {**env, "SWS_API_DRAIN_SECONDS": "4"},
                "api", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", api)
    assert get(f"{base}/healthz")[0] == 200
    api.send_signal(signal.SIGTERM)
    told = time.monotonic()
    deadline = told + 3
    while get(f"{base}/healthz")[0] == 200:  # the signal is handled between requests
        assert time.monotonic() < deadline, "/healthz still answers 200"
        time.sleep(0.05)
    status, _, body = get(f"{base}/healthz")
    assert status == 503 and json.loads(body)["status"] == "draining"
    assert get(f"{base}/readyz")[0] == 200  # requests are still answered meanwhile
    assert api.wait(timeout=60) == -signal.SIGTERM  # uvicorn ends as the signal asks, once stopped
    assert time.monotonic() - told >= 3.5  # it drained before stopping
    lines = [json.loads(line) for line in api.communicate()[1].splitlines() if line.strip()]
    assert any(line["message"].startswith("draining for 4.0 s") and line["request_id"] is None
               for line in lines)
