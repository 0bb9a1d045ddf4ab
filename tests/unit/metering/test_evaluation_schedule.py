"""The alarm evaluator's schedule: at the default interval, no one-minute window goes unseen."""

from __future__ import annotations

from datetime import timedelta

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.metering import alarms, service
from sws.metering.model import Sample, align
from sws.metering.notifiers import Notifiers, SmtpSettings
from sws.metering.runtime import MeteringRuntime

HOUR = 60
TICK = timedelta(seconds=3.7)  # a ticker's loop: its own pause plus each pass's work


def test_a_one_minute_alarm_sees_every_minute_it_flips_in(
    database: Database, clock: SimulatedClock
) -> None:
    start = clock.now()
    # cpu_util flips every minute, high and low, for an hour.
    service.ingest(db=database, clock=clock, samples=[
        Sample("srv", "proj", "cpu_util", "", start + timedelta(minutes=m, seconds=30),
               95.0 if m % 2 == 0 else 5.0)
        for m in range(HOUR)
    ])
    rule = {"type": "threshold", "resource_id": "srv", "meter": "cpu_util", "comparison": "gt",
            "threshold": 80.0, "granularity": 60}
    alarm = alarms.create_alarm(db=database, clock=clock, project_id="proj", name="flips",
                                rule=rule, actions={})
    runtime = MeteringRuntime(db=database, clock=clock, sources={},
                              notifiers=Notifiers(clock=clock, smtp=SmtpSettings()))
    clock.advance(timedelta(seconds=7))
    while clock.now() < start + timedelta(minutes=HOUR):
        runtime.evaluate()
        clock.advance(TICK)
    entries = alarms.history(db=database, project_id="proj", alarm_id=alarm.id)
    seen = sorted(align(entry.at, 60) for entry in entries)
    # Each evaluation judges the minute before it: a state change in every minute after the
    # first, from the first to the last, with none missing.
    every_minute = [start + timedelta(minutes=m) for m in range(1, HOUR)]
    assert seen == every_minute, f"{len(seen)} transitions; minutes missed: " + ", ".join(
        f"{m:%H:%M}" for m in sorted(set(every_minute) - set(seen)))
