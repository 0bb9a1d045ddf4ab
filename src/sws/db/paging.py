"""Keyset paging in SQL: a page is the rows past the marker row in a stable order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from sws.errors import SWSError
from sws.paging import PageRequest


def keyset(
    conn: Connection,
    query: Select[Any],
    *,
    order: Sequence[ColumnElement[Any]],
    request: PageRequest,
    marker: object | None = None,
    descending: bool = False,
) -> Select[Any]:
    """`query` in `order` (whose last column is the unique key the marker names), limited to
    one page after the marker. `marker` overrides `request.marker` where the key is not text.
    A marker that is not in the (filtered) list is a 400: paging never restarts silently."""
    value = request.marker if marker is None else marker
    if value is not None:
        found = conn.execute(query.with_only_columns(*order).where(order[-1] == value)).first()
        if found is None:
            raise SWSError(f"marker {request.marker!r} is not in this list", field="marker")
        past = tuple_(*order) < tuple_(*found) if descending else tuple_(*order) > tuple_(*found)
        query = query.where(past)
    ordering = [c.desc() for c in order] if descending else list(order)
    return query.order_by(None).order_by(*ordering).limit(request.limit)
