"""Metering: per-instance samples, counters to deltas and rates, rollups, queries and alarms."""
