"""Unit tests of the events domain."""
