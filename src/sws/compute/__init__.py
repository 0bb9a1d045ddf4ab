"""Changing an instance after launch: rename, rebuild and resize, with their rules in one place."""
