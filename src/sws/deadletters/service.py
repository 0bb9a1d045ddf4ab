"""Dead-letter use cases: a filtered page of every refused input, and how many there are."""

from __future__ import annotations

from sws.db.engine import Database
from sws.deadletters import repository as repo
from sws.deadletters.model import DeadLetterFilter, DeadLetterPage
from sws.errors import Invalid

MAX_PAGE = 500
EVERYTHING = DeadLetterFilter()


def list_page(
    *, db: Database, wanted: DeadLetterFilter = EVERYTHING, limit: int = 50, offset: int = 0
) -> DeadLetterPage:
    """The letters `wanted` lets through, newest first, `limit` of them from `offset`, and
    how many match in all."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise Invalid(f"limit must be 1-{MAX_PAGE} and offset zero or more", field="limit")
    with db.read() as conn:
        return DeadLetterPage(letters=repo.page(conn, wanted, limit, offset),
                              total=repo.count(conn, wanted))


def count(*, db: Database) -> int:
    """Every letter kept, of every source."""
    with db.read() as conn:
        return repo.count(conn, EVERYTHING)
