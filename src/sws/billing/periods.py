"""Clock-aligned billing periods in a tenant's time zone: hours, days, months, anniversaries.

Periods are half-open `[start, end)`. Inputs and outputs are aware UTC; alignment happens in
the tenant's billing time zone, so a day is a local calendar day (23 or 25 hours across a DST
change) and an hour starts when the local clock shows `:00` (a +05:30 zone's hours start at
`:30` UTC).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sws.errors import Invalid

HOUR = timedelta(hours=1)
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def hour_start(moment: datetime, tz: ZoneInfo) -> datetime:
    """The start of the local clock hour holding `moment`."""
    local = moment.astimezone(tz)
    return moment - timedelta(
        minutes=local.minute, seconds=local.second, microseconds=local.microsecond
    )


def day_start(moment: datetime, tz: ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(UTC)


def next_day(start: datetime, tz: ZoneInfo) -> datetime:
    following = start.astimezone(tz).date() + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(UTC)


def month_key(moment: datetime, tz: ZoneInfo) -> str:
    """The calendar month ("YYYY-MM") `moment` falls in, in the tenant's time zone."""
    local = moment.astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


def parse_month(text: str) -> tuple[int, int]:
    """(year, month) of a "YYYY-MM" string, or Invalid naming the field `month`."""
    match = MONTH_PATTERN.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise Invalid(f"{text!r} is not a month; use YYYY-MM, e.g. 2026-03", field="month")
    return int(match.group(1)), int(match.group(2))


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """`[start, end)` of a calendar month in the tenant's time zone, as UTC."""
    year, number = parse_month(month)
    following = (year + number // 12, number % 12 + 1)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(following[0], following[1], 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def next_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def anniversary(anchor: datetime, months: int, tz: ZoneInfo) -> datetime:
    """`anchor` moved `months` calendar months on, its day clamped to the month's end.

    Always computed from the anchor, never from the previous renewal: Jan 31 renews on
    Feb 29 (or 28), then Mar 31, Apr 30.
    """
    local = anchor.astimezone(tz)
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    moved = local.replace(tzinfo=None).replace(year=year, month=month + 1, day=day)
    return moved.replace(tzinfo=tz).astimezone(UTC)


def anniversary_period(
    anchor: datetime, moment: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """The monthly period, renewing on `anchor`'s anniversary, that holds `moment`."""
    local, start = moment.astimezone(tz), anchor.astimezone(tz)
    months = max(0, (local.year - start.year) * 12 + local.month - start.month - 1)
    while anniversary(anchor, months + 1, tz) <= moment:
        months += 1
    return anniversary(anchor, months, tz), anniversary(anchor, months + 1, tz)
