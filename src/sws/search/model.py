"""The matching rule of global search, pure: case-insensitive substring on names, ids and IPs.

A query shorter than MIN_LENGTH characters (after trimming) finds nothing, so one letter does
not list every resource; a longer one than MAX_LENGTH is cut. Each kind shows at most
PER_KIND hits and says when there were more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
MIN_LENGTH = 2
MAX_LENGTH = 100
PER_KIND = 20
KINDS = ("instance", "floating_ip", "volume", "container", "load_balancer")


@dataclass(frozen=True, slots=True)
class Hit:
    kind: str  # one of KINDS
    id: str  # what the resource's page is addressed by (a container: its name)
    name: str
    matched: str  # the name, id or address that contains the query


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    hits: Sequence[Hit]
    more: bool  # there were more than PER_KIND


def needle(query: str) -> str | None:
    """The text to look for, lower-cased; None when the query is too short to search."""
    text = query.strip()[:MAX_LENGTH].lower()
    return text if len(text) >= MIN_LENGTH else None


def first_match(wanted: str, texts: Iterable[str | None]) -> str | None:
    """The first of `texts` that contains `wanted` (lower-case), case-insensitively."""
    return next((text for text in texts if text and wanted in text.lower()), None)


def find(
    kind: str, items: Iterable[T], wanted: str, *, ident: Callable[[T], str],
    name: Callable[[T], str], texts: Callable[[T], Iterable[str | None]],
) -> Found:
    """The items of one kind whose name, id or other `texts` contain `wanted`."""
    hits = []
    for item in items:
        matched = first_match(wanted, (name(item), ident(item), *texts(item)))
        if matched is not None:
            hits.append(Hit(kind, ident(item), name(item), matched))
    return Found(kind, hits[:PER_KIND], len(hits) > PER_KIND)
