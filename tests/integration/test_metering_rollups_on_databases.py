"""Rollups computed in SQL equal a direct computation over the raw samples, on each engine.

The rollup SQL differs between SQLite and PostgreSQL (and PostgreSQL loads raw points with
COPY, falling back to INSERT for duplicates), so the property runs on both, with late
samples and duplicates of already-stored points arriving after a partial seal.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.migrate import upgrade
from sws.metering import service
from sws.metering.model import AGGREGATES, RESOLUTIONS, Sample, SeriesQuery
from tests.budget import examples
from tests.servicedb import postgres_database
from tests.unit.metering.test_properties import SPAN, T0, _direct, points

late_points = st.lists(
    st.tuples(st.integers(0, SPAN - 1), st.floats(-1e6, 1e6, allow_nan=False).map(round)),
    max_size=10,
    unique_by=lambda point: point[0],
)


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/metering.db"


ENGINES = {"sqlite": sqlite_database, "postgresql": postgres_database}


def _samples(series: list[tuple[datetime, float]]) -> list[Sample]:
    return [Sample("r", "p", "cpu_util", "", at, value) for at, value in series]


def _check_every_rollup(db: Database, series: list[tuple[datetime, float]]) -> None:
    for seconds in RESOLUTIONS:
        for name in AGGREGATES:
            request = SeriesQuery.build(T0, T0 + timedelta(seconds=SPAN), seconds, name)
            got = service.query(
                db=db, project_id="p", resource_id="r", meter="cpu_util", request=request
            )
            expected = _direct(series, seconds, name)
            assert [at for at, _ in got.points] == sorted(expected)
            for at, value in got.points:
                assert value == pytest.approx(expected[at], rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=points, sealed_fraction=st.floats(0, 1), late=late_points)
def test_rollups_equal_direct_computation(
    engine_name: str,
    raw: list[tuple[int, float]],
    sealed_fraction: float,
    late: list[tuple[int, float]],
) -> None:
    with ENGINES[engine_name]() as url:
        engine = make_engine(url)
        upgrade(engine)
        db, clock = Database(engine), SimulatedClock(T0)
        series = [(T0 + timedelta(seconds=s), v) for s, v in raw]
        service.ingest(db=db, clock=clock, samples=_samples(series))
        clock.advance(timedelta(seconds=SPAN * sealed_fraction + 60))
        service.seal(db=db, clock=clock)
        stored = {at for at, _ in series}
        extra = [(T0 + timedelta(seconds=s), v) for s, v in late]
        service.ingest(db=db, clock=clock, samples=_samples(extra))  # some repeat stored points
        series += [(at, v) for at, v in extra if at not in stored]
        service.seal(db=db, clock=clock)
        _check_every_rollup(db, series)
        engine.dispose()
