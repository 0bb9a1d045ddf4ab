"""Worked examples of the pure metering rules: aggregates, counters, windows, alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sws.drivers.base import CounterReading, Flavor, InstanceReading
from sws.errors import Invalid, SWSError
from sws.metering import model
from sws.metering.model import Aggregate, SeriesQuery, ThresholdRule

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _window(values: list[float]) -> Aggregate:
    buckets = model.rollup(((_at(i / 10), v) for i, v in enumerate(values)), 60)
    (only,) = buckets.values()
    return only


def test_max_of_5_3_4_is_5_and_min_of_3_5_4_is_3() -> None:
    assert _window([5, 3, 4]).value("max") == 5
    assert _window([3, 5, 4]).value("min") == 3


def test_mean_sum_count_last_of_one_window() -> None:
    window = _window([2, 4, 9])
    assert (window.value("mean"), window.value("sum"), window.value("count")) == (5, 15, 3)
    assert window.value("last") == 9


def test_counter_reset_sequence_gives_none_500_300_500() -> None:
    readings = [1000, 1500, 300, 800]  # a reboot between 1500 and 300
    deltas, previous = [], None
    for value in readings:
        deltas.append(model.counter_delta(previous, value))
        previous = value
    assert deltas == [None, 500, 300, 500]
    assert all(d is None or d >= 0 for d in deltas)


def test_samples_at_10_03_10_06_10_09_fall_in_windows_10_00_and_10_05() -> None:
    points = [(_at(3), 1.0), (_at(6), 2.0), (_at(9), 3.0)]
    buckets = model.rollup(points, 300)
    assert sorted(buckets) == [_at(0), _at(5)]
    assert buckets[_at(0)].count == 1 and buckets[_at(5)].count == 2


def test_a_sample_on_a_window_boundary_counts_in_one_window_only() -> None:
    buckets = model.rollup([(_at(5), 7.0)], 300)
    assert list(buckets) == [_at(5)]  # [10:05, 10:10), not [10:00, 10:05)
    assert sum(b.count for b in buckets.values()) == 1


def test_days_align_to_utc_midnight_and_hours_to_the_hour() -> None:
    moment = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    assert model.align(moment, 86400) == datetime(2026, 3, 2, tzinfo=UTC)
    assert model.align(moment, 3600) == datetime(2026, 3, 2, 23, tzinfo=UTC)


def test_cpu_util_accounts_for_the_vcpu_count() -> None:
    one_cpu_busy_for_10s = 10e9
    assert model.cpu_util(one_cpu_busy_for_10s, 10, vcpus=1) == 100
    assert model.cpu_util(one_cpu_busy_for_10s, 10, vcpus=4) == 25


def _reading(at: datetime, cpu: float, tx: float, vcpus: int = 2) -> InstanceReading:
    flavor = Flavor("f", "m1.small", vcpus, 2048, 20)
    return InstanceReading(
        "srv", "proj", flavor, at, True,
        (CounterReading("cpu", cpu), CounterReading("network.outgoing.bytes", tx, "tap0")),
        (CounterReading("vcpus", float(vcpus)),),
    )


def test_derive_gives_a_baseline_then_deltas_rates_and_per_device_breakdown() -> None:
    cursors: dict[tuple[str, str, str], model.Cursor] = {}
    first = model.derive(_reading(T0, 0, 1000), cursors)
    assert {(s.meter, s.device) for s in first} == {("vcpus", "")}  # counters: baseline only
    second = model.derive(_reading(T0 + timedelta(seconds=10), 10e9, 6000), cursors)
    by_key = {(s.meter, s.device): s.value for s in second}
    assert by_key[("cpu", "")] == 10e9
    assert by_key[("cpu_util", "")] == 50  # one of two vCPUs busy
    assert by_key[("network.outgoing.bytes", "tap0")] == 5000
    assert by_key[("network.outgoing.bytes", "")] == 5000
    assert by_key[("network.outgoing.bytes.rate", "")] == 500


def test_derive_after_a_reboot_counts_from_zero_never_negative() -> None:
    cursors: dict[tuple[str, str, str], model.Cursor] = {}
    model.derive(_reading(T0, 5e9, 1500), cursors)
    after = model.derive(_reading(T0 + timedelta(seconds=10), 1e9, 300), cursors)
    by_key = {(s.meter, s.device): s.value for s in after}
    assert by_key[("network.outgoing.bytes", "")] == 300
    assert by_key[("cpu", "")] == 1e9


def test_query_validation_names_the_field() -> None:
    with pytest.raises(Invalid) as late:
        SeriesQuery.build(_at(10), _at(0), 60, "mean")
    assert late.value.field == "from"
    with pytest.raises(Invalid) as odd:
        SeriesQuery.build(_at(0), _at(10), 7, "mean")
    assert odd.value.field == "granularity"
    with pytest.raises(Invalid) as agg:
        SeriesQuery.build(_at(0), _at(10), 60, "median")
    assert agg.value.field == "aggregate"
    with pytest.raises(Invalid) as unknown:
        model.meter("cpu.bogus")
    assert unknown.value.field == "meter"


def test_a_range_too_large_is_refused_with_400_not_truncated() -> None:
    with pytest.raises(SWSError) as error:
        SeriesQuery.build(T0, T0 + timedelta(days=30), 60, "mean")
    assert error.value.status == 400 and "43200 points" in error.value.detail
    assert SeriesQuery.build(T0, T0 + timedelta(days=30), 300, "mean").granularity == 300


def test_sources_are_the_rollups_that_divide_the_granularity_coarsest_first() -> None:
    assert model.sources_for(3600) == [3600, 300, 60, 0]
    assert model.sources_for(60) == [60, 0]


# ---- alarms ---------------------------------------------------------------------------------


def _rule(periods: int = 3) -> ThresholdRule:
    return ThresholdRule("srv", "cpu_util", "gt", 80.0, evaluation_periods=periods)


def test_threshold_alarms_only_when_every_period_breaches() -> None:
    assert model.threshold_state(_rule(), [90, 95, 85])[0] == "alarm"
    assert model.threshold_state(_rule(), [90, 50, 85])[0] == "ok"


def test_a_period_without_data_is_insufficient_data() -> None:
    state, reason = model.threshold_state(_rule(), [90, None, 85])
    assert state == "insufficient_data" and "1 of 3" in reason


def test_a_negative_or_zero_evaluation_window_is_refused() -> None:
    with pytest.raises(Invalid) as error:
        _rule(periods=-1)
    assert error.value.field == "evaluation_periods"


def test_composite_three_valued_logic() -> None:
    assert model.combine("and", ["alarm", "alarm"]) == "alarm"
    assert model.combine("and", ["alarm", "ok"]) == "ok"
    assert model.combine("and", ["alarm", "insufficient_data"]) == "insufficient_data"
    assert model.combine("or", ["ok", "alarm"]) == "alarm"
    assert model.combine("or", ["ok", "insufficient_data"]) == "insufficient_data"
    assert model.combine("or", ["ok", "ok"]) == "ok"


def test_repeat_actions_notify_without_a_change_and_only_then() -> None:
    assert model.decide("ok", "alarm", repeat_actions=False) == model.Decision("alarm", True, True)
    assert not model.decide("alarm", "alarm", repeat_actions=False).notify
    assert model.decide("alarm", "alarm", repeat_actions=True).notify


def test_the_evaluation_window_is_the_last_n_whole_windows() -> None:
    start, end = _rule(periods=3).window(_at(10.5))
    assert (start, end) == (_at(7), _at(10))
