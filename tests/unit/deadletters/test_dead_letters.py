"""Every refused input as one list: the admin's filter parsed from a form, and a property: for
any letters and any filter, the pages put together are exactly the matching letters, newest
first, and the total counts them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from sws.billing.payments import repository as payments
from sws.billing.payments.tables import billing_payment_dead_letters
from sws.db.engine import Database
from sws.deadletters import service as dead_letters
from sws.deadletters.model import (
    NOTIFICATION,
    PAYMENT,
    DeadLetter,
    DeadLetterFilter,
    parse_filter,
)
from sws.errors import Invalid
from sws.events import repository as events
from sws.events.tables import dead_letters as notification_letters
from tests.budget import examples

FIRST_DAY = datetime(2026, 3, 1, tzinfo=UTC)
SOURCES = ("rabbitmq", "import:march.jsonl:3", "sim")
PROVIDERS = ("stripe", "alipay", "test")


def test_a_form_with_nothing_filled_in_lets_everything_through() -> None:
    assert parse_filter(kind="", source=" ", since="", until="") == DeadLetterFilter()


def test_days_are_utc_days_with_both_ends_included() -> None:
    wanted = parse_filter(kind="payment", source="payment:", since="2026-03-01",
                          until="2026-03-02")

    assert wanted.kind == PAYMENT and wanted.source == "payment:"
    assert wanted.received_from == datetime(2026, 3, 1, tzinfo=UTC)
    assert wanted.received_before == datetime(2026, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize(("form", "field"), [
    ({"kind": "email"}, "kind"),
    ({"since": "2026-02-30"}, "since"),
    ({"until": "03/01/2026"}, "until"),
    ({"since": "2026-03-02", "until": "2026-03-01"}, "since"),
])
def test_a_bad_form_names_its_field(form: dict[str, str], field: str) -> None:
    values = {"kind": "", "source": "", "since": "", "until": "", **form}

    with pytest.raises(Invalid) as refused:
        parse_filter(**values)

    assert refused.value.field == field


def test_a_page_is_bounded(database: Database) -> None:
    for limit, offset in ((0, 0), (501, 0), (50, -1)):
        with pytest.raises(Invalid):
            dead_letters.list_page(db=database, limit=limit, offset=offset)


letters = st.lists(st.tuples(
    st.sampled_from((NOTIFICATION, PAYMENT)), st.integers(0, 2), st.integers(0, 3 * 86_399),
), max_size=12)
filters = st.builds(
    DeadLetterFilter,
    kind=st.sampled_from((None, NOTIFICATION, PAYMENT)),
    source=st.sampled_from(("", "payment:", "payment:a", "import:", "r", "%", "_")),
    since=st.sampled_from((None, date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3))),
    until=st.sampled_from((None, date(2026, 3, 1), date(2026, 3, 2))),
)


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(refused=letters, wanted=filters, size=st.integers(1, 5))
def test_the_pages_are_exactly_the_matching_letters_newest_first(
    database: Database, refused: list[tuple[str, int, int]], wanted: DeadLetterFilter,
    size: int,
) -> None:
    _store(database, refused)
    everything = dead_letters.list_page(db=database, limit=100).letters

    pages, offset = [], 0
    while batch := dead_letters.list_page(db=database, wanted=wanted, limit=size,
                                          offset=offset).letters:
        pages += batch
        offset += size

    assert [_key(d) for d in pages] == [_key(d) for d in everything if _matches(d, wanted)]
    assert dead_letters.list_page(db=database, wanted=wanted).total == len(pages)
    assert [d.received_at for d in everything] == sorted(
        (d.received_at for d in everything), reverse=True)


def _store(db: Database, refused: list[tuple[str, int, int]]) -> None:
    with db.begin() as conn:
        conn.execute(delete(notification_letters))
        conn.execute(delete(billing_payment_dead_letters))
        for kind, which, second in refused:
            at = FIRST_DAY + timedelta(seconds=second)
            if kind == NOTIFICATION:
                events.insert_dead_letters(conn, [{"received_at": at, "reason": "unparseable",
                                                   "raw": "{}", "source": SOURCES[which]}])
            else:
                payments.dead_letter(conn, PROVIDERS[which], "bad signature", b"{}", None, at)


def _matches(letter: DeadLetter, wanted: DeadLetterFilter) -> bool:
    day = letter.received_at.date()
    return ((wanted.kind is None or letter.kind == wanted.kind)
            and letter.source.startswith(wanted.source)
            and (wanted.since is None or day >= wanted.since)
            and (wanted.until is None or day <= wanted.until))


def _key(letter: DeadLetter) -> tuple[str, int]:
    return letter.kind, letter.id
