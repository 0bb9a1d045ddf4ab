"""The Redis layout of per-container usage: written by the `sws_usage` filter, read by SWS.

Standard library only, so SWS reads what the proxies write without importing Swift. The
layout is documented in `sws_swift.usage`.
"""

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
