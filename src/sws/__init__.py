"""SWS: the public-cloud layer an OpenStack operator adds on top of Nova, Neutron and Swift."""

from __future__ import annotations

import functools
from importlib import metadata


@functools.cache
def distribution() -> tuple[str, str]:
    """The installed distribution that ships the `sws` package, and its version.

    Both come from the package metadata that pyproject.toml's [project] table produces, so
    neither is written down a second time; from a bare source tree: ("sws", "0+unknown").
    """
    for dist in metadata.distributions():
        if "sws" in (dist.read_text("top_level.txt") or "").split():
            return str(dist.metadata["Name"]), str(dist.version)
    return "sws", "0+unknown"


def __getattr__(name: str) -> str:
    """`sws.__version__`, read from the metadata on first use (a scan of ~0.1 s)."""
    if name == "__version__":
        return distribution()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
