"""Pages of a list: at most `limit` items after the `marker` (the key of the last item seen).

Every SWS list pages the same way. A repository pages in SQL (`sws.db.paging.keyset`); a list
that comes whole from a cloud driver or a small table is paged here, in key order."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sws.errors import SWSError

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a caller asked for: `limit` items after `marker` (None: from the first)."""

    limit: int = DEFAULT_LIMIT
    marker: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise SWSError(f"limit must be 1 to {MAX_LIMIT}", field="limit")


def window(items: Iterable[T], key: Callable[[T], str], request: PageRequest) -> list[T]:
    """The page of `items` sorted by `key`: those whose key is past the marker, at most limit."""
    ordered = sorted(items, key=key)
    if request.marker is not None:
        marker = request.marker
        ordered = [item for item in ordered if key(item) > marker]
    return ordered[: request.limit]


def next_marker(items: Sequence[T], key: Callable[[T], str], limit: int) -> str | None:
    """The marker of the following page, or None when this page was the last (a short one)."""
    return key(items[-1]) if items and len(items) >= limit else None


def int_marker(request: PageRequest) -> int | None:
    """The marker of a list keyed by integer ids; a marker that is not one is a 400."""
    if request.marker is None:
        return None
    if re.fullmatch(r"[0-9]{1,18}", request.marker) is None:
        raise SWSError(f"marker {request.marker!r} is not an id of this list", field="marker")
    return int(request.marker)
