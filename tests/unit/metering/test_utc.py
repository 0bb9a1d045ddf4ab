"""On a machine whose local zone is UTC+8, `sws metrics` imports and answers in UTC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sws.metering.model import align


def _sws(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TZ": "Asia/Shanghai", "SWS_HOME": str(home)}
    env.pop("SWS_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", "from sws.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_a_utc_query_reads_utc_where_local_time_is_utc_plus_8(tmp_path: Path) -> None:
    hour = align(datetime.now(UTC) - timedelta(hours=3), 3600)
    lines = [
        json.dumps({"resource_id": "vm-1", "project_id": "p", "meter": "cpu_util", "unit": "%",
                    "type": "gauge", "value": minute,
                    "timestamp": (hour + timedelta(minutes=minute)).isoformat()})
        for minute in range(60)
    ]
    data = tmp_path / "samples.jsonl"
    data.write_text("\n".join(lines) + "\n")
    imported = _sws(tmp_path, "metrics", "import", str(data))
    assert "accepted 60" in imported.stdout, imported.stdout + imported.stderr
    start = hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    in_shanghai = (hour + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    for given in (start, in_shanghai):
        end = (hour + timedelta(hours=1)).isoformat()
        answer = _sws(tmp_path, "metrics", "query", "vm-1", "cpu_util", "--from", given,
                      "--to", end, "--granularity", "1h", "--aggregate", "count", "--json")
        assert answer.returncode == 0, answer.stdout + answer.stderr
        points = json.loads(answer.stdout)["points"]
        assert points == [{"timestamp": hour.isoformat(), "value": 60.0}]
