"""Where the shared notification samples live, and helpers to read them in tests.

The samples sit beside the repository (`../shared/samples`). Outside CI a missing directory
skips the tests that need it; with CI=true it fails them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

SAMPLES = (Path(__file__).resolve().parents[3] / ".." / "shared" / "samples").resolve()
LIFECYCLE = SAMPLES / "nova" / "captured-lifecycle"
LIFECYCLE_JSONL = LIFECYCLE / "all.jsonl"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MISSING = "samples-directory-missing"


def require_samples() -> None:
    """Skip (or, in CI, fail) when the shared samples are not there."""
    if SAMPLES.is_dir():
        return
    reason = f"notification samples not found at {SAMPLES}"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def translatable_files() -> list[str]:
    """Self-contained sample files, relative to SAMPLES (nova/raw uses $ref and is excluded)."""
    if not SAMPLES.is_dir():
        return [MISSING]
    patterns = ("nova/resolved/*.json", "nova/captured-lifecycle/*.json", "neutron/*.json")
    found = [path for pattern in (*patterns, "octavia/*.json") for path in SAMPLES.glob(pattern)]
    return sorted(str(path.relative_to(SAMPLES)) for path in found)


def raw_nova_files() -> list[str]:
    if not SAMPLES.is_dir():
        return [MISSING]
    return sorted(path.name for path in (SAMPLES / "nova" / "raw").glob("*.json"))


def lifecycle_lines() -> list[str]:
    """The captured lifecycle, one inner oslo message per line, in capture order."""
    require_samples()
    return [line for line in LIFECYCLE_JSONL.read_text().splitlines() if line.strip()]


def lifecycle_line_numbers() -> list[int]:
    if not LIFECYCLE_JSONL.is_file():
        return [0]
    return list(range(1, len(LIFECYCLE_JSONL.read_text().splitlines()) + 1))


def load(relative: str) -> dict[str, Any]:
    require_samples()
    message: dict[str, Any] = json.loads((SAMPLES / relative).read_text())
    return message


def envelope(message: dict[str, Any]) -> dict[str, str]:
    """Wrap an inner message the way oslo.messaging puts it on the wire."""
    return {"oslo.version": "2.0", "oslo.message": json.dumps(message)}
