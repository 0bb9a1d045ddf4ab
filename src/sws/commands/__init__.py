"""Sub-commands of `sws`, one Typer app per domain."""
