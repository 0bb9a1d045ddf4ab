"""Hourly usage of real Swift containers, read from the Redis the `sws_usage` proxy filter fills.

The proxies count requests, bytes in and bytes out per container and clock hour into
`{prefix}{hour}:{account}/{container}` hashes and list the containers of each hour in the set
`{prefix}{hour}` (`sws_swift.usage`). Swift keeps no history of stored bytes, so SWS samples each
container's size (`record_storage`, from a container listing) into the same hash as
`byte_samples` (the sum of the sampled sizes) and `samples` (how many); an hour's byte-seconds are
their mean times 3,600.

An hour is reported once it is `settle_seconds` past its end, so that every proxy has flushed
it; billing rates each hour once, later still (an hour after its end).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from sws.drivers.base import ContainerInfo, ContainerUsage
from sws_swift.resp import Arg, ProtocolError, Redis, Reply, raise_errors
from sws_swift.usage_keys import HOUR, add_to_hour, hour_key, hour_of, keep_hour, usage_key

FIELDS = ("requests", "bytes_in", "bytes_out", "byte_samples", "samples")


class SwiftUsage:
    """One region's Swift usage in Redis, in billing's `ContainerUsage` rows."""

    def __init__(
        self,
        *,
        redis: Redis,
        region: str,
        now: Callable[[], datetime],
        prefix: str = "swsusage:",
        account_prefix: str = "AUTH_",
        settle_seconds: int = 300,
    ) -> None:
        self.redis = redis
        self.region = region
        self.now = now
        self.prefix = prefix
        self.account_prefix = account_prefix
        self.settle_seconds = settle_seconds

    def usage(self, *, start: datetime, end: datetime) -> list[ContainerUsage]:
        """Rows for the settled hours starting in `[start, end)`: two round trips in all."""
        settled = int(self.now().timestamp()) - self.settle_seconds
        first = -(-int(start.timestamp()) // HOUR)
        last = min(-(-int(end.timestamp()) // HOUR), settled // HOUR)  # hours that have ended
        hours = range(first, last)
        if not hours:
            return []
        sets = [("SMEMBERS", hour_key(self.prefix, hour)) for hour in hours]
        listed = raise_errors(self.redis.pipeline(sets))
        slots = [
            (hour, name)
            for hour, members in zip(hours, listed, strict=True)
            for name in sorted(m.decode() for m in _list(members) if isinstance(m, bytes))
        ]
        if not slots:
            return []
        hashes = [("HMGET", usage_key(self.prefix, hour, name), *FIELDS) for hour, name in slots]
        replies = raise_errors(self.redis.pipeline(hashes))
        rows = (self._row(*slot, reply) for slot, reply in zip(slots, replies, strict=True))
        return [row for row in rows if row is not None]

    def record_storage(self, project_id: str, containers: Iterable[ContainerInfo]) -> None:
        """Add one sample of each container's size to the current hour (one round trip)."""
        hour = hour_of(self.now().timestamp())
        account = f"{self.account_prefix}{project_id}"
        commands: list[Sequence[Arg]] = []
        for container in containers:
            sample = {"byte_samples": container.bytes_used, "samples": 1}
            commands += add_to_hour(self.prefix, hour, f"{account}/{container.name}", sample)
        if commands:
            raise_errors(self.redis.pipeline([*commands, keep_hour(self.prefix, hour)]))

    def _row(self, hour: int, name: str, reply: Reply) -> ContainerUsage | None:
        """One container's hour; None for an account outside SWS's prefix."""
        account, _, container = name.partition("/")
        if not account.startswith(self.account_prefix) or not container:
            return None
        requests, bytes_in, bytes_out, byte_samples, samples = (
            int(v) if isinstance(v, bytes) else 0 for v in _list(reply)
        )
        return ContainerUsage(
            project_id=account.removeprefix(self.account_prefix),
            container=container,
            hour_start=datetime.fromtimestamp(hour * HOUR, UTC),
            byte_seconds=byte_samples * HOUR // samples if samples else 0,
            requests=requests,
            bytes_out=bytes_out,
            bytes_in=bytes_in,
            region=self.region,
        )


def _list(reply: Reply) -> list[Reply]:
    if not isinstance(reply, list):
        raise ProtocolError(f"Redis answered {reply!r:.80} where a list was expected")
    return reply
