"""Hypothesis: rollups of random series, sealed and queried, equal a direct computation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.metering import model, service
from sws.metering.model import AGGREGATES, RESOLUTIONS, Sample, SeriesQuery
from tests.budget import examples
from tests.schema import migrate

T0 = datetime(2026, 1, 5, 22, 0, tzinfo=UTC)
SPAN = 4 * 3600  # crosses midnight, so days are split too

points = st.lists(
    st.tuples(st.integers(0, SPAN - 1), st.floats(-1e6, 1e6, allow_nan=False).map(round)),
    min_size=1, max_size=60, unique_by=lambda p: p[0],
)


def _direct(series: list[tuple[datetime, float]], seconds: int, name: str) -> dict[datetime, float]:
    windows: dict[datetime, list[tuple[datetime, float]]] = {}
    for at, value in series:
        windows.setdefault(model.align(at, seconds), []).append((at, value))
    pick = {
        "min": lambda w: min(v for _, v in w), "max": lambda w: max(v for _, v in w),
        "sum": lambda w: sum(v for _, v in w), "count": lambda w: float(len(w)),
        "mean": lambda w: sum(v for _, v in w) / len(w), "last": lambda w: max(w)[1],
    }[name]
    return {start: pick(window) for start, window in windows.items()}


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=points, sealed_fraction=st.floats(0, 1))
def test_rollups_equal_direct_computation_over_raw(
    tmp_path: Path, raw: list[tuple[int, float]], sealed_fraction: float
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    migrate(engine)
    db, clock = Database(engine), SimulatedClock(T0)
    series = [(T0 + timedelta(seconds=s), v) for s, v in raw]
    service.ingest(db=db, clock=clock, samples=[Sample("r", "p", "cpu_util", "", at, v)
                                               for at, v in series])
    clock.advance(timedelta(seconds=SPAN * sealed_fraction + 60))  # part sealed, part raw
    service.seal(db=db, clock=clock)
    for seconds in RESOLUTIONS:
        for name in AGGREGATES:
            request = SeriesQuery.build(T0, T0 + timedelta(seconds=SPAN), seconds, name)
            got = service.query(db=db, project_id="p", resource_id="r", meter="cpu_util",
                                request=request)
            expected = _direct(series, seconds, name)
            assert [at for at, _ in got.points] == sorted(expected)
            for at, value in got.points:
                assert abs(value - expected[at]) <= 1e-9 * max(1.0, abs(expected[at]))
    engine.dispose()
