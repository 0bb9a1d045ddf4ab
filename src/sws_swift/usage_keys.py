"""The Redis layout of per-container usage: written by the `sws_usage` filter, read by SWS.

Standard library only, so SWS reads what the proxies write without importing Swift. The
layout is documented in `sws_swift.usage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sws_swift.resp import Arg

HOUR = 3600
KEEP_SECONDS = 8 * 86400  # every key lives this long after its last write


def hour_of(epoch_seconds: float) -> int:
    """The hour index: hours since the epoch, UTC."""
    return int(epoch_seconds // HOUR)


def hour_key(prefix: str, hour: int) -> str:
    """The set of 'account/container' members with usage in `hour`."""
    return f"{prefix}{hour}"


def usage_key(prefix: str, hour: int, member: str) -> str:
    """The hash of one container's usage in `hour` (`member` is 'account/container')."""
    return f"{prefix}{hour}:{member}"


def add_to_hour(
    prefix: str, hour: int, member: str, counts: Mapping[str, int]
) -> list[Sequence[Arg]]:
    """Commands adding `counts` to one container's hash for `hour`, listing the container in
    the hour's set and renewing the hash's expiry (the set's: `keep_hour`)."""
    key = usage_key(prefix, hour, member)
    return [
        *(("HINCRBY", key, field, value) for field, value in counts.items()),
        ("SADD", hour_key(prefix, hour), member),
        ("EXPIRE", key, KEEP_SECONDS),
    ]


def keep_hour(prefix: str, hour: int) -> Sequence[Arg]:
    """The command renewing the expiry of the hour's set."""
    return ("EXPIRE", hour_key(prefix, hour), KEEP_SECONDS)
