"""Tests of the cloud drivers: the simulated region and its pure rules."""
